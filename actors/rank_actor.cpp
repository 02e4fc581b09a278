#include "actors/rank_actor.hpp"

#include <caf/all.hpp>

#include "actors/instrumented.hpp"
#include "actors/messages/atoms.hpp"

namespace troupe {

// A rank's part of one step. Travels by pointer: it never leaves the process.
struct RankJob {
  std::shared_ptr<std::function<void()>> run;
};

}  // namespace troupe

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::RankJob)

namespace troupe {
namespace {

caf::behavior rank_behavior(instrumented<caf::event_based_actor>*) {
  return {
      // The job catches what its rank throws and reports it to the waiting step.
      [](atoms::run_rank, const RankJob& job) { (*job.run)(); },
  };
}

class ActorRankRunner final : public RankRunner {
 public:
  ActorRankRunner(std::vector<caf::actor> ranks, ActorMetrics* metrics, std::vector<std::string> names)
      : ranks_(std::move(ranks)), metrics_(metrics), names_(std::move(names)) {}
  ~ActorRankRunner() override {
    for (auto& a : ranks_) caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  }
  void post(int rank, std::function<void()> job) override {
    caf::anon_send(ranks_.at(static_cast<std::size_t>(rank)), atoms::run_rank::value,
                   RankJob{std::make_shared<std::function<void()>>(std::move(job))});
  }
  void rank_failed(int rank) override {
    if (metrics_ != nullptr) metrics_->probe(names_.at(static_cast<std::size_t>(rank))).restarted();
  }

 private:
  std::vector<caf::actor> ranks_;
  ActorMetrics* metrics_;
  std::vector<std::string> names_;
};

}  // namespace

std::shared_ptr<RankRunner> spawn_rank_actors(caf::actor_system& system, ActorMetrics* metrics,
                                              const std::string& executor_name, int ranks) {
  std::vector<caf::actor> actors;
  std::vector<std::string> names;
  for (int r = 0; r < ranks; ++r) {
    names.push_back(executor_name + ".rank." + std::to_string(r));
    // Detached: a rank blocks in its collectives for as long as the slowest rank computes.
    actors.push_back(spawn_instrumented<caf::detached>(system, metrics, names.back(), rank_behavior));
  }
  return std::make_shared<ActorRankRunner>(std::move(actors), metrics, std::move(names));
}

}  // namespace troupe
