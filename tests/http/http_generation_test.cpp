// Generation through the real server: non-streaming aggregation, SSE framing, errors before and
// after the first event, overload (503 + Retry-After), many events at once, and cancellation when
// the client goes away.
#include <catch2/catch.hpp>

#include "tests/http/test_server.hpp"

namespace troupe::test {
namespace {

using namespace std::chrono_literals;

// A raw POST, for tests that must hang up on the server at a chosen moment.
std::string raw_post(const std::string& target, const std::string& body) {
  return "POST " + target + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

const std::string kChatStream =
    R"({"model":"test-model","messages":[{"role":"user","content":"Hi"}],"stream":true,"stream_options":{"include_usage":true}})";

TEST_CASE("a non-streaming completion collects every event into one object", "[http]") {
  TestServer server;
  TestClient client(server.port());
  const TestResponse response = client.post("/v1/completions", R"({"model":"test-model","prompt":"Hi","max_tokens":5})");
  REQUIRE(response.result_int() == 200);
  CHECK(response[http::field::content_type] == "application/json");
  const auto body = json_body(response);
  CHECK(std::string(body.at("id").as_string()).starts_with("cmpl-"));
  CHECK(body.at("object").as_string() == "text_completion");
  CHECK(body.at("model").as_string() == "test-model");
  const auto& choice = body.at("choices").as_array().at(0).as_object();
  CHECK(choice.at("text").as_string() == "Hello world");
  CHECK(choice.at("finish_reason").as_string() == "stop");
  CHECK(body.at("usage").at("prompt_tokens").as_int64() == 5);
  CHECK(body.at("usage").at("completion_tokens").as_int64() == 2);
  CHECK(body.at("usage").at("total_tokens").as_int64() == 7);
  CHECK(body.at("usage").at("prompt_tokens_details").at("cached_tokens").as_int64() == 2);
  const auto submitted = server.engine.submitted();
  REQUIRE(submitted.size() == 1);
  CHECK(submitted[0].id == body.at("id").as_string());
  CHECK(submitted[0].stop.max_tokens == 5);
  CHECK(server.engine.wait_for_cancel(0ms).empty());
}

TEST_CASE("a non-streaming chat with n = 2 gets both choices in index order", "[http]") {
  TestServer server;
  server.engine.script = [](const GenerationRequest&) {
    GenerationEvent first_done = final_event(FinishReason::Length, 2, 1);
    first_done.done = false;
    first_done.usage.reset();
    return Script{{text_event("B", 1), text_event("A", 0), first_done, final_event(FinishReason::Stop, 2, 0)}};
  };
  TestClient client(server.port());
  const auto body = json_body(
      client.post("/v1/chat/completions", R"({"model":"test-model","messages":[{"role":"user","content":"Hi"}],"n":2})"));
  CHECK(std::string(body.at("id").as_string()).starts_with("chatcmpl-"));
  CHECK(body.at("object").as_string() == "chat.completion");
  const auto& choices = body.at("choices").as_array();
  REQUIRE(choices.size() == 2);
  CHECK(choices[0].at("message").at("content").as_string() == "A");
  CHECK(choices[0].at("message").at("role").as_string() == "assistant");
  CHECK(choices[0].at("finish_reason").as_string() == "stop");
  CHECK(choices[1].at("message").at("content").as_string() == "B");
  CHECK(choices[1].at("finish_reason").as_string() == "length");
}

TEST_CASE("a streaming chat is SSE chunks, a usage chunk, then [DONE]", "[http]") {
  TestServer server;
  TestClient client(server.port());
  const TestResponse response = client.post("/v1/chat/completions", kChatStream);
  REQUIRE(response.result_int() == 200);
  CHECK(response[http::field::content_type] == "text/event-stream");
  CHECK(response.chunked());
  const std::vector<std::string> payloads = sse_payloads(response.body());
  REQUIRE(payloads.size() == 6);
  CHECK(payloads.back() == "[DONE]");
  // As vLLM: the role alone first, then the text; usage null on every chunk before the last.
  const auto role = boost::json::parse(payloads[0]).as_object();
  CHECK(role.at("object").as_string() == "chat.completion.chunk");
  CHECK(role.at("choices").at(0).at("delta").at("role").as_string() == "assistant");
  CHECK(role.at("choices").at(0).at("delta").at("content").as_string() == "");
  CHECK(role.at("usage").is_null());
  const auto first = boost::json::parse(payloads[1]).as_object();
  CHECK_FALSE(first.at("choices").at(0).at("delta").as_object().contains("role"));
  CHECK(first.at("choices").at(0).at("delta").at("content").as_string() == "Hello");
  CHECK(first.at("choices").at(0).at("finish_reason").is_null());
  CHECK(first.at("id") == role.at("id"));
  const auto second = boost::json::parse(payloads[2]).as_object();
  CHECK_FALSE(second.at("choices").at(0).at("delta").as_object().contains("role"));
  CHECK(second.at("choices").at(0).at("delta").at("content").as_string() == " world");
  CHECK(second.at("id") == first.at("id"));
  const auto finish = boost::json::parse(payloads[3]).as_object();
  CHECK(finish.at("choices").at(0).at("finish_reason").as_string() == "stop");
  const auto usage = boost::json::parse(payloads[4]).as_object();
  CHECK(usage.at("choices").as_array().empty());
  CHECK(usage.at("usage").at("completion_tokens").as_int64() == 2);
  // The connection stays usable after the stream.
  CHECK(client.get("/v1/models").result_int() == 200);
}

TEST_CASE("a streaming completion without include_usage has no usage chunk", "[http]") {
  TestServer server;
  TestClient client(server.port());
  const TestResponse response = client.post("/v1/completions", R"({"model":"test-model","prompt":"Hi","stream":true})");
  const std::vector<std::string> payloads = sse_payloads(response.body());
  REQUIRE(payloads.size() == 4);
  CHECK(boost::json::parse(payloads[0]).at("object").as_string() == "text_completion");
  CHECK(boost::json::parse(payloads[0]).at("choices").at(0).at("text").as_string() == "Hello");
  CHECK(payloads[3] == "[DONE]");
}

TEST_CASE("an overloaded engine answers 503 with Retry-After before any header", "[http]") {
  TestServer server;
  server.engine.script = [](const GenerationRequest&) { return Script{{error_event(503, "queue is full", 7)}}; };
  TestClient client(server.port());
  for (const char* body : {R"({"model":"test-model","prompt":"Hi"})", R"({"model":"test-model","prompt":"Hi","stream":true})"}) {
    const TestResponse response = client.post("/v1/completions", body);
    CHECK(response.result_int() == 503);
    CHECK(response[http::field::retry_after] == "7");
    CHECK(error_of(response).at("message").as_string() == "queue is full");
    CHECK(error_of(response).at("code").as_int64() == 503);
  }
}

TEST_CASE("an engine error as the first event keeps its status (prompt too long)", "[http]") {
  TestServer server;
  server.engine.script = [](const GenerationRequest&) { return Script{{error_event(400, "prompt is too long")}}; };
  TestClient client(server.port());
  const TestResponse response = client.post("/v1/chat/completions", kChatStream);
  CHECK(response.result_int() == 400);
  CHECK(response[http::field::retry_after].empty());
}

TEST_CASE("an error after the first event ends a stream with an error chunk and [DONE]", "[http]") {
  TestServer server;
  server.engine.script = [](const GenerationRequest&) {
    return Script{{text_event("Hel"), error_event(500, "executor failed")}};
  };
  TestClient client(server.port());
  const std::vector<std::string> payloads = sse_payloads(client.post("/v1/chat/completions", kChatStream).body());
  REQUIRE(payloads.size() == 4);  // the role chunk, "Hel", the error, [DONE]
  CHECK(boost::json::parse(payloads[1]).at("choices").at(0).at("delta").at("content").as_string() == "Hel");
  CHECK(boost::json::parse(payloads[2]).at("error").at("message").as_string() == "executor failed");
  CHECK(payloads[3] == "[DONE]");
  SECTION("and a non-streaming request gets the error status") {
    const TestResponse response = client.post("/v1/completions", R"({"model":"test-model","prompt":"Hi"})");
    CHECK(response.result_int() == 500);
    CHECK(error_of(response).at("message").as_string() == "executor failed");
  }
}

TEST_CASE("thousands of events pushed at once all arrive, in order", "[http]") {
  TestServer server;
  server.engine.script = [](const GenerationRequest&) {
    Script script;
    for (int i = 0; i < 3000; ++i) script.events.push_back(text_event(std::to_string(i % 10)));
    script.events.push_back(final_event(FinishReason::Length, 3000));
    return script;
  };
  std::string expected;
  for (int i = 0; i < 3000; ++i) expected += std::to_string(i % 10);
  TestClient client(server.port());
  const auto body = json_body(client.post("/v1/completions", R"({"model":"test-model","prompt":"Hi"})"));
  CHECK(body.at("choices").at(0).at("text").as_string() == expected);
  const std::vector<std::string> payloads =
      sse_payloads(client.post("/v1/completions", R"({"model":"test-model","prompt":"Hi","stream":true})").body());
  std::string streamed;
  for (std::size_t i = 0; i + 1 < payloads.size(); ++i) {
    streamed += boost::json::parse(payloads[i]).at("choices").at(0).at("text").as_string();
  }
  CHECK(streamed == expected);
}

TEST_CASE("a client that disconnects mid-stream cancels its request", "[http]") {
  TestServer server;
  server.engine.script = [](const GenerationRequest&) { return Script{{text_event("a")}, true, 5ms}; };
  {
    TestClient client(server.port());
    client.write_raw(raw_post("/v1/completions", R"({"model":"test-model","prompt":"Hi","stream":true})"));
    char bytes[256];
    const std::size_t got = client.socket().read_some(asio::buffer(bytes));
    CHECK(std::string(bytes, got).find("text/event-stream") != std::string::npos);
  }
  const std::set<std::string> cancelled = server.engine.wait_for_cancel(5s);
  REQUIRE(cancelled.size() == 1);
  CHECK(*cancelled.begin() == server.engine.submitted().at(0).id);
}

TEST_CASE("a client that disconnects while waiting for a whole response cancels its request", "[http]") {
  TestServer server;
  // Deltas keep coming but never a last event: only the disconnect can end this request.
  server.engine.script = [](const GenerationRequest&) { return Script{{}, true, 20ms}; };
  {
    TestClient client(server.port());
    client.write_raw(raw_post("/v1/completions", R"({"model":"test-model","prompt":"Hi"})"));
    std::this_thread::sleep_for(100ms);
    CHECK(server.engine.wait_for_cancel(0ms).empty());
  }
  const std::set<std::string> cancelled = server.engine.wait_for_cancel(5s);
  REQUIRE(cancelled.size() == 1);
  CHECK(*cancelled.begin() == server.engine.submitted().at(0).id);
}

TEST_CASE("a client that disconnects before the first event cancels its request", "[http]") {
  TestServer server;
  server.engine.script = [](const GenerationRequest&) { return Script{}; };  // never answers
  {
    TestClient client(server.port());
    client.write_raw(raw_post("/v1/completions", R"({"model":"test-model","prompt":"Hi","stream":true})"));
    std::this_thread::sleep_for(50ms);
  }
  CHECK(server.engine.wait_for_cancel(5s).size() == 1);
}

TEST_CASE("a request pipelined behind a waiting one is still answered", "[http]") {
  TestServer server;
  TestClient client(server.port());
  client.write_raw(raw_post("/v1/completions", R"({"model":"test-model","prompt":"Hi"})") +
                   "GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK(json_body(client.read()).at("choices").at(0).at("text").as_string() == "Hello world");
  CHECK(json_body(client.read()).at("object").as_string() == "list");
}

}  // namespace
}  // namespace troupe::test
