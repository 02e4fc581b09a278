#include "telemetry/request_log.hpp"

#include <spdlog/formatter.h>
#include <spdlog/logger.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>
#include <ctime>
#include <mutex>

#include "common/error.hpp"

namespace troupe {

namespace {

constexpr const char* kRequestLogger = "troupe.request";

// Milliseconds rounded to the microsecond: what the log carries for every duration.
double millis(double seconds) { return std::round(seconds * 1e6) / 1e3; }

// `s` as a JSON string literal: quotes, backslashes and control characters escaped; other bytes
// (UTF-8 included) as they are.
std::string json_string(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out += '"';
  for (const char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

// ISO 8601 in UTC with milliseconds: 2026-01-31T12:34:56.789Z.
void append_time(spdlog::memory_buf_t& dest, spdlog::log_clock::time_point t) {
  const auto since = t.time_since_epoch();
  const std::time_t secs = std::chrono::duration_cast<std::chrono::seconds>(since).count();
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(since).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  const int n = std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                              tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  dest.append(buf, buf + n);
}

void append(spdlog::memory_buf_t& dest, std::string_view s) { dest.append(s.data(), s.data() + s.size()); }

// One JSON object per line. A request logger's message is already a JSON object (request_log_json):
// its fields are merged in; any other message becomes the "msg" string.
class JsonLineFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    append(dest, "{\"time\":\"");
    append_time(dest, msg.time);
    append(dest, "\",\"level\":");
    const auto level = spdlog::level::to_string_view(msg.level);
    append(dest, json_string(std::string_view(level.data(), level.size())));
    append(dest, ",\"logger\":");
    const std::string_view logger(msg.logger_name.data(), msg.logger_name.size());
    append(dest, json_string(logger));
    const std::string_view payload(msg.payload.data(), msg.payload.size());
    if (logger == kRequestLogger && payload.size() > 2 && payload.front() == '{') {
      append(dest, ",");
      append(dest, payload.substr(1));
    } else {
      append(dest, ",\"msg\":");
      append(dest, json_string(payload));
      append(dest, "}");
    }
    append(dest, "\n");
  }
  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<JsonLineFormatter>(); }
};

std::mutex logging_mutex;
LogFormat configured_format = LogFormat::Text;
std::shared_ptr<spdlog::logger> request_logger;

std::shared_ptr<spdlog::logger> get_request_logger() {
  std::lock_guard lock(logging_mutex);
  if (!request_logger) {
    // Not configured (tests, `troupe generate`): share the default logger's sinks.
    const auto& sinks = spdlog::default_logger()->sinks();
    request_logger = std::make_shared<spdlog::logger>(kRequestLogger, sinks.begin(), sinks.end());
  }
  return request_logger;
}

}  // namespace

LogFormat parse_log_format(std::string_view name) {
  if (name == "text") return LogFormat::Text;
  if (name == "json") return LogFormat::Json;
  throw ConfigError("--log-format: '" + std::string(name) + "' is not a log format (text or json)");
}

void configure_logging(LogFormat format) {
  auto base = spdlog::default_logger();
  if (format == LogFormat::Json) {
    // Sinks are shared with the request logger, so one formatter (set on the sinks) serves both
    // and lines from the two never interleave within a line.
    base->set_formatter(std::make_unique<JsonLineFormatter>());
  }
  std::lock_guard lock(logging_mutex);
  configured_format = format;
  request_logger = std::make_shared<spdlog::logger>(kRequestLogger, base->sinks().begin(), base->sinks().end());
  request_logger->set_level(base->level());
}

