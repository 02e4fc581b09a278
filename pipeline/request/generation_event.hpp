#pragma once
// What flows back from the engine to an HTTP session: text deltas per choice, then a final event
// with finish reasons and usage; or one error. The session turns them into SSE chunks or one
// JSON response.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace troupe {

enum class FinishReason { Stop, Length, Abort, Error };
std::string_view finish_reason_name(FinishReason r);  // "stop", "length", "abort", "error"

// Why a request was stopped from outside before it finished (troupe_request_aborts_total{reason}).
enum class AbortReason { ClientDisconnect, Timeout, Shutdown, Error, Pause };
// "client_disconnect", "timeout", "shutdown", "error", "pause" (POST /pause?mode=abort)
std::string_view abort_reason_name(AbortReason r);

// An error the API reports in OpenAI's shape: {"error": {"message", "type", "param", "code"}}.
struct ApiError {
  int status = 400;                   // HTTP status, also reported as "code"
  std::string type = "invalid_request_error";  // or "authentication_error", "not_found_error", "server_error", ...
  std::string message;                // names the problem so the client can fix it
  std::optional<std::string> param;   // the offending request field, when there is one
  int retry_after_seconds = 0;        // > 0 for 503 overload: sent as Retry-After
};

struct TopLogprob {
  int32_t token_id = 0;
  std::string token;   // the token's text (decoded bytes; may be a partial UTF-8 sequence shown as such)
  float logprob = 0.0f;
};

struct TokenLogprob {
  int32_t token_id = 0;
  std::string token;
  float logprob = 0.0f;
  std::vector<TopLogprob> top;  // most likely first
  // False for an echoed prompt's first token, which has no context and so no logprob (null in
  // the response, as vLLM reports it).
  bool has_logprob = true;
};

// One token of a prompt position's entry in vLLM's prompt_logprobs.
struct RankedLogprob {
  int32_t token_id = 0;
  std::string token;   // decoded alone, as logprobs name tokens
  float logprob = 0.0f;
  int64_t rank = 1;    // 1 = the most likely token
};
// vLLM's prompt_logprobs: per prompt position, the prompt's token then the top tokens; the first
// position, which has no context, is empty (null in the response).
using PromptLogprobs = std::vector<std::vector<RankedLogprob>>;

// What ended a choice besides its finish reason, as vLLM reports it in stop_reason: the stop string
// that matched, or the stop token id (a JSON number there, not a string).
using StopReason = std::variant<std::string, int32_t>;

struct ChoiceDelta {
  int index = 0;
  std::string text;                     // new text for this choice (may be empty)
  std::vector<int32_t> token_ids;       // the tokens behind it
  std::vector<TokenLogprob> logprobs;   // one per token, when the request asked for logprobs
  std::optional<FinishReason> finish;   // set once, on the choice's last delta
  std::optional<StopReason> stop_reason;  // the stop string or stop token id that ended it, if any
  std::optional<PromptLogprobs> prompt_logprobs;  // on the finishing delta, when asked for
};

struct Usage {
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;        // summed over choices
  int64_t cached_prompt_tokens = 0;     // prompt tokens found in the prefix cache
};

struct GenerationEvent {
  std::vector<ChoiceDelta> choices;
  std::optional<Usage> usage;     // on the final event
  std::optional<ApiError> error;  // the request failed; no further events
  bool done = false;              // the last event of the request
  int64_t prompt_tokens = 0;      // set on the first event (and the final one)
  // Set on the first event: the chat prompt ended inside a reasoning block its template opened
  // (ToolCallMode::reasoning_opened).
  bool reasoning_opened = false;
  // Each prompt's token ids (one, or a completions batch), on the first event when the request
  // asked for return_token_ids.
  std::vector<std::vector<int32_t>> prompt_token_ids;
};

// Where the engine delivers a request's events. Implemented by the HTTP layer over an Asio
// channel; push must never block (an actor thread calls it).
class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void push(GenerationEvent event) = 0;
};

}  // namespace troupe
