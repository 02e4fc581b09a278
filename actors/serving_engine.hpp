#pragma once
// The engine as the HTTP layer sees it: the public face of the actor system. http/ depends on
// this header and nothing else of actors/. Every call is non-blocking and thread-safe; results
// come back through the EventSink or a callback, on an actor thread.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "pipeline/request/generation_event.hpp"
#include "pipeline/request/generation_request.hpp"
#include "pipeline/tool_calls/tool_call_mode.hpp"

namespace troupe {

struct ServedModel {
  std::string name;        // --served-model-name (default: the model path's file name)
  int64_t max_model_len = 0;
  int64_t created = 0;     // unix seconds, for /v1/models
  std::string root;        // the model path
  // --enable-auto-tool-choice / --tool-call-parser: tool_choice "auto" needs both.
  bool enable_auto_tool_choice = false;
  std::optional<ToolCallFormat> tool_call_format;
  std::string system_fingerprint;  // "troupe-<version>-<hash8>", in every response
  int64_t vocab_size = 0;          // the logit row width: token ids in requests must be below it
  std::string version;             // GET /version
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
  // chat template, add_generation_prompt).
  virtual void tokenize(std::string prompt, boost::json::array messages, bool use_messages, bool add_special_tokens,
                        bool add_generation_prompt, std::function<void(TokenizeResult)> done) = 0;
  virtual void detokenize(std::vector<int32_t> tokens, std::function<void(DetokenizeResult)> done) = 0;

  // A generation request the HTTP layer refused before submitting it (bad JSON, a field out of
  // range, an unknown model): counted in troupe_requests_total{tenant, outcome}.
  virtual void record_rejected(const std::string& tenant, std::string_view outcome) = 0;

  // Prometheus text exposition of every metric.
  virtual std::string metrics_text() = 0;
  // True while every executor is alive and the engine accepts requests.
  virtual bool healthy() const = 0;
};

}  // namespace troupe
