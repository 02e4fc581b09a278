#pragma once
// request actor <-> scheduler actor <-> executor actor.
#include <memory>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/allowed_unsafe_message_type.hpp>

#include "actors/serving_engine.hpp"
#include "engine/step_executor.hpp"
#include "pipeline/request/request_timeline.hpp"
#include "pipeline/scheduler/scheduler.hpp"

namespace troupe {

// request -> scheduler: the sequences of one request (one per choice), admitted all or none.
struct SubmitSequences {
  std::string request_id;
  std::vector<SequenceRequest> sequences;
  // The request's timeline: the scheduler marks FirstScheduled there when it first puts one of
  // these sequences in a step.
  std::shared_ptr<RequestTimeline> timeline;
};

enum class Admission { Accepted, QueueFull, TooLong };

// scheduler -> request: the answer to SubmitSequences.
struct AdmissionResult {
  Admission outcome = Admission::Accepted;
  int retry_after_seconds = 0;  // QueueFull: when a place in the queue surely opens (Retry-After)
};

// scheduler -> request: what one step produced for this request's sequences.
struct SequenceOutputs {
  std::vector<SequenceUpdate> updates;
  // Parallel to updates, each parallel to its new_tokens (empty when nothing came for them).
  std::vector<std::vector<std::optional<TokenLogprobs>>> logprobs;
  // Prompt logprobs computed in this step (echo with logprobs), to be taken before `updates`: a
  // prompt's last chunk and its first token come in one message.
  std::vector<PromptLogprobsChunk> prompt_logprobs;
  std::optional<std::string> error;                   // the executor failed: every sequence listed ends
  std::optional<AbortReason> aborted;                 // the engine ended the sequences listed (a /pause)
};

// scheduler -> executor, and back.
struct StepOrder {
  std::shared_ptr<const ScheduledStep> step;
};
struct StepReport {
  uint64_t step_id = 0;
  std::shared_ptr<const StepResult> result;  // null when the step failed
  std::string error;                         // why it failed
};

}  // namespace troupe

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::SubmitSequences)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::Admission)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::AdmissionResult)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::AbortReason)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::SequenceOutputs)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::StepOrder)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::StepReport)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::PauseMode)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<uint64_t>)
