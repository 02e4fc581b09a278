#include "actors/router_actor.hpp"

#include <caf/all.hpp>

#include "actors/instrumented.hpp"
#include "actors/messages/atoms.hpp"
#include "actors/messages/telemetry_messages.hpp"

namespace troupe {

int least_loaded(const std::vector<EngineLoad>& engines) {
  int best = 0;
  double best_score = 0;
  for (std::size_t i = 0; i < engines.size(); ++i) {
    const EngineLoad& e = engines[i];
    // Queued and freshly routed requests weigh like running ones; KV usage breaks ties between
    // engines with equal queues (a fuller cache preempts sooner).
    const double score = static_cast<double>(e.running + e.waiting + e.routed_since_report) + e.kv_usage;
    if (i == 0 || score < best_score) {
      best = static_cast<int>(i);
      best_score = score;
    }
  }
  return best;
}

namespace {

struct RouterState {
  static inline const char* name = "troupe.router";
  std::vector<EngineLoad> engines;
};

using Self = instrumented<caf::stateful_actor<RouterState>>;

caf::behavior router_behavior(Self* self, int engines) {
  self->state.engines.resize(static_cast<std::size_t>(std::max(1, engines)));
  return {
      [self](atoms::route) -> int {
        const int chosen = least_loaded(self->state.engines);
        ++self->state.engines[static_cast<std::size_t>(chosen)].routed_since_report;
        return chosen;
      },
      [self](atoms::stats, const EngineSnapshot& s) {
        auto& engines = self->state.engines;
        if (s.engine < 0 || static_cast<std::size_t>(s.engine) >= engines.size()) return;
        EngineLoad& e = engines[static_cast<std::size_t>(s.engine)];
        e.running = s.running;
        e.waiting = s.waiting;
        e.kv_usage = s.kv_total > 0 ? static_cast<double>(s.kv_used) / static_cast<double>(s.kv_total) : 0.0;
        e.routed_since_report = 0;
      },
  };
}

}  // namespace

caf::actor spawn_router(caf::actor_system& system, ActorMetrics* metrics, int engines) {
  return spawn_instrumented(system, metrics, "troupe.router", router_behavior, engines);
}

}  // namespace troupe
