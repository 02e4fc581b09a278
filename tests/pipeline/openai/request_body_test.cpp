// Raw body → JSON object: UTF-8, JSON syntax and shape are each reported as themselves.
#include "pipeline/openai/request_body.hpp"
#include "tests/pipeline/openai/openai_test_support.hpp"

namespace troupe::test {
namespace {

TEST_CASE("request body: invalid UTF-8 is named with its offset", "[openai]") {
  const ApiError error = rejection([] { parse_request_object("{\"a\":\"ok\xFF\"}"); });
  CHECK(error.status == 400);
  CHECK(error.type == "invalid_request_error");
  CHECK(mentions(error, "not valid UTF-8"));
  CHECK(mentions(error, "offset 8"));
  CHECK(!error.param);
  // Overlong encodings and surrogates are not UTF-8 either.
  CHECK(mentions(rejection([] { parse_request_object("{\"a\":\"\xC0\xAF\"}"); }), "UTF-8"));
  CHECK(mentions(rejection([] { parse_request_object("{\"a\":\"\xED\xA0\x80\"}"); }), "UTF-8"));
  CHECK(mentions(rejection([] { parse_request_object("{\"a\":\"\xE2\x82\"}"); }), "UTF-8"));
}

TEST_CASE("request body: malformed JSON, empty bodies and non-objects", "[openai]") {
  CHECK(mentions(rejection([] { parse_request_object(R"({"a":)"); }), "not valid JSON"));
  CHECK(mentions(rejection([] { parse_request_object(R"({"a":1} x)"); }), "not valid JSON"));
  CHECK(mentions(rejection([] { parse_request_object(""); }), "empty"));
  CHECK(mentions(rejection([] { parse_request_object("[1,2]"); }), "must be a JSON object"));
  CHECK(mentions(rejection([] { parse_request_object("\"text\""); }), "must be a JSON object"));
}

TEST_CASE("request body: valid UTF-8 beyond ASCII parses", "[openai]") {
  const boost::json::object body = parse_request_object("{\"prompt\":\"caf\xC3\xA9 \xF0\x9F\x98\x80\"}");
  CHECK(body.at("prompt").as_string() == "caf\xC3\xA9 \xF0\x9F\x98\x80");
}

}  // namespace
}  // namespace troupe::test
