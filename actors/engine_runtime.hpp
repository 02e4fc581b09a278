#pragma once
// The actor system behind the ServingEngine facade: it spawns the tokenizer pool, one scheduler
// and executor pair per backend (engine), a router when there are several, and the telemetry
// actor, and gives every request its own request actor.
// See docs/ARCHITECTURE.md for the message flow.
#include <memory>

#include <prometheus/labels.h>

#include "actors/serving_engine.hpp"
#include "gpu/backend.hpp"
#include "pipeline/model_text.hpp"
#include "pipeline/scheduler/scheduler.hpp"

namespace troupe {

struct EngineOptions {
  SchedulerConfig scheduler;   // limits, KV geometry (block size and count come from the backend)
  int tokenizer_workers = 2;
  int actor_threads = 0;        // CAF scheduler threads; 0: CAF's default (cores)
  int tokenizer_delay_ms = 0;   // test-only: slow the tokenizer down
  std::string version;          // troupe_build_info{version}
  // --metric-labels: added to every series of /metrics (validated by parse_metric_labels).
  prometheus::Labels metric_labels;
  // Speculative decoding's draft model, one per backend (parallel to the backends), or empty.
  std::vector<std::shared_ptr<Backend>> draft_backends;
};

class EngineRuntime final : public ServingEngine {
 public:
  // One engine per backend (data parallel: one per device). All backends hold the same model.
  EngineRuntime(ServedModel model, std::shared_ptr<const ModelText> text, std::vector<std::shared_ptr<Backend>> backends,
                EngineOptions options);
  ~EngineRuntime() override;  // stops every actor, waiting for the executor's step to end

  const ServedModel& served_model() const override;
  void submit(GenerationRequest request, std::shared_ptr<EventSink> sink) override;
  void cancel(const std::string& request_id, AbortReason reason = AbortReason::ClientDisconnect) override;
  void tokenize(TokenizeRequest request, std::function<void(TokenizeResult)> done) override;
  void detokenize(std::vector<int32_t> tokens, std::function<void(DetokenizeResult)> done) override;
  void record_rejected(const RejectedRequest& rejected) override;
  void pause(PauseMode mode, std::function<void()> done) override;
  void resume(std::function<void()> done) override;
  bool paused() const override;
  std::string metrics_text() override;
  bool healthy() const override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace troupe
