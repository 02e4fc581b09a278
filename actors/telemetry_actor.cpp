#include "actors/telemetry_actor.hpp"

#include <caf/all.hpp>
#include <chrono>

#include "actors/instrumented.hpp"
#include "actors/messages/atoms.hpp"
#include "actors/messages/telemetry_messages.hpp"

namespace troupe {

namespace {

caf::behavior telemetry_behavior(instrumented<caf::event_based_actor>* self, TelemetryActorConfig config) {
  self->send(self, atoms::tick::value);
  auto saturation = std::make_shared<std::vector<SaturationTracker>>();
  for (std::size_t i = 0; i < config.engines.size(); ++i) {
    saturation->emplace_back(i < config.limits.size() ? config.limits[i] : EngineLimits{});
  }
  return {
      [config, saturation](atoms::stats, const EngineSnapshot& s) {
        if (s.engine < 0 || static_cast<std::size_t>(s.engine) >= config.engines.size()) return;
        ServingMetrics& m = *config.engines[static_cast<std::size_t>(s.engine)];
        const EngineSaturation sat = (*saturation)[static_cast<std::size_t>(s.engine)].update(
            EngineLoadSample{s.running, s.waiting, s.kv_used, s.kv_total, s.step, s.prefill_tokens + s.decode_tokens});
        m.set_saturation(sat.kv_blocks, sat.running_slots, sat.step_tokens, sat.waiting_queue);
        m.set_queue(s.running, s.waiting);
        m.set_paused(s.paused);
        m.set_kv_blocks(s.kv_used, s.kv_free, s.kv_cached, s.kv_total);
        if (s.step) m.add_step(s.prefill_tokens, s.decode_tokens, s.step_seconds);
        if (s.preemptions > 0) m.add_preemptions(s.preemptions);
        if (s.prefix_queries > 0) m.add_prefix_cache(s.prefix_queries, s.prefix_hits);
        if (s.spec_drafts > 0) m.add_spec_decode(s.spec_drafts, s.spec_draft_tokens, s.spec_accepted_tokens, s.spec_accepted_per_position);
      },
      [self, config](atoms::tick) {
        config.process->sample();
        for (const auto& backend : config.backends) {
          const DeviceMemory mem = backend->device_memory();
          config.devices->record(DeviceReading{backend->device_label(), backend->device_index(), mem.used, mem.total,
                                               backend->kv_cache_bytes(), backend->weight_bytes()});
        }
        self->delayed_send(self, std::chrono::seconds(1), atoms::tick::value);
      },
  };
}

}  // namespace

caf::actor spawn_telemetry(caf::actor_system& system, ActorMetrics* metrics, TelemetryActorConfig config) {
  return spawn_instrumented(system, metrics, "troupe.telemetry", telemetry_behavior, std::move(config));
}

}  // namespace troupe
