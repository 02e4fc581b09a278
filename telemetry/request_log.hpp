#pragma once
// One log line per finished request, and the server's log format (`troupe serve --log-format`).
//
// text (default): spdlog's usual lines; a request line reads
//   request chatcmpl-... request_id=... tenant=... prompt_tokens=12 completion_tokens=40 ...
// json: every line is one JSON object: {"time","level","logger","msg"} for ordinary messages, and
//   {"time","level","logger":"troupe.request","event":"request", ...the fields below} for requests,
//   so a log pipeline can index request ids and stage durations without parsing text.
//
// Nothing secret is in a request line: the tenant is the API key's configured name, never the key.
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace troupe {

enum class LogFormat { Text, Json };
// "text" or "json"; ConfigError otherwise.
LogFormat parse_log_format(std::string_view name);

// Sets the format of the default spdlog logger's sinks and creates the request logger on the same
// sinks. Call once, before the server starts.
void configure_logging(LogFormat format);

struct RequestLogRecord {
  std::string request_id;  // X-Request-Id as the client sent it, else the response id
  std::string id;          // the response id (chatcmpl-..., cmpl-...)
  std::string tenant;
  std::string model;
  std::string endpoint;    // "chat.completions" or "completions"
  bool stream = false;
  int engine = 0;
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  int64_t cached_prompt_tokens = 0;
  std::string finish_reason;
  std::string outcome;
  std::optional<std::string> abort_stage;   // queued, prefill, decode
  std::optional<std::string> abort_reason;  // client_disconnect, timeout, shutdown, error, pause
  std::optional<double> ttft_seconds;       // received -> first token written
  std::optional<double> e2e_seconds;        // received -> ended
  // The time-to-first-token stages that have both ends, in order, in seconds.
  std::vector<std::pair<std::string_view, double>> stages;
};

// The record's fields as a JSON object (milliseconds for durations, rounded to the microsecond).
std::string request_log_json(const RequestLogRecord& r);
// The record as a text log message.
std::string request_log_text(const RequestLogRecord& r);
// Logs the record at info level in the configured format.
void log_request(const RequestLogRecord& r);

// A request the server refused before it reached the engine: one line, at info level, on the
// request logger ("rejected ..." in text, {"event":"rejected", ...} in JSON).
struct RejectionLogRecord {
  std::string request_id;  // X-Request-Id, when the client sent one
  std::string tenant;
  std::string method;
  std::string endpoint;  // the path the request named
  int status = 0;
  std::string reason;
  std::optional<std::string> param;
  std::string message;
};
std::string rejection_log_json(const RejectionLogRecord& r);
std::string rejection_log_text(const RejectionLogRecord& r);
void log_rejection(const RejectionLogRecord& r);

}  // namespace troupe
