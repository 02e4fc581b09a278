// logit_bias, allowed_token_ids and bad_words on both endpoints: what they become, and every way
// to get one wrong (vLLM's messages where it has one, OpenAI's bias range); and the bounds on
// list-valued fields (request_limits.hpp).
#include "pipeline/openai/chat_request.hpp"
#include "pipeline/openai/completion_request.hpp"
#include "pipeline/sampling/logit_rules.hpp"
#include "tests/pipeline/openai/openai_test_support.hpp"

namespace troupe::test {
namespace {

ApiContext with_vocab() {
  ApiContext c = kContext;
  c.vocab_size = 1000;
  return c;
}

GenerationRequest completion(const std::string& fields, const ApiContext& context = with_vocab()) {
  return parse_completion_request(R"({"prompt":"Hi",)" + fields + "}", context);
}
GenerationRequest chat(const std::string& fields) {
  return parse_chat_request(R"({"messages":[{"role":"user","content":"Hi"}],)" + fields + "}", with_vocab());
}
ApiError reject(const std::string& fields, const ApiContext& context = with_vocab()) {
  return rejection([&] { completion(fields, context); });
}

std::string repeated(const std::string& item, std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i) out += (i ? "," : "") + item;
  return out;
}

}  // namespace

TEST_CASE("logit fields: logit_bias becomes sorted (id, bias) pairs on both endpoints", "[openai]") {
  for (const GenerationRequest& r : {completion(R"("logit_bias":{"17":-100,"3":2.5,"999":100})"),
                                     chat(R"("logit_bias":{"17":-100,"3":2.5,"999":100})")}) {
    REQUIRE(r.sampling.logit_rules);
    const auto& bias = r.sampling.logit_rules->logit_bias;
    REQUIRE(bias.size() == 3);
    CHECK(bias[0] == std::pair<int32_t, float>{3, 2.5f});
    CHECK(bias[1] == std::pair<int32_t, float>{17, -100.0f});
    CHECK(bias[2] == std::pair<int32_t, float>{999, 100.0f});
  }
  // Keys as Python's int() reads them; "3" and "03" are one token, the later value wins.
  const auto spaced = completion(R"("logit_bias":{" 3 ":1,"03":2,"1_0":4})");
  CHECK(spaced.sampling.logit_rules->logit_bias == std::vector<std::pair<int32_t, float>>{{3, 2.0f}, {10, 4.0f}});
  // Empty or null: no rules at all.
  CHECK_FALSE(completion(R"("logit_bias":{})").sampling.logit_rules);
  CHECK_FALSE(completion(R"("logit_bias":null)").sampling.logit_rules);
}

