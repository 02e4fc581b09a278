// The HTTP surface around generation: routing, methods, auth, limits, malformed input, keep-alive,
// models/health/metrics/tokenize/detokenize. Every case goes through a real socket.
#include <catch2/catch.hpp>

#include "http/bearer_auth.hpp"
#include "tests/http/test_server.hpp"

namespace troupe::test {
namespace {

const std::string kCompletion = R"({"model":"test-model","prompt":"Hi"})";

TEST_CASE("malformed JSON is a 400 OpenAI error naming JSON", "[http]") {
  TestServer server;
  TestClient client(server.port());
  const TestResponse response = client.post("/v1/completions", R"({"model":"test-model","prompt":)");
  CHECK(response.result_int() == 400);
  CHECK(response[http::field::content_type] == "application/json");
  const auto error = error_of(response);
  CHECK(error.at("code").as_int64() == 400);
  CHECK(error.at("type").as_string() == "invalid_request_error");
  CHECK(std::string(error.at("message").as_string()).find("not valid JSON") != std::string::npos);
  CHECK(server.engine.submitted().empty());
}

TEST_CASE("a field of the wrong type is a 400 naming the field", "[http]") {
  TestServer server;
  TestClient client(server.port());
  const TestResponse response =
      client.post("/v1/chat/completions", R"({"model":"test-model","messages":[{"role":"user","content":"x"}],"temperature":"hot"})");
  CHECK(response.result_int() == 400);
  CHECK(error_of(response).at("param").as_string() == "temperature");
}

TEST_CASE("an unknown model is a 404", "[http]") {
  TestServer server;
  TestClient client(server.port());
  const TestResponse response = client.post("/v1/completions", R"({"model":"gpt-9","prompt":"Hi"})");
  CHECK(response.result_int() == 404);
  CHECK(error_of(response).at("param").as_string() == "model");
}

TEST_CASE("invalid UTF-8 in the body is a 400 naming UTF-8", "[http]") {
  TestServer server;
  TestClient client(server.port());
  const TestResponse response = client.post("/v1/completions", "{\"model\":\"test-model\",\"prompt\":\"\xC3\x28\"}");
  CHECK(response.result_int() == 400);
  CHECK(std::string(error_of(response).at("message").as_string()).find("UTF-8") != std::string::npos);
}

TEST_CASE("a body over the limit is a 413 and the connection closes", "[http]") {
  HttpServerOptions options;
  options.max_body_bytes = 1024;
  TestServer server(options);
  SECTION("declared by Content-Length") {
    TestClient client(server.port());
    const TestResponse response = client.post("/v1/completions", std::string(2000, ' '));
    CHECK(response.result_int() == 413);
    CHECK(error_of(response).at("code").as_int64() == 413);
    CHECK(client.closed_by_server());
  }
  SECTION("sent chunked") {
    TestClient client(server.port());
    const std::string chunk(800, ' ');
    client.write_raw("POST /v1/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
                     std::string("320\r\n") + chunk + "\r\n320\r\n" + chunk + "\r\n0\r\n\r\n");
    const TestResponse response = client.read();
    CHECK(response.result_int() == 413);
  }
  SECTION("a body at the limit is read") {
    TestClient client(server.port());
    std::string body = kCompletion;
    body.resize(1024, ' ');
    CHECK(client.post("/v1/completions", body).result_int() == 200);
  }
}

TEST_CASE("unknown paths are 404 and wrong methods 405, as OpenAI errors", "[http]") {
  TestServer server;
  TestClient client(server.port());
  const TestResponse missing = client.get("/v1/engines");
  CHECK(missing.result_int() == 404);
  CHECK(error_of(missing).at("code").as_int64() == 404);
  const TestResponse wrong_method = client.get("/v1/completions");
  CHECK(wrong_method.result_int() == 405);
  CHECK(wrong_method[http::field::allow] == "POST");
  CHECK(error_of(wrong_method).at("code").as_int64() == 405);
  CHECK(client.send(http::verb::post, "/v1/models").result_int() == 405);
}

TEST_CASE("a malformed request line gets a 400 and the connection closes", "[http]") {
  TestServer server;
  TestClient client(server.port());
  client.write_raw("THIS IS NOT HTTP\r\n\r\n");
  const TestResponse response = client.read();
  CHECK(response.result_int() == 400);
  CHECK(client.closed_by_server());
}

TEST_CASE("with --api-key, routes need the Bearer key; /health and /metrics stay open", "[http]") {
  HttpServerOptions options;
  options.api_key = "sk-secret";
  TestServer server(options);
  TestClient client(server.port());
  const TestResponse missing = client.post("/v1/completions", kCompletion);
  CHECK(missing.result_int() == 401);
  CHECK(error_of(missing).at("type").as_string() == "authentication_error");
  CHECK(client.send(http::verb::post, "/v1/completions", kCompletion, {{"Authorization", "Bearer sk-wrong"}})
            .result_int() == 401);
  CHECK(client.send(http::verb::post, "/v1/completions", kCompletion, {{"Authorization", "Bearer sk-secretX"}})
            .result_int() == 401);
  CHECK(client.send(http::verb::get, "/v1/models", {}, {{"Authorization", "Basic sk-secret"}}).result_int() == 401);
  CHECK(client.send(http::verb::post, "/v1/completions", kCompletion, {{"Authorization", "Bearer sk-secret"}})
            .result_int() == 200);
  CHECK(client.get("/health").result_int() == 200);
  CHECK(client.get("/metrics").result_int() == 200);
  CHECK(server.engine.submitted().size() == 1);
}

TEST_CASE("named API keys set the tenant; refusals before the engine are counted per tenant", "[http]") {
  HttpServerOptions options;
  options.tenant_keys = {{"team-a", "sk-aaa"}, {"team-b", "sk-bbb"}};
  TestServer server(options);
  TestClient client(server.port());
  CHECK(client.send(http::verb::post, "/v1/completions", kCompletion, {{"Authorization", "Bearer sk-bbb"}})
            .result_int() == 200);
  CHECK(client.send(http::verb::post, "/v1/completions", kCompletion, {{"Authorization", "Bearer sk-aaa"}})
            .result_int() == 200);
  CHECK(client.send(http::verb::post, "/v1/completions", kCompletion, {{"Authorization", "Bearer sk-ccc"}})
            .result_int() == 401);
  CHECK(server.engine.tenants() == std::vector<std::string>{"team-b", "team-a"});
  CHECK(client.send(http::verb::post, "/v1/completions", R"({"model":"test-model","prompt":)",
                    {{"Authorization", "Bearer sk-aaa"}})
            .result_int() == 400);
  // Every refusal is recorded (logged and counted by reason); the 401 does not count as a request
  // of any tenant, the 400 counts as team-a's invalid one.
  CHECK(server.engine.rejected() ==
        std::vector<std::string>{"anonymous:other:401:unauthorized:/v1/completions",
                                 "team-a:invalid:400:invalid_request:/v1/completions"});
}

TEST_CASE("without keys every request is the anonymous tenant", "[http]") {
  TestServer server;
  TestClient client(server.port());
  CHECK(client.post("/v1/completions", kCompletion).result_int() == 200);
  CHECK(server.engine.tenants() == std::vector<std::string>{"anonymous"});
}

TEST_CASE("bearer token comparison", "[http]") {
  CHECK(constant_time_equals("abc", "abc"));
  CHECK_FALSE(constant_time_equals("abd", "abc"));
  CHECK_FALSE(constant_time_equals("ab", "abc"));
  CHECK_FALSE(constant_time_equals("abcd", "abc"));
  CHECK_FALSE(constant_time_equals("", "abc"));
  CHECK(bearer_token_matches("Bearer k1", "k1"));
  CHECK(bearer_token_matches("bearer  k1 ", "k1"));
  CHECK_FALSE(bearer_token_matches("Bearer", "k1"));
  CHECK_FALSE(bearer_token_matches("Token k1", "k1"));
  CHECK_FALSE(bearer_token_matches("Bearer k2", "k1"));
}

TEST_CASE("keep-alive carries several requests on one connection", "[http]") {
  TestServer server;
  TestClient client(server.port());
  CHECK(client.post("/v1/completions", kCompletion).result_int() == 200);
  CHECK(client.post("/v1/completions", R"({"model":"test-model","prompt":"Hi","stream":true})").result_int() == 200);
  CHECK(client.post("/v1/completions", "{}").result_int() == 400);
  CHECK(client.get("/v1/models").result_int() == 200);
  CHECK(server.engine.submitted().size() == 2);
}

TEST_CASE("Connection: close is honoured", "[http]") {
  TestServer server;
  TestClient client(server.port());
  const TestResponse response = client.send(http::verb::get, "/v1/models", {}, {{"Connection", "close"}});
  CHECK(response.result_int() == 200);
  CHECK_FALSE(response.keep_alive());
  CHECK(client.closed_by_server());
}

TEST_CASE("GET /v1/models lists the served model", "[http]") {
  TestServer server;
  TestClient client(server.port());
  const auto body = json_body(client.get("/v1/models"));
  CHECK(body.at("object").as_string() == "list");
  const auto& model = body.at("data").as_array().at(0).as_object();
  CHECK(model.at("id").as_string() == "test-model");
  CHECK(model.at("object").as_string() == "model");
  CHECK(model.at("max_model_len").as_int64() == 2048);
  CHECK(model.at("created").as_int64() == 1700000000);
}

TEST_CASE("GET /health follows engine health; /metrics is Prometheus text", "[http]") {
  TestServer server;
  TestClient client(server.port());
  CHECK(client.get("/health").result_int() == 200);
  server.engine.is_healthy = false;
  CHECK(client.get("/health").result_int() == 503);
  const TestResponse metrics = client.get("/metrics?name=x");
  CHECK(metrics.result_int() == 200);
  CHECK(metrics[http::field::content_type].starts_with("text/plain; version=0.0.4"));
  CHECK(metrics.body() == "troupe_test_requests_total 3\n");
}

TEST_CASE("the metrics-only listener serves /metrics and nothing of the API", "[http]") {
  HttpServerOptions options;
  options.metrics_only = true;
  TestServer server(options);
  TestClient client(server.port());
  CHECK(client.get("/metrics").result_int() == 200);
  CHECK(client.post("/v1/completions", kCompletion).result_int() == 404);
}

TEST_CASE("a port in use or an unresolvable host fails at construction, naming it", "[http]") {
  TestServer server;
  ScriptedEngine engine;
  HttpServerOptions taken;
  taken.host = "127.0.0.1";
  taken.port = server.port();
  try {
    HttpServer second(engine, taken);
    FAIL("a second server bound the same port");
  } catch (const std::system_error& e) {
    CHECK(std::string(e.what()).find("127.0.0.1:" + std::to_string(server.port())) != std::string::npos);
  }
  HttpServerOptions bad_host;
  bad_host.host = "no such host.invalid";
  bad_host.port = 0;
  CHECK_THROWS_AS(HttpServer(engine, bad_host), std::system_error);
}

TEST_CASE("POST /tokenize and /detokenize", "[http]") {
  TestServer server;
  TestClient client(server.port());
  const auto prompt = json_body(client.post("/tokenize", R"({"model":"test-model","prompt":"ab"})"));
  CHECK(prompt.at("count").as_int64() == 3);
  CHECK(prompt.at("max_model_len").as_int64() == 2048);
  CHECK(boost::json::serialize(prompt.at("tokens")) == "[1,97,98]");
  const auto no_special =
      json_body(client.post("/tokenize", R"({"model":"test-model","prompt":"ab","add_special_tokens":false})"));
  CHECK(no_special.at("count").as_int64() == 2);
  const auto chat = json_body(
      client.post("/tokenize", R"({"model":"test-model","messages":[{"role":"user","content":"a"},{"role":"assistant","content":"b"}]})"));
  CHECK(boost::json::serialize(chat.at("tokens")) == "[2]");
  const auto text = json_body(client.post("/detokenize", R"({"model":"test-model","tokens":[104,105]})"));
  CHECK(text.at("prompt").as_string() == "hi");
  CHECK(client.post("/detokenize", R"({"model":"test-model","tokens":"hi"})").result_int() == 400);
  CHECK(client.post("/tokenize", R"({"model":"test-model"})").result_int() == 400);
}

TEST_CASE("the development routes exist only under VLLM_SERVER_DEV_MODE, as vLLM's", "[http]") {
  SECTION("without it they are 404") {
    TestServer server;
    TestClient client(server.port());
    CHECK(client.send(http::verb::post, "/pause").result_int() == 404);
    CHECK(client.send(http::verb::post, "/resume").result_int() == 404);
    CHECK(client.get("/is_paused").result_int() == 404);
    CHECK(server.engine.pauses().empty());
  }
  SECTION("with it: POST /pause takes its mode from the query, no body needed") {
    HttpServerOptions options;
    options.dev_mode = true;
    TestServer server(options);
    TestClient client(server.port());
    CHECK(json_body(client.get("/is_paused")).at("is_paused").as_bool() == false);
    // vLLM's clients (RL trainers) POST without a Content-Type.
    const TestResponse paused = client.send(http::verb::post, "/pause", {}, {{"Content-Type", ""}});
    CHECK(paused.result_int() == 200);
    CHECK(json_body(paused).at("status").as_string() == "paused");
    CHECK(json_body(client.get("/is_paused")).at("is_paused").as_bool() == true);
    CHECK(json_body(client.send(http::verb::post, "/resume")).at("status").as_string() == "resumed");
    CHECK(json_body(client.get("/is_paused")).at("is_paused").as_bool() == false);
    CHECK(client.send(http::verb::post, "/pause?mode=keep&clear_cache=false").result_int() == 200);
    CHECK(client.send(http::verb::post, "/pause?mode=wait").result_int() == 200);
    CHECK(client.send(http::verb::post, "/pause?wait_for_inflight_requests=true").result_int() == 200);
    const TestResponse bad = client.send(http::verb::post, "/pause?mode=freeze");
    CHECK(bad.result_int() == 400);
    CHECK(error_of(bad).at("param").as_string() == "mode");
    CHECK(server.engine.pauses() == std::vector<PauseMode>{PauseMode::Abort, PauseMode::Keep, PauseMode::Wait, PauseMode::Wait});
    CHECK(client.get("/pause").result_int() == 405);
  }
  SECTION("they need the API key like the other routes") {
    HttpServerOptions options;
    options.dev_mode = true;
    options.api_key = "secret";
    TestServer server(options);
    TestClient client(server.port());
    CHECK(client.send(http::verb::post, "/pause").result_int() == 401);
    CHECK(server.engine.pauses().empty());
  }
}

}  // namespace
}  // namespace troupe::test
