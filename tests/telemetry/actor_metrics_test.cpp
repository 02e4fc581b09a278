// ActorProbe and ActorMetrics::publish: mailbox depth follows enqueue, consume and drop; the
// histograms see every handled message; the system totals advance by what was counted since the
// last publish.
#include <catch2/catch.hpp>

#include <prometheus/registry.h>

#include "telemetry/actor_metrics.hpp"

namespace troupe {

namespace {

const prometheus::ClientMetric* series(const std::vector<prometheus::MetricFamily>& families, const std::string& family,
                                       const std::string& name = "") {
  for (const auto& f : families) {
    if (f.name != family) continue;
    for (const auto& m : f.metric) {
      if (name.empty()) return &m;
      for (const auto& l : m.label) {
        if (l.name == "name" && l.value == name) return &m;
      }
    }
  }
  return nullptr;
}

}  // namespace

TEST_CASE("actor probe: depth, times and totals", "[telemetry]") {
  prometheus::Registry registry;
  ActorMetrics metrics(registry);
  ActorProbe& probe = metrics.probe("troupe.tokenizer");
  CHECK(&probe == &metrics.probe("troupe.tokenizer"));
  using Clock = ActorProbe::Clock;
  const auto t0 = Clock::now();
  for (int i = 0; i < 5; ++i) probe.enqueued();
  probe.consumed(t0, t0 + std::chrono::milliseconds(3), t0 + std::chrono::milliseconds(4));
  probe.consumed(t0, t0 + std::chrono::microseconds(50), t0 + std::chrono::microseconds(60));
  probe.dropped();
  probe.consumed_unqueued(t0, t0 + std::chrono::milliseconds(1));
  probe.rejected();
  CHECK(probe.depth() == 2);

  metrics.publish();
  auto families = registry.Collect();
  REQUIRE(series(families, "caf_actor_mailbox_size", "troupe.tokenizer") != nullptr);
  CHECK(series(families, "caf_actor_mailbox_size", "troupe.tokenizer")->gauge.value == 2);
  const auto* waited = series(families, "caf_actor_mailbox_time_seconds", "troupe.tokenizer");
  REQUIRE(waited != nullptr);
  CHECK(waited->histogram.sample_count == 2);
  CHECK(waited->histogram.sample_sum == Approx(0.00305));
  CHECK(series(families, "caf_actor_processing_time_seconds", "troupe.tokenizer")->histogram.sample_count == 3);
  CHECK(series(families, "caf_system_processed_messages_total")->counter.value == 3);
  CHECK(series(families, "caf_system_rejected_messages_total")->counter.value == 1);

  // A second publish adds only what came since.
  probe.consumed(t0, t0, t0);
  probe.consumed(t0, t0, t0);
  metrics.probe("troupe.scheduler.0").consumed_unqueued(t0, t0);
  metrics.publish();
  metrics.publish();
  families = registry.Collect();
  CHECK(series(families, "caf_actor_mailbox_size", "troupe.tokenizer")->gauge.value == 0);
  CHECK(series(families, "caf_system_processed_messages_total")->counter.value == 6);
}

}  // namespace troupe
