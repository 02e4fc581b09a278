#pragma once
// The engine as the HTTP layer sees it: the public face of the actor system. http/ depends on
// this header and nothing else of actors/. Every call is non-blocking and thread-safe; results
// come back through the EventSink or a callback, on an actor thread.
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "pipeline/openai/tokenize_api.hpp"
#include "pipeline/request/generation_event.hpp"
#include "pipeline/request/generation_request.hpp"
#include "pipeline/tool_calls/tool_call_mode.hpp"

namespace troupe {

struct RejectedRequest {
  std::string request_id;  // the client's X-Request-Id, else empty
  std::string tenant;
  std::string endpoint;    // the route's path; "other" for a path no route serves (the metric's label)
  std::string path;        // the request's path as sent (the log's)
  std::string method;
  int status = 400;
  std::string reason;      // invalid_request, unauthorized, not_found, ... (http/rejection.cpp)
  std::string message;     // the error message the client got
  std::optional<std::string> param;  // the offending field, when there is one
  bool generation = false;  // a chat or completions request
};

struct ServedModel {
  std::string name;        // --served-model-name (default: the model path's file name)
  int64_t max_model_len = 0;
  int64_t created = 0;     // unix seconds, for /v1/models
  std::string root;        // the model path
  // tool_choice "auto" allowed (not --disable-auto-tool-choice), and the format tool calls are
  // parsed in (--tool-call-parser, else the chat template's; none: "auto" answers in text).
  bool enable_auto_tool_choice = true;
  std::optional<ToolCallFormat> tool_call_format;
  ReasoningFormat reasoning = ReasoningFormat::None;  // --reasoning-parser deepseek_r1 | qwen3
  bool disable_any_whitespace = false;  // --structured-outputs-config {"disable_any_whitespace": true}
  std::string system_fingerprint;  // "troupe-<version>-<hash8>", in every response
  int64_t vocab_size = 0;          // the logit row width: token ids in requests must be below it
  std::string version;             // GET /version
};

// POST /pause?mode=...: what happens to the requests the engine holds (vLLM's pause modes, for
// RL trainers that swap weights between rounds and for operators who need the engine still).
// Whatever the mode, requests that arrive while paused queue (counted as waiting, bounded by
// --max-queue-len) and start on /resume.
enum class PauseMode {
  Abort,  // end every request in the engine now (finish_reason "abort"); answered once the step running ends
  Wait,   // let them run to their end; answered once they have
  Keep,   // freeze them where they are, KV cache kept; answered once the step running ends
};

struct TokenizeResult {
  std::vector<int32_t> tokens;
  std::optional<ApiError> error;
};

struct DetokenizeResult {
  std::string text;
  std::optional<ApiError> error;
};

class ServingEngine {
 public:
  virtual ~ServingEngine() = default;

  virtual const ServedModel& served_model() const = 0;

  // Starts generation. Events arrive on `sink`; the last has done = true (or carries an error).
  // A request the server cannot take now gets an ApiError with status 503 and retry_after_seconds.
  virtual void submit(GenerationRequest request, std::shared_ptr<EventSink> sink) = 0;

  // The client went away or gave up (or the server is stopping, or a write timed out): stop the
  // request and free its KV blocks. Unknown ids are ignored (the request may have finished already).
  virtual void cancel(const std::string& request_id, AbortReason reason = AbortReason::ClientDisconnect) = 0;

  // /tokenize: either `prompt` (text, add_special_tokens) or chat `messages` (rendered with the
  // chat template as a chat request's: tools, chat_template_kwargs, add_generation_prompt).
  virtual void tokenize(TokenizeRequest request, std::function<void(TokenizeResult)> done) = 0;
  virtual void detokenize(std::vector<int32_t> tokens, std::function<void(DetokenizeResult)> done) = 0;

  // A request the HTTP layer refused (bad JSON, a field out of range, an unknown model or route, a
  // missing key, a body too large, a draining server): logged with its id, endpoint, status and
  // reason, counted in troupe_requests_rejected_total{endpoint, status, reason} and, for a
  // generation request, in troupe_requests_total{tenant, outcome}.
  virtual void record_rejected(const RejectedRequest& rejected) = 0;

  // Pauses every engine; `done` runs once each is as the mode says (see PauseMode). Pausing a
  // paused engine changes nothing and answers at once.
  virtual void pause(PauseMode mode, std::function<void()> done) = 0;
  // Starts what queued while paused and lets frozen requests go on; `done` runs once every engine
  // took it. Resuming an engine that is not paused changes nothing.
  virtual void resume(std::function<void()> done) = 0;
  virtual bool paused() const = 0;

  // Prometheus text exposition of every metric.
  virtual std::string metrics_text() = 0;
  // True while every executor is alive and the engine accepts requests.
  virtual bool healthy() const = 0;
};

}  // namespace troupe