std::string request_log_json(const RequestLogRecord& r) {
  // Written by hand rather than through boost::json::serialize, which prints doubles in
  // exponent form (2.23765E2): durations read better as 223.765.
  std::string o = "{\"event\":\"request\"";
  auto field = [&](std::string_view name, const std::string& json) {
    o += ",\"";
    o += name;
    o += "\":";
    o += json;
  };
  auto ms = [](double seconds) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.3f", millis(seconds));
    return std::string(buf);
  };
  field("request_id", json_string(r.request_id));
  field("id", json_string(r.id));
  field("tenant", json_string(r.tenant));
  field("model", json_string(r.model));
  field("endpoint", json_string(r.endpoint));
  field("stream", r.stream ? "true" : "false");
  field("engine", std::to_string(r.engine));
  field("prompt_tokens", std::to_string(r.prompt_tokens));
  field("completion_tokens", std::to_string(r.completion_tokens));
  field("cached_prompt_tokens", std::to_string(r.cached_prompt_tokens));
  field("finish_reason", json_string(r.finish_reason));
  field("outcome", json_string(r.outcome));
  if (r.abort_stage) {
    field("abort", "{\"stage\":" + json_string(*r.abort_stage) + ",\"reason\":" + json_string(r.abort_reason.value_or("")) + "}");
  }
  if (r.ttft_seconds) field("ttft_ms", ms(*r.ttft_seconds));
  if (r.e2e_seconds) field("e2e_ms", ms(*r.e2e_seconds));
  std::string stages = "{";
  for (std::size_t i = 0; i < r.stages.size(); ++i) {
    if (i > 0) stages += ",";
    stages += json_string(r.stages[i].first) + ":" + ms(r.stages[i].second);
  }
  field("stages_ms", stages + "}");
  return o + "}";
}

std::string request_log_text(const RequestLogRecord& r) {
  std::string out = "request " + r.id + " request_id=" + r.request_id + " tenant=" + r.tenant + " model=" + r.model +
                    " endpoint=" + r.endpoint + " stream=" + (r.stream ? "true" : "false") +
                    " engine=" + std::to_string(r.engine) + " prompt_tokens=" + std::to_string(r.prompt_tokens) +
                    " completion_tokens=" + std::to_string(r.completion_tokens) +
                    " cached_prompt_tokens=" + std::to_string(r.cached_prompt_tokens) +
                    " finish_reason=" + r.finish_reason + " outcome=" + r.outcome;
  if (r.abort_stage) out += " abort=" + *r.abort_stage + "/" + r.abort_reason.value_or("");
  auto ms = [](double s) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3f", millis(s));
    return std::string(buf);
  };
  if (r.ttft_seconds) out += " ttft_ms=" + ms(*r.ttft_seconds);
  if (r.e2e_seconds) out += " e2e_ms=" + ms(*r.e2e_seconds);
  if (!r.stages.empty()) {
    out += " stages_ms=";
    for (std::size_t i = 0; i < r.stages.size(); ++i) {
      if (i > 0) out += ",";
      out += std::string(r.stages[i].first) + ":" + ms(r.stages[i].second);
    }
  }
  return out;
}

void log_request(const RequestLogRecord& r) {
  LogFormat format;
  {
    std::lock_guard lock(logging_mutex);
    format = configured_format;
  }
  const auto logger = get_request_logger();
  if (!logger->should_log(spdlog::level::info)) return;
  logger->info(format == LogFormat::Json ? request_log_json(r) : request_log_text(r));
}

std::string rejection_log_json(const RejectionLogRecord& r) {
  std::string o = "{\"event\":\"rejected\"";
  auto field = [&](std::string_view name, const std::string& json) {
    o += ",\"";
    o += name;
    o += "\":";
    o += json;
  };
  field("request_id", json_string(r.request_id));
  field("tenant", json_string(r.tenant));
  field("method", json_string(r.method));
  field("endpoint", json_string(r.endpoint));
  field("status", std::to_string(r.status));
  field("reason", json_string(r.reason));
  if (r.param) field("param", json_string(*r.param));
  field("message", json_string(r.message));
  return o + "}";
}

std::string rejection_log_text(const RejectionLogRecord& r) {
  std::string out = "rejected " + r.method + " " + r.endpoint + " status=" + std::to_string(r.status) +
                    " reason=" + r.reason + " request_id=" + r.request_id + " tenant=" + r.tenant;
  if (r.param) out += " param=" + *r.param;
  return out + " message=" + json_string(r.message);
}

void log_rejection(const RejectionLogRecord& r) {
  LogFormat format;
  {
    std::lock_guard lock(logging_mutex);
    format = configured_format;
  }
  const auto logger = get_request_logger();
  if (!logger->should_log(spdlog::level::info)) return;
  logger->info(format == LogFormat::Json ? rejection_log_json(r) : rejection_log_text(r));
}

}  // namespace troupe
