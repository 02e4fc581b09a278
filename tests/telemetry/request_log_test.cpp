// The per-request log line and --log-format json: every line a JSON object (ordinary messages as
// "msg", request lines with their fields at the top level), durations in milliseconds without
// exponents, strings escaped; the text form carries the same facts.
#include <catch2/catch.hpp>

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <boost/json.hpp>
#include <sstream>

#include "common/error.hpp"
#include "telemetry/request_log.hpp"

namespace troupe {

namespace {

RequestLogRecord sample_record() {
  RequestLogRecord r;
  r.request_id = "client \"id\" 7";
  r.id = "chatcmpl-abc";
  r.tenant = "team-a";
  r.model = "smol";
  r.endpoint = "chat.completions";
  r.stream = true;
  r.engine = 1;
  r.prompt_tokens = 12;
  r.completion_tokens = 34;
  r.cached_prompt_tokens = 8;
  r.finish_reason = "abort";
  r.outcome = "aborted";
  r.abort_stage = "prefill";
  r.abort_reason = "client_disconnect";
  r.ttft_seconds = 0.2237654;
  r.e2e_seconds = 1.5;
  r.stages = {{"parse", 0.0000431}, {"tokenizer_queue", 0.000122}, {"prefill", 0.2233}};
  return r;
}

// Makes `out` the destination of the default logger, as main() sets one up (stderr there).
void log_to(std::ostringstream& out) {
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
  spdlog::set_default_logger(std::make_shared<spdlog::logger>("troupe", sink));
}

}  // namespace

TEST_CASE("request log: JSON fields", "[telemetry]") {
  const std::string json = request_log_json(sample_record());
  CHECK(json.find('E') == std::string::npos);  // no exponent notation
  const boost::json::object o = boost::json::parse(json).as_object();
  CHECK(o.at("event") == "request");
  CHECK(o.at("request_id") == "client \"id\" 7");
  CHECK(o.at("id") == "chatcmpl-abc");
  CHECK(o.at("tenant") == "team-a");
  CHECK(o.at("stream") == true);
  CHECK(o.at("engine") == 1);
  CHECK(o.at("prompt_tokens") == 12);
  CHECK(o.at("completion_tokens") == 34);
  CHECK(o.at("cached_prompt_tokens") == 8);
  CHECK(o.at("abort").at("stage") == "prefill");
  CHECK(o.at("abort").at("reason") == "client_disconnect");
  CHECK(o.at("ttft_ms").to_number<double>() == Approx(223.765));
  CHECK(o.at("e2e_ms").to_number<double>() == Approx(1500.0));
  const auto& stages = o.at("stages_ms").as_object();
  REQUIRE(stages.size() == 3);
  CHECK(stages.at("parse").to_number<double>() == Approx(0.043));
  CHECK(stages.at("prefill").to_number<double>() == Approx(223.3));
  // Without an abort, ttft or stages those fields are absent or empty.
  RequestLogRecord plain;
  const boost::json::object p = boost::json::parse(request_log_json(plain)).as_object();
  CHECK_FALSE(p.contains("abort"));
  CHECK_FALSE(p.contains("ttft_ms"));
  CHECK(p.at("stages_ms").as_object().empty());
}

TEST_CASE("request log: text form", "[telemetry]") {
  const std::string text = request_log_text(sample_record());
  CHECK_THAT(text, Catch::StartsWith("request chatcmpl-abc "));
  for (const char* part : {"tenant=team-a", "prompt_tokens=12", "completion_tokens=34", "abort=prefill/client_disconnect",
                           "ttft_ms=223.765", "stages_ms=parse:0.043,tokenizer_queue:0.122,prefill:223.300"}) {
    CAPTURE(part);
    CHECK(text.find(part) != std::string::npos);
  }
}

TEST_CASE("request log: --log-format json makes every line one JSON object", "[telemetry]") {
  auto saved = spdlog::default_logger();
  std::ostringstream out;
  log_to(out);
  configure_logging(LogFormat::Json);
  spdlog::info("troupe: serving \"{}\" at {}", "smol", "http://127.0.0.1:8000/v1");
  log_request(sample_record());
  spdlog::warn("a line with a\nnewline, a tab\t and a \x01");
  spdlog::set_default_logger(saved);
  configure_logging(LogFormat::Text);

  std::istringstream lines(out.str());
  std::vector<boost::json::object> objects;
  std::string line;
  while (std::getline(lines, line)) objects.push_back(boost::json::parse(line).as_object());
  REQUIRE(objects.size() == 3);
  CHECK(objects[0].at("level") == "info");
  CHECK(objects[0].at("logger") == "troupe");
  CHECK(objects[0].at("msg") == "troupe: serving \"smol\" at http://127.0.0.1:8000/v1");
  CHECK(std::string(objects[0].at("time").as_string()).size() == 24);  // 2026-01-31T12:34:56.789Z
  CHECK(objects[1].at("logger") == "troupe.request");
  CHECK(objects[1].at("event") == "request");
  CHECK(objects[1].at("request_id") == "client \"id\" 7");
  CHECK(objects[1].at("stages_ms").as_object().size() == 3);
  CHECK(objects[2].at("level") == "warning");
  CHECK(objects[2].at("msg") == "a line with a\nnewline, a tab\t and a \x01");
}

TEST_CASE("request log: --log-format names", "[telemetry]") {
  CHECK(parse_log_format("text") == LogFormat::Text);
  CHECK(parse_log_format("json") == LogFormat::Json);
  CHECK_THROWS_AS(parse_log_format("yaml"), ConfigError);
}

}  // namespace troupe
