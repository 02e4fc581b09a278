// vLLM's /tokenize and /detokenize bodies.
#include <boost/json.hpp>

#include "pipeline/openai/tokenize_api.hpp"
#include "tests/pipeline/openai/openai_test_support.hpp"

namespace troupe::test {
namespace {

TEST_CASE("tokenize: a prompt adds special tokens by default", "[openai]") {
  const TokenizeRequest request = parse_tokenize_request(R"({"model":"m","prompt":"Hi"})", kContext);
  CHECK_FALSE(request.use_messages);
  CHECK(request.prompt == "Hi");
  CHECK(request.add_special_tokens);
  CHECK_FALSE(parse_tokenize_request(R"({"prompt":"Hi","add_special_tokens":false})", kContext).add_special_tokens);
}

TEST_CASE("tokenize: messages render with the generation prompt and no extra special tokens", "[openai]") {
  const TokenizeRequest request = parse_tokenize_request(
      R"({"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}]})", kContext);
  CHECK(request.use_messages);
  CHECK(request.messages.at(0).at("content").as_string() == "Hi");
  CHECK_FALSE(request.add_special_tokens);
  CHECK(request.add_generation_prompt);
  CHECK_FALSE(parse_tokenize_request(R"({"messages":[{"role":"user","content":"x"}],"add_generation_prompt":false})",
                                     kContext)
                  .add_generation_prompt);
}

TEST_CASE("tokenize: errors", "[openai]") {
  CHECK(mentions(rejection([] { parse_tokenize_request(R"({"model":"m"})", kContext); }), "required"));
  CHECK(mentions(rejection([] {
                   parse_tokenize_request(R"({"prompt":"a","messages":[{"role":"user","content":"x"}]})", kContext);
                 }),
                 "not both"));
  CHECK(rejection([] { parse_tokenize_request(R"({"prompt":5})", kContext); }).param == "prompt");
  CHECK(rejection([] { parse_tokenize_request(R"({"model":"other","prompt":"a"})", kContext); }).status == 404);
  CHECK(rejection([] { parse_tokenize_request(R"({"messages":[]})", kContext); }).param == "messages");
}

TEST_CASE("detokenize: token ids in, errors for anything else", "[openai]") {
  CHECK(parse_detokenize_request(R"({"model":"m","tokens":[1,2,3]})", kContext).tokens == std::vector<int32_t>{1, 2, 3});
  CHECK(parse_detokenize_request(R"({"tokens":[]})", kContext).tokens.empty());
  CHECK(rejection([] { parse_detokenize_request(R"({"model":"m"})", kContext); }).param == "tokens");
  CHECK(rejection([] { parse_detokenize_request(R"({"tokens":[-1]})", kContext); }).param == "tokens");
  CHECK(rejection([] { parse_detokenize_request(R"({"tokens":"abc"})", kContext); }).param == "tokens");
  CHECK(rejection([] { parse_detokenize_request(R"({"tokens":[1.5]})", kContext); }).param == "tokens");
}

TEST_CASE("tokenize/detokenize: response shapes", "[openai]") {
  CHECK(boost::json::serialize(tokenize_response({5, 6}, 2048)) == R"({"count":2,"max_model_len":2048,"tokens":[5,6]})");
  CHECK(boost::json::serialize(detokenize_response("Hi")) == R"({"prompt":"Hi"})");
}

}  // namespace
}  // namespace troupe::test
