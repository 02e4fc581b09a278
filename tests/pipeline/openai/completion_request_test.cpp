// POST /v1/completions bodies: defaults, every field, and every way to get one wrong.
#include "pipeline/openai/completion_request.hpp"
#include "tests/pipeline/openai/openai_test_support.hpp"

namespace troupe::test {
namespace {

GenerationRequest parse(const std::string& fields) {
  return parse_completion_request(R"({"model":"m","prompt":"Hi")" + (fields.empty() ? "" : "," + fields) + "}", kContext);
}

ApiError reject(const std::string& fields) {
  return rejection([&] { parse(fields); });
}

TEST_CASE("completions: defaults follow OpenAI", "[openai]") {
  const GenerationRequest request = parse("");
  CHECK(request.endpoint == Endpoint::Completions);
  CHECK(request.model == "m");
  CHECK(request.prompt == "Hi");
  CHECK(request.prompt_ids.empty());
  CHECK(request.stop.max_tokens == 16);
  CHECK(request.stop.min_tokens == 0);
  CHECK(request.stop.stop.empty());
  CHECK_FALSE(request.stop.ignore_eos);
  CHECK_FALSE(request.stop.include_stop_str_in_output);
  CHECK(request.n == 1);
  CHECK_FALSE(request.stream);
  CHECK_FALSE(request.include_usage);
  CHECK_FALSE(request.echo);
  CHECK_FALSE(request.logprobs);
  CHECK(request.sampling.temperature == 0.0);
  CHECK(request.sampling.top_p == 1.0);
  CHECK(request.sampling.top_k == 0);
  CHECK(request.sampling.repetition_penalty == 1.0);
  CHECK_FALSE(request.sampling.seed);
}

TEST_CASE("completions: prompt shapes", "[openai]") {
  const auto with_prompt = [](const std::string& prompt) {
    return parse_completion_request(R"({"model":"m","prompt":)" + prompt + "}", kContext);
  };
  CHECK(with_prompt(R"(["one"])").prompt == "one");
  CHECK(with_prompt("[1, 2, 3]").prompt_ids == std::vector<int32_t>{1, 2, 3});
  CHECK(with_prompt("[[4, 5]]").prompt_ids == std::vector<int32_t>{4, 5});
  CHECK(with_prompt("[[4, 5]]").prompt.empty());

  // Several prompts: a batch, in order; all strings or all token lists (vLLM's schema refuses a mix).
  const GenerationRequest batch = with_prompt(R"(["a", "b", "c"])");
  REQUIRE(batch.batch.size() == 3);
  CHECK(batch.num_prompts() == 3);
  CHECK(batch.batch[0].text == "a");
  CHECK(batch.prompt_at(2).text == "c");
  const GenerationRequest ids = with_prompt("[[1], [7, 8]]");
  REQUIRE(ids.batch.size() == 2);
  CHECK(ids.batch[1].ids == std::vector<int32_t>{7, 8});
  CHECK(mentions(rejection([&] { with_prompt(R"(["a", [7, 8], "c"])"); }), "element 1 is an array"));
  CHECK(mentions(rejection([&] { with_prompt(R"([[7], "a"])"); }), "element 1 is a string"));
  CHECK(with_prompt(R"(["one"])").num_prompts() == 1);
  CHECK(mentions(rejection([&] { with_prompt(R"(["a", ""])"); }), "element 1 is empty"));
  CHECK(mentions(rejection([&] { with_prompt(R"(["a", 3])"); }), "element 1 is an integer"));
  CHECK(mentions(rejection([&] { with_prompt("[1, -2]"); }), "non-negative"));
  CHECK(mentions(rejection([&] { with_prompt("[1, \"x\"]"); }), "token ids"));
  CHECK(mentions(rejection([&] { with_prompt("[]"); }), "must not be empty"));
  CHECK(mentions(rejection([&] { with_prompt("\"\""); }), "must not be empty"));
  CHECK(mentions(rejection([&] { with_prompt("[[]]"); }), "is empty"));
  CHECK(mentions(rejection([&] { with_prompt("42"); }), "got an integer"));
  const ApiError missing = rejection([] { parse_completion_request(R"({"model":"m"})", kContext); });
  CHECK(missing.param == "prompt");
  CHECK(mentions(missing, "required"));
  CHECK(rejection([] { parse_completion_request(R"({"model":"m","prompt":null})", kContext); }).param == "prompt");
}

TEST_CASE("completions: the model must be the served one; absent means the served one", "[openai]") {
  CHECK(parse_completion_request(R"({"prompt":"Hi"})", kContext).model == "m");
  const ApiError unknown = rejection([] { parse_completion_request(R"({"model":"gpt-4","prompt":"Hi"})", kContext); });
  CHECK(unknown.status == 404);
  CHECK(unknown.type == "not_found_error");
  CHECK(unknown.param == "model");
  CHECK(mentions(unknown, "gpt-4"));
  CHECK(rejection([] { parse_completion_request(R"({"model":7,"prompt":"Hi"})", kContext); }).status == 400);
}

TEST_CASE("completions: sampling fields and their ranges", "[openai]") {
  const GenerationRequest request =
      parse(R"("temperature":0.7,"top_p":0.9,"top_k":40,"min_p":0.05,"seed":-1,)"
            R"("presence_penalty":-2,"frequency_penalty":2,"repetition_penalty":1.3)");
  CHECK(request.sampling.temperature == 0.7);
  CHECK(request.sampling.top_p == 0.9);
  CHECK(request.sampling.top_k == 40);
  CHECK(request.sampling.min_p == 0.05);
  CHECK(request.sampling.seed == std::numeric_limits<uint64_t>::max());
  CHECK(request.sampling.presence_penalty == -2.0);
  CHECK(request.sampling.frequency_penalty == 2.0);
  CHECK(request.sampling.repetition_penalty == 1.3);
  CHECK(parse(R"("top_k":-1)").sampling.top_k == 0);
  CHECK(parse(R"("temperature":0)").sampling.temperature == 0.0);
  CHECK(parse(R"("temperature":2)").sampling.temperature == 2.0);

  const ApiError hot = reject(R"("temperature":2.5)");
  CHECK(hot.param == "temperature");
  CHECK(mentions(hot, "between 0 and 2"));
  CHECK(mentions(hot, "2.5"));
  CHECK(reject(R"("temperature":-0.1)").param == "temperature");
  CHECK(reject(R"("temperature":"hot")").param == "temperature");
  CHECK(mentions(reject(R"("temperature":"hot")"), "must be a number, got a string"));
  CHECK(mentions(reject(R"("top_p":0)"), "greater than 0"));
  CHECK(reject(R"("top_p":1.01)").param == "top_p");
  CHECK(reject(R"("top_k":-2)").param == "top_k");
  CHECK(mentions(reject(R"("top_k":1.5)"), "must be an integer"));
  CHECK(reject(R"("min_p":1.5)").param == "min_p");
  CHECK(reject(R"("presence_penalty":2.1)").param == "presence_penalty");
  CHECK(reject(R"("frequency_penalty":-3)").param == "frequency_penalty");
  CHECK(mentions(reject(R"("repetition_penalty":0)"), "greater than 0"));
  CHECK(reject(R"("seed":"42")").param == "seed");
  CHECK(reject(R"("seed":true)").param == "seed");
}

TEST_CASE("completions: truncate_prompt_tokens, prompt_logprobs and return_token_ids (vLLM)", "[openai]") {
  CHECK(parse("").truncate_prompt_tokens == 0);
  CHECK(parse(R"("truncate_prompt_tokens":7)").truncate_prompt_tokens == 7);
  CHECK(parse(R"("truncate_prompt_tokens":-1)").truncate_prompt_tokens == 4096);  // the context length
  CHECK(reject(R"("truncate_prompt_tokens":4097)").message.find("greater than max_model_len (4096)") != std::string::npos);
  CHECK(reject(R"("truncate_prompt_tokens":-2)").param == "truncate_prompt_tokens");
  const GenerationRequest both = parse(R"("echo":true,"logprobs":1,"prompt_logprobs":3)");
  CHECK(both.prompt_logprobs == 3);
  CHECK(both.sampling.prompt_logprobs == 3);  // the larger of the two is computed
  CHECK(reject(R"("prompt_logprobs":21)").param == "prompt_logprobs");
  CHECK(reject(R"("prompt_logprobs":1,"stream":true)").param == "prompt_logprobs");
  CHECK(parse(R"("return_token_ids":true)").return_token_ids);
  CHECK_FALSE(parse(R"("skip_special_tokens":false)").skip_special_tokens);
}

TEST_CASE("completions: max_tokens and min_tokens", "[openai]") {
  CHECK(parse(R"("max_tokens":100)").stop.max_tokens == 100);
  CHECK(parse(R"("max_tokens":4096)").stop.max_tokens == 4096);
  CHECK(parse(R"("max_tokens":8.0)").stop.max_tokens == 8);  // integral numbers are integers
  CHECK(parse(R"("max_tokens":null)").stop.max_tokens == 16);
  const ApiError zero = reject(R"("max_tokens":0)");
  CHECK(zero.param == "max_tokens");
  CHECK(mentions(zero, "between 1 and 4096"));
  CHECK(mentions(reject(R"("max_tokens":4097)"), "between 1 and 4096"));
  CHECK(reject(R"("max_tokens":"10")").param == "max_tokens");
  CHECK(reject(R"("max_tokens":10.5)").param == "max_tokens");
  // Unknown context length: any positive count passes here; the engine caps it.
  CHECK(parse_completion_request(R"({"prompt":"Hi","max_tokens":100000})", ApiContext{"m", 0}).stop.max_tokens ==
        100000);

  CHECK(parse(R"("min_tokens":3,"max_tokens":3)").stop.min_tokens == 3);
  const ApiError above = reject(R"("min_tokens":20)");
  CHECK(above.param == "min_tokens");
  CHECK(mentions(above, "at most max_tokens (16)"));
  CHECK(reject(R"("min_tokens":-1)").param == "min_tokens");
}

TEST_CASE("completions: stop conditions", "[openai]") {
  CHECK(parse(R"("stop":"\n")").stop.stop == std::vector<std::string>{"\n"});
  CHECK(parse(R"("stop":["a","bc"])").stop.stop == std::vector<std::string>{"a", "bc"});
  CHECK(parse(R"("stop":[])").stop.stop.empty());
  CHECK(parse(R"("stop_token_ids":[2, 7])").stop.stop_token_ids == std::vector<int32_t>{2, 7});
  CHECK(parse(R"("ignore_eos":true)").stop.ignore_eos);
  CHECK(parse(R"("include_stop_str_in_output":true)").stop.include_stop_str_in_output);
  CHECK(mentions(reject(R"("stop":"")"), "must not be empty"));
  CHECK(reject(R"("stop":[1])").param == "stop");
  CHECK(reject(R"("stop":5)").param == "stop");
  CHECK(reject(R"("stop_token_ids":[-1])").param == "stop_token_ids");
  CHECK(reject(R"("stop_token_ids":"2")").param == "stop_token_ids");
  CHECK(reject(R"("ignore_eos":1)").param == "ignore_eos");
  CHECK(reject(R"("include_stop_str_in_output":"yes")").param == "include_stop_str_in_output");
}

TEST_CASE("completions: n, stream, stream_options, echo, logprobs, user", "[openai]") {
  CHECK(parse(R"("n":4)").n == 4);
  CHECK(mentions(reject(R"("n":0)"), "between 1 and 128"));
  CHECK(reject(R"("n":129)").param == "n");
  const GenerationRequest streamed = parse(R"("stream":true,"stream_options":{"include_usage":true})");
  CHECK(streamed.stream);
  CHECK(streamed.include_usage);
  CHECK_FALSE(parse(R"("stream":true,"stream_options":{})").include_usage);
  CHECK(mentions(reject(R"("stream_options":{"include_usage":true})"), "'stream' is true"));
  CHECK(reject(R"("stream":true,"stream_options":{"include_usage":"yes"})").param ==
        "stream_options.include_usage");
  CHECK(reject(R"("stream":true,"stream_options":true)").param == "stream_options");
  CHECK(reject(R"("stream":"true")").param == "stream");
  CHECK(parse(R"("echo":true)").echo);
  CHECK(reject(R"("echo":"no")").param == "echo");
  CHECK(parse(R"("logprobs":0)").logprobs == 0);
  CHECK(parse(R"("logprobs":5)").logprobs == 5);
  CHECK(parse(R"("logprobs":5)").sampling.logprobs == 5);
  CHECK(mentions(reject(R"("logprobs":21)"), "between 0 and 20"));
  CHECK(reject(R"("logprobs":true)").param == "logprobs");
  CHECK(reject(R"("user":5)").param == "user");
  CHECK(parse(R"("user":"alice")").n == 1);
  CHECK(reject(R"("suffix":"end")").param == "suffix");
}

TEST_CASE("completions: fields that would change the output and are not implemented are rejected", "[openai]") {
  CHECK(parse(R"("logit_bias":{})").n == 1);
  CHECK(reject(R"("best_of":3)").param == "best_of");
  CHECK(parse(R"("best_of":2,"n":2)").n == 2);
  CHECK(reject(R"("best_of":"2")").param == "best_of");
}

TEST_CASE("completions: unknown fields and nulls are ignored", "[openai]") {
  const GenerationRequest request = parse(R"("best_of":null,"some_future_field":{"x":1},"temperature":null,"stop":null)");
  CHECK(request.sampling.temperature == 0.0);
  CHECK(request.stop.stop.empty());
}

}  // namespace
}  // namespace troupe::test