TEST_CASE("logit fields: logit_bias mistakes are 400s with vLLM's and OpenAI's messages", "[openai]") {
  const ApiError key = reject(R"("logit_bias":{"abc":1,"2":1,"x'y":3})");
  CHECK(key.param == "logit_bias");
  CHECK(key.message == "logit_bias contains key(s) that cannot be converted to integer token IDs: ['abc', \"x'y\"]");
  // In the order given, as vLLM lists them.
  CHECK(reject(R"("logit_bias":{"1000":1,"5":1,"-1":2})").message ==
        "token_id(s) [1000, -1] in logit_bias contain out-of-vocab token ids. Vocabulary size: 1000");
  // Without a known vocabulary only negative ids are refused.
  CHECK(reject(R"("logit_bias":{"-3":1})", kContext).message ==
        "token_id(s) [-3] in logit_bias contain out-of-vocab token ids. Vocabulary size: unknown");
  CHECK(completion(R"("logit_bias":{"5000":1})", kContext).sampling.logit_rules);
  CHECK(reject(R"("logit_bias":{"5":100.5})").message == "'logit_bias' values must be between -100 and 100; token '5' has 100.5.");
  CHECK(mentions(reject(R"("logit_bias":{"5":-101})"), "between -100 and 100"));
  CHECK(reject(R"("logit_bias":{"5":"high"})").message == "'logit_bias' values must be numbers; token '5' has a string.");
  CHECK(reject(R"("logit_bias":[1,2])").param == "logit_bias");
  std::string many;
  for (int i = 0; i <= 1024; ++i) many += (i ? "," : "") + ("\"" + std::to_string(i) + "\":1");
  CHECK(reject(R"("logit_bias":{)" + many + "}").message == "'logit_bias' may hold at most 1024 entries, got 1025.");
}

TEST_CASE("logit fields: allowed_token_ids", "[openai]") {
  const auto r = chat(R"("allowed_token_ids":[5,3,5])");
  REQUIRE(r.sampling.logit_rules);
  CHECK(r.sampling.logit_rules->allowed_token_ids == std::vector<int32_t>{5, 3, 5});
  CHECK(reject(R"("allowed_token_ids":[])").message == "allowed_token_ids is not None and empty!");
  const ApiError outside = reject(R"("allowed_token_ids":[1,1000])");
  CHECK(outside.param == "allowed_token_ids");
  CHECK(mentions(outside, "allowed_token_ids contains out-of-vocab token id!"));
  CHECK(mentions(reject(R"("allowed_token_ids":[-1])", kContext), "out-of-vocab"));
  CHECK(reject(R"("allowed_token_ids":["1"])").param == "allowed_token_ids");
  CHECK(reject(R"("allowed_token_ids":3)").param == "allowed_token_ids");
}

TEST_CASE("logit fields: bad_words are kept as text, distinct, in order", "[openai]") {
  const auto r = completion(R"("bad_words":["Paris"," London","Paris"])");
  CHECK(r.bad_words == std::vector<std::string>{"Paris", " London"});
  CHECK_FALSE(r.sampling.logit_rules);  // the tokenizer actor makes their token sequences
  CHECK(reject(R"("bad_words":["ok",""])").message == "bad_words cannot contain an empty string.");
  CHECK(reject(R"("bad_words":"Paris")").param == "bad_words");
  CHECK(reject(R"("bad_words":[1])").param == "bad_words");
  CHECK(mentions(reject(R"("bad_words":[")" + std::string(257, 'x') + R"("])"), "at most 256 bytes"));
  CHECK(mentions(reject(R"("bad_words":[)" + repeated(R"("w")", 129) + "]"), "'bad_words' may hold at most 128 words, got 129."));
  CHECK(completion(R"("bad_words":[)" + repeated(R"("w")", 128) + "]").bad_words.size() == 1);
}

TEST_CASE("limits: list-valued fields are bounded with a 400 naming the field", "[openai]") {
  const ApiError stop = reject(R"("stop":[)" + repeated(R"("x")", 100000) + "]");
  CHECK(stop.param == "stop");
  CHECK(stop.message == "'stop' may hold at most 64 strings, got 100000.");
  CHECK(completion(R"("stop":[)" + repeated(R"("x")", 64) + "]").stop.stop.size() == 64);
  CHECK(mentions(reject(R"("stop":")" + std::string(257, 'a') + R"(")"), "'stop' strings may be at most 256 bytes long, got 257."));
  CHECK(mentions(reject(R"("stop_token_ids":[)" + repeated("1", 257) + "]"), "'stop_token_ids' may hold at most 256 token ids"));
  CHECK(reject(R"("stop_token_ids":[1,1000])").message ==
        "token_id(s) [1000] in stop_token_ids contain out-of-vocab token ids. Vocabulary size: 1000");
  const auto batch = [](std::size_t n) {
    return parse_completion_request(R"({"prompt":[)" + repeated(R"("p")", n) + "]}", with_vocab());
  };
  CHECK(mentions(rejection([&] { batch(1025); }), "'prompt' may hold at most 1024 prompts, got 1025."));
  CHECK(batch(1024).batch.size() == 1024);
  const std::string tool = R"({"type":"function","function":{"name":"f","parameters":{"type":"object"}}})";
  const ApiError tools = rejection([&] { chat(R"("tools":[)" + repeated(tool, 129) + "]"); });
  CHECK(tools.param == "tools");
  CHECK(tools.message == "'tools' may hold at most 128 tools, got 129.");
}

}  // namespace troupe::test
