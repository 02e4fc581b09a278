#pragma once
// One actor per request: it has the prompt tokenized, submits one sequence per choice to the
// scheduler, turns the tokens that come back into text deltas (detokenization, stop strings) and
// pushes them to the HTTP session's sink; it ends when every choice has finished or the client
// has gone.
#include <atomic>
#include <functional>
#include <memory>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "pipeline/model_text.hpp"
#include "pipeline/request/generation_event.hpp"
#include "pipeline/request/generation_request.hpp"
#include "telemetry/actor_metrics.hpp"
#include "telemetry/serving_metrics.hpp"

namespace troupe {

struct RequestActorConfig {
  std::shared_ptr<const GenerationRequest> request;
  std::shared_ptr<EventSink> sink;
  caf::actor tokenizer;
  caf::actor router;                    // null with one engine: then engine 0 serves
  std::vector<caf::actor> schedulers;   // one per engine
  std::vector<std::shared_ptr<ServingMetrics>> engine_metrics;  // one per engine
  std::shared_ptr<const ModelText> text;
  int64_t max_model_len = 0;
  int64_t vocab_size = 0;  // the model's: every prompt id must be below it
  std::vector<int32_t> eos_token_ids;
  std::shared_ptr<std::atomic<uint64_t>> next_sequence_id;
  std::function<void()> on_exit;  // called once when the actor ends
};

caf::actor spawn_request(caf::actor_system& system, ActorMetrics* metrics, RequestActorConfig config);

}  // namespace troupe
