// X-Request-Id and the request timeline at the HTTP layer: the client's id is echoed (on errors
// too) and handed to the engine with the timeline; without one, generation responses carry their
// response id; an unusable id is ignored; the session marks received, parsed and the first token
// written on the timeline it hands over.
#include <catch2/catch.hpp>

#include "tests/http/test_server.hpp"

namespace troupe::test {
namespace {

using Instant = RequestTimeline::Instant;

TEST_CASE("X-Request-Id is echoed and given to the engine with the timeline", "[http]") {
  TestServer server;
  TestClient client(server.port());
  const TestResponse response = client.send(http::verb::post, "/v1/completions",
                                            R"({"model":"test-model","prompt":"Hi","stream":true})",
                                            {{"X-Request-Id", "client-id-42"}});
  REQUIRE(response.result_int() == 200);
  CHECK(response["X-Request-Id"] == "client-id-42");
  const auto submitted = server.engine.submitted();
  REQUIRE(submitted.size() == 1);
  REQUIRE(submitted[0].timeline != nullptr);
  const RequestTimeline& t = *submitted[0].timeline;
  CHECK(t.facts().request_id == "client-id-42");
  CHECK(t.facts().stream);
  // The session marked its instants: received, parsed (= the request's arrival), first token written.
  REQUIRE(t.has(Instant::Received));
  REQUIRE(t.at(Instant::Parsed) == submitted[0].arrival);
  CHECK(*t.at(Instant::Received) <= *t.at(Instant::Parsed));
  CHECK(t.has(Instant::FirstTokenWritten));
}

TEST_CASE("without X-Request-Id a generation response carries its response id", "[http]") {
  TestServer server;
  TestClient client(server.port());
  const TestResponse response = client.post("/v1/completions", R"({"model":"test-model","prompt":"Hi"})");
  REQUIRE(response.result_int() == 200);
  const std::string id(json_body(response).at("id").as_string());
  CHECK(response["X-Request-Id"] == id);
  CHECK(server.engine.submitted().at(0).timeline->facts().request_id == id);
  // Other routes add none unless asked.
  CHECK(client.get("/v1/models")["X-Request-Id"].empty());
  CHECK(client.send(http::verb::get, "/v1/models", {}, {{"X-Request-Id", "m-1"}})["X-Request-Id"] == "m-1");
}

TEST_CASE("X-Request-Id comes back on errors, and an unusable one is ignored", "[http]") {
  TestServer server;
  TestClient client(server.port());
  const TestResponse bad = client.send(http::verb::post, "/v1/completions", R"({"model":"test-model","prompt":"Hi","n":0})",
                                       {{"X-Request-Id", "bad-request-7"}});
  CHECK(bad.result_int() == 400);
  CHECK(bad["X-Request-Id"] == "bad-request-7");
  // Spaces, or more than 256 characters: not an id to log or echo; the response id is used.
  for (const std::string& unusable : {std::string("has a space"), std::string(257, 'x')}) {
    const TestResponse r = client.send(http::verb::post, "/v1/completions", R"({"model":"test-model","prompt":"Hi"})",
                                       {{"X-Request-Id", unusable}});
    REQUIRE(r.result_int() == 200);
    CHECK(r["X-Request-Id"] == json_body(r).at("id").as_string());
  }
}

}  // namespace
}  // namespace troupe::test
