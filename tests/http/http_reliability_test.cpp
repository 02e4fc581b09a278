// The HTTP layer under hostile or unlucky clients: HEAD answered like GET without a body (so a
// kept-alive connection is not corrupted), 431 for oversized headers, the JSON media type required
// as vLLM requires it, a stalled reader cancelled by the stream write timeout, and a graceful drain
// (health 503, new work refused, streams still open ended with an error event, [DONE] and the last
// chunk). Everything through a real socket against the ScriptedEngine.
#include <catch2/catch.hpp>

#include <future>

#include "tests/http/test_server.hpp"

namespace troupe::test {
namespace {

using namespace std::chrono_literals;

const std::string kCompletion = R"({"model":"test-model","prompt":"Hi"})";

TEST_CASE("HEAD on every GET route answers like GET, without a body", "[http][reliability]") {
  TestServer server;
  TestClient client(server.port());
  for (const std::string target : {"/health", "/metrics", "/v1/models"}) {
    const TestResponse get = client.get(target);
    const TestResponse head = client.send(http::verb::head, target);
    INFO(target);
    CHECK(head.result_int() == get.result_int());
    CHECK(head[http::field::content_type] == get[http::field::content_type]);
    CHECK(head[http::field::content_length] == std::to_string(get.body().size()));
    CHECK(head.body().empty());
  }
  // The connection is still in step: had a HEAD reply carried a body, this would read it instead.
  const TestResponse after = client.get("/v1/models");
  CHECK(after.result_int() == 200);
  CHECK(json_body(after).at("object").as_string() == "list");
}

TEST_CASE("HEAD where only POST is allowed is a 405 without a body", "[http][reliability]") {
  TestServer server;
  TestClient client(server.port());
  const TestResponse head = client.send(http::verb::head, "/v1/completions");
  CHECK(head.result_int() == 405);
  CHECK(head[http::field::allow] == "POST");
  CHECK(head.body().empty());
  const TestResponse missing = client.send(http::verb::head, "/v1/nothing");
  CHECK(missing.result_int() == 404);
  CHECK(missing.body().empty());
  // GET routes advertise HEAD too.
  CHECK(client.send(http::verb::delete_, "/metrics")[http::field::allow] == "GET, HEAD");
  CHECK(client.get("/health").result_int() == 200);
}

TEST_CASE("headers over the limit get 431 and the connection closes", "[http][reliability]") {
  HttpServerOptions options;
  options.max_header_bytes = 4096;
  TestServer server(options);
  TestClient client(server.port());
  client.write_raw("GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(8000, 'a') + "\r\n\r\n");
  const TestResponse response = client.read();
  CHECK(response.result_int() == 431);
  CHECK(error_of(response).at("code").as_int64() == 431);
  CHECK(client.closed_by_server());
  // Headers under the limit are fine.
  TestClient ok(server.port());
  CHECK(ok.send(http::verb::get, "/health", {}, {{"X-Big", std::string(3000, 'a')}}).result_int() == 200);
}

TEST_CASE("a JSON route wants Content-Type application/json, as vLLM does", "[http][reliability]") {
  TestServer server;
  TestClient client(server.port());
  for (const std::string type : {"text/plain", "application/x-www-form-urlencoded", "application/jsonx", ""}) {
    INFO(type);
    const TestResponse response = client.send(http::verb::post, "/v1/completions", kCompletion, {{"Content-Type", type}});
    CHECK(response.result_int() == 400);
    CHECK(std::string(error_of(response).at("message").as_string()).find("application/json") != std::string::npos);
  }
  CHECK(client.send(http::verb::post, "/tokenize", R"({"prompt":"a"})", {{"Content-Type", "text/plain"}}).result_int() == 400);
  CHECK(server.engine.submitted().empty());
  for (const std::string type : {"application/json", "application/json; charset=utf-8", "Application/JSON ;charset=UTF-8"}) {
    INFO(type);
    CHECK(client.send(http::verb::post, "/v1/completions", kCompletion, {{"Content-Type", type}}).result_int() == 200);
  }
}

TEST_CASE("a stream whose reader stalls is cancelled by the write timeout", "[http][reliability]") {
  HttpServerOptions options;
  options.stream_write_timeout = 300ms;
  options.stream_send_buffer_bytes = 4096;
  TestServer server(options);
  server.engine.script = [](const GenerationRequest&) {
    Script script;
    script.endless = true;
    script.interval = 0ms;
    return script;
  };
  TestClient client(server.port());
  // A client that never reads, with a small receive window.
  client.socket().set_option(asio::socket_base::receive_buffer_size(4096));
  client.write_raw("POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
                   std::to_string(std::string(R"({"model":"test-model","prompt":"Hi","stream":true})").size()) + "\r\n\r\n" +
                   R"({"model":"test-model","prompt":"Hi","stream":true})");
  const auto cancelled = server.engine.wait_for_cancel(20s);
  REQUIRE(cancelled.size() == 1);
  CHECK(server.engine.cancel_reason(*cancelled.begin()) == AbortReason::Timeout);
}

// Reads a whole chunked SSE response off a raw socket until the server closes it or the last
// chunk arrives; returns the raw bytes after the header.
std::string read_stream(TestClient& client) {
  http::response_parser<http::string_body> parser;
  parser.body_limit(boost::none);
  beast::flat_buffer buffer;
  boost::system::error_code ec;
  http::read(client.socket(), buffer, parser, ec);
  return parser.get().body();
}

TEST_CASE("a drain refuses new work, waits for running requests, then ends the rest properly", "[http][reliability]") {
  TestServer server;
  server.engine.script = [](const GenerationRequest& request) {
    Script script;
    if (request.prompt == "forever") {
      script.endless = true;
      script.interval = 20ms;
    } else {
      script.events = {text_event("done"), final_event(FinishReason::Stop, 1)};
    }
    return script;
  };
  TestClient streaming(server.port());
  streaming.write_raw("POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
                      std::to_string(std::string(R"({"model":"test-model","prompt":"forever","stream":true})").size()) +
                      "\r\n\r\n" + R"({"model":"test-model","prompt":"forever","stream":true})");
  TestClient kept_alive(server.port());
  REQUIRE(kept_alive.get("/health").result_int() == 200);
  TestClient kept_alive_too(server.port());
  REQUIRE(kept_alive_too.get("/v1/models").result_int() == 200);
  while (server.engine.submitted().empty()) std::this_thread::sleep_for(5ms);

  auto drained = std::async(std::launch::async, [&] { return server.server().drain(2s, 5s); });
  while (!server.server().draining()) std::this_thread::sleep_for(1ms);
  // While draining: not ready, and a new request on an open connection is refused and closes it.
  const TestResponse health = kept_alive.get("/health");
  CHECK(health.result_int() == 503);
  CHECK_FALSE(health.keep_alive());
  const TestResponse refused = kept_alive_too.post("/v1/completions", kCompletion);
  CHECK(refused.result_int() == 503);
  CHECK(refused[http::field::retry_after] == "1");
  CHECK_FALSE(refused.keep_alive());
  CHECK(kept_alive_too.closed_by_server());
  CHECK(server.engine.submitted().size() == 1);

  // The endless stream outlives the grace period: it is cancelled with reason Shutdown and ends
  // with an error event, [DONE] and the terminating chunk.
  CHECK(drained.get() == 1);
  const std::string body = read_stream(streaming);
  const std::vector<std::string> payloads = sse_payloads(body);
  REQUIRE(payloads.size() >= 3);
  CHECK(payloads.back() == "[DONE]");
  const auto error = boost::json::parse(payloads[payloads.size() - 2]).as_object();
  CHECK(error.at("error").at("code").as_int64() == 503);
  const auto id = server.engine.submitted().front().id;
  CHECK(server.engine.cancel_reason(id) == AbortReason::Shutdown);
}

TEST_CASE("a drain with nothing running returns at once", "[http][reliability]") {
  TestServer server;
  TestClient client(server.port());
  REQUIRE(client.get("/health").result_int() == 200);
  const auto start = std::chrono::steady_clock::now();
  std::thread drainer([&] { CHECK(server.server().drain(10s, 1s) == 0); });
  while (!server.server().draining()) std::this_thread::sleep_for(1ms);
  drainer.join();
  CHECK(std::chrono::steady_clock::now() - start < 2s);
}

}  // namespace
}  // namespace troupe::test
