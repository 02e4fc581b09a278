// POST /v1/chat/completions bodies: messages, tools, template options, chat-specific limits and
// logprobs.
#include "pipeline/openai/chat_request.hpp"
#include "tests/pipeline/openai/openai_test_support.hpp"

namespace troupe::test {
namespace {

const std::string kUser = R"({"role":"user","content":"Hi"})";

GenerationRequest parse_messages(const std::string& messages, const std::string& fields = "") {
  return parse_chat_request(R"({"model":"m","messages":)" + messages + (fields.empty() ? "" : "," + fields) + "}",
                            kContext);
}

GenerationRequest parse(const std::string& fields) { return parse_messages("[" + kUser + "]", fields); }

ApiError reject(const std::string& fields) {
  return rejection([&] { parse(fields); });
}

ApiError reject_messages(const std::string& messages) {
  return rejection([&] { parse_messages(messages); });
}

TEST_CASE("chat: defaults; max_tokens unset means the context left", "[openai]") {
  const GenerationRequest request = parse("");
  CHECK(request.endpoint == Endpoint::ChatCompletions);
  CHECK(request.messages.size() == 1);
  CHECK(request.stop.max_tokens == kMaxTokensFromContext);
  CHECK(request.add_generation_prompt);
  CHECK_FALSE(request.tools);
  CHECK(request.chat_template_kwargs.empty());
  CHECK_FALSE(request.logprobs);
  // min_tokens is not bounded by an unset max_tokens.
  CHECK(parse(R"("min_tokens":100)").stop.min_tokens == 100);
}

TEST_CASE("chat: max_completion_tokens wins over max_tokens", "[openai]") {
  CHECK(parse(R"("max_tokens":10)").stop.max_tokens == 10);
  CHECK(parse(R"("max_completion_tokens":20)").stop.max_tokens == 20);
  CHECK(parse(R"("max_completion_tokens":20,"max_tokens":10)").stop.max_tokens == 20);
  CHECK(reject(R"("max_completion_tokens":0)").param == "max_completion_tokens");
  CHECK(mentions(reject(R"("max_tokens":5000)"), "between 1 and 4096"));
}

TEST_CASE("chat: message roles and content shapes", "[openai]") {
  const GenerationRequest request = parse_messages(
      R"([{"role":"system","content":"Be brief."},{"role":"developer","content":"x"},)"
      R"({"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}],"name":"bob"},)"
      R"({"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]},)"
      R"({"role":"tool","content":"42","tool_call_id":"c1"}])");
  REQUIRE(request.messages.size() == 5);
  CHECK(request.messages[2].at("content").as_string() == "a\nb");
  CHECK(request.messages[2].at("name").as_string() == "bob");
  // As vLLM hands it to the template: null content is "", arguments are the object they encode.
  CHECK(request.messages[3].at("content").as_string() == "");
  CHECK(request.messages[3].at("tool_calls").as_array().size() == 1);
  CHECK(request.messages[3].at("tool_calls").at(0).at("function").at("arguments").as_object().empty());
  CHECK(request.messages[4].at("tool_call_id").as_string() == "c1");
  // An assistant message may leave content out entirely.
  CHECK(parse_messages(R"([{"role":"assistant"}])").messages[0].at("content").as_string() == "");
}

TEST_CASE("chat: invalid messages name the message and field", "[openai]") {
  CHECK(mentions(rejection([] { parse_chat_request(R"({"model":"m"})", kContext); }), "'messages' is required"));
  CHECK(mentions(reject_messages("[]"), "at least one"));
  CHECK(reject_messages(R"("Hi")").param == "messages");
  CHECK(reject_messages(R"(["Hi"])").param == "messages[0]");
  CHECK(reject_messages(R"([{"content":"Hi"}])").param == "messages[0].role");
  const ApiError role = reject_messages("[" + kUser + R"(,{"role":"robot","content":"x"}])");
  CHECK(role.param == "messages[1].role");
  CHECK(mentions(role, "robot"));
  CHECK(reject_messages(R"([{"role":"user"}])").param == "messages[0].content");
  CHECK(reject_messages(R"([{"role":"user","content":null}])").param == "messages[0].content");
  CHECK(reject_messages(R"([{"role":"user","content":5}])").param == "messages[0].content");
  const ApiError image = reject_messages(R"([{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}])");
  CHECK(image.param == "messages[0].content[0].type");
  CHECK(mentions(image, "not supported"));
  CHECK(reject_messages(R"([{"role":"user","content":[{"type":"text"}]}])").param == "messages[0].content[0].text");
  CHECK(reject_messages(R"([{"role":"user","content":["a"]}])").param == "messages[0].content[0]");
  CHECK(reject_messages(R"([{"role":"user","content":"x","tool_calls":[]}])").param == "messages[0].tool_calls");
  CHECK(reject_messages(R"([{"role":"assistant","content":"x","tool_calls":[{"type":"function"}]}])").param ==
        "messages[0].tool_calls[0].function");
  CHECK(reject_messages(R"([{"role":"assistant","content":"x","tool_calls":[{"function":{"arguments":"{}"}}]}])")
            .param == "messages[0].tool_calls[0].function.name");
  CHECK(reject_messages(R"([{"role":"assistant","content":"x","tool_calls":{}}])").param == "messages[0].tool_calls");
  CHECK(reject_messages(R"([{"role":"tool","content":"x","tool_call_id":3}])").param == "messages[0].tool_call_id");
  CHECK(reject_messages(R"([{"role":"user","content":"x","name":3}])").param == "messages[0].name");
}

TEST_CASE("chat: history messages become the conversation vLLM renders", "[openai]") {
  const GenerationRequest request = parse_messages(
      R"([{"role":"user","content":"Weather?"},)"
      R"({"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"w","arguments":"{\"city\": \"Paris\"}"}}],"extra":1},)"
      R"({"role":"assistant","content":"ok","tool_calls":[],"reasoning_content":"think"},)"
      R"({"role":"tool","content":[{"type":"text","text":"21"},{"type":"text","text":"C"}],"tool_call_id":"c1"}])");
  const auto& call = request.messages[1].at("tool_calls").at(0).at("function");
  CHECK(call.at("arguments").at("city").as_string() == "Paris");
  CHECK_FALSE(request.messages[1].as_object().contains("extra"));  // vLLM keeps only known keys
  CHECK_FALSE(request.messages[2].as_object().contains("tool_calls"));  // empty tool_calls dropped
  CHECK(request.messages[2].at("reasoning_content").as_string() == "think");
  CHECK(request.messages[2].at("reasoning").as_string() == "think");
  CHECK(request.messages[3].at("content").as_string() == "21\nC");
  CHECK(reject_messages(
            R"([{"role":"assistant","content":null,"tool_calls":[{"function":{"name":"w","arguments":"{oops"}}]}])")
            .param == "messages[0].tool_calls[0].function.arguments");
}

const std::string kTools =
    R"("tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}},"$defs":{"u":{"type":"string"}}}}},)"
    R"({"type":"function","function":{"name":"noop"}}])";

TEST_CASE("chat: Mistral's tool calls keep control tokens' text, as vLLM's parser asks", "[openai]") {
  ApiContext mistral = kContext;
  mistral.enable_auto_tool_choice = true;
  mistral.tool_call_format = ToolCallFormat::Mistral;
  const auto parse_with = [&](const std::string& fields) {
    return parse_chat_request(R"({"model":"m","messages":[)" + kUser + "]," + fields + "}", mistral);
  };
  const GenerationRequest calls = parse_with(kTools + R"(,"skip_special_tokens":true)");
  CHECK(calls.tool_calls.format == ToolCallFormat::Mistral);
  CHECK_FALSE(calls.skip_special_tokens);  // [TOOL_CALLS] is a control token
  CHECK(parse_with(kTools + R"(,"tool_choice":"none")").skip_special_tokens);
  CHECK(parse_with(R"("max_tokens":4)").skip_special_tokens);
}

TEST_CASE("chat: a harmony model's replies are always parsed, with the markers' text kept for it", "[openai][harmony]") {
  ApiContext harmony = kContext;
  harmony.enable_auto_tool_choice = true;
  harmony.tool_call_format = ToolCallFormat::Harmony;
  const auto parse_with = [&](const std::string& fields) {
    return parse_chat_request(R"({"model":"m","messages":[)" + kUser + "]," + fields + "}", harmony);
  };
  const GenerationRequest plain = parse_with(R"("max_tokens":4)");
  CHECK(plain.tool_calls.kind == ToolCallMode::Kind::None);
  CHECK(plain.tool_calls.format == ToolCallFormat::Harmony);
  CHECK_FALSE(plain.skip_special_tokens);  // <|channel|>, <|message|> ... are special tokens
  const GenerationRequest calls = parse_with(kTools);
  CHECK(calls.tool_calls.kind == ToolCallMode::Kind::Auto);
  CHECK(calls.tool_calls.format == ToolCallFormat::Harmony);
  CHECK_FALSE(calls.skip_special_tokens);
  ToolCallFormat named;
  REQUIRE(tool_call_format_from_name("openai", named));  // vLLM's --tool-call-parser name
  CHECK(named == ToolCallFormat::Harmony);
  CHECK(tool_call_format_of_template("{{- '<|start|>assistant<|channel|>final<|message|>' }}") == ToolCallFormat::Harmony);
}

TEST_CASE("chat: reasoning_effort reaches the template as a variable", "[openai][reasoning]") {
  const auto parse = [](const std::string& fields) {
    return parse_chat_request(R"({"model":"m","messages":[)" + kUser + "]," + fields + "}", kContext);
  };
  CHECK(parse(R"("reasoning_effort":"high")").chat_template_kwargs.at("reasoning_effort").as_string() == "high");
  // chat_template_kwargs' own value wins.
  CHECK(parse(R"("reasoning_effort":"high","chat_template_kwargs":{"reasoning_effort":"low"})")
            .chat_template_kwargs.at("reasoning_effort").as_string() == "low");
  CHECK_FALSE(parse(R"("max_tokens":3)").chat_template_kwargs.contains("reasoning_effort"));
  CHECK_THROWS_AS(parse(R"("reasoning_effort":"extreme")"), ApiException);
}

TEST_CASE("chat: --reasoning-parser reaches every chat request", "[openai][reasoning]") {
  ApiContext thinking = kContext;
  thinking.reasoning = ReasoningFormat::Qwen3;
  thinking.tool_call_format = ToolCallFormat::Hermes;
  const GenerationRequest plain =
      parse_chat_request(R"({"model":"m","messages":[)" + kUser + R"(],"max_tokens":4})", thinking);
  CHECK(plain.tool_calls.kind == ToolCallMode::Kind::None);
  CHECK(plain.tool_calls.reasoning == ReasoningFormat::Qwen3);
  CHECK(plain.skip_special_tokens);  // <think> and </think> are not special tokens
  ReasoningFormat format;
  bool harmony = false;
  CHECK(reasoning_format_from_name("deepseek_r1", format, harmony));
  CHECK(format == ReasoningFormat::DeepSeekR1);
  CHECK(reasoning_format_from_name("openai_gptoss", format, harmony));
  CHECK(harmony);
  CHECK_FALSE(reasoning_format_from_name("step3", format, harmony));  // a vLLM parser troupe has not
  CHECK(reasoning_format_from_name("mistral", format, harmony));
  CHECK(format == ReasoningFormat::Mistral);
  thinking.reasoning = ReasoningFormat::Mistral;
  thinking.tool_call_format = ToolCallFormat::Mistral;
  const GenerationRequest mistral =
      parse_chat_request(R"({"model":"m","messages":[)" + kUser + R"(],"max_tokens":4})", thinking);
  CHECK_FALSE(mistral.skip_special_tokens);  // [THINK] and [/THINK] are control tokens
}

TEST_CASE("chat: tools and tool_choice as vLLM reads them", "[openai]") {
  ApiContext with_auto = kContext;
  with_auto.enable_auto_tool_choice = true;
  with_auto.tool_call_format = ToolCallFormat::Llama3Json;
  auto parse_with = [&](const ApiContext& context, const std::string& fields) {
    return parse_chat_request(R"({"model":"m","messages":[)" + kUser + "]," + fields + "}", context);
  };
  // Tools without tool_choice mean "auto". A model without a tool-call format answers in text
  // (counted); with auto tools turned off (--disable-auto-tool-choice), vLLM's 400.
  const GenerationRequest as_text = parse_with(kContext, kTools);
  CHECK(as_text.tool_calls.kind == ToolCallMode::Kind::None);
  CHECK(as_text.auto_tools_as_text);
  CHECK(as_text.tools);  // still rendered by the template
  ApiContext off = with_auto;
  off.enable_auto_tool_choice = false;
  const auto reject_with = [&](const ApiContext& context, const std::string& fields) {
    try {
      parse_with(context, fields);
    } catch (const ApiException& e) {
      return e.error();
    }
    FAIL("accepted " << fields);
    return ApiError{};
  };
  const ApiError turned_off = reject_with(off, kTools);
  CHECK(turned_off.param == "tool_choice");
  CHECK(turned_off.message == "\"auto\" tool choice is turned off on this server (troupe serve --disable-auto-tool-choice)");
  CHECK(reject_with(off, kTools + R"(,"tool_choice":"auto")").message == turned_off.message);
  const GenerationRequest automatic = parse_with(with_auto, kTools);
  REQUIRE(automatic.tools);
  CHECK(automatic.tools->size() == 2);
  CHECK(automatic.tool_calls.kind == ToolCallMode::Kind::Auto);
  CHECK(automatic.tool_calls.format == ToolCallFormat::Llama3Json);
  CHECK_FALSE(automatic.structured_output);
  // "none": the tools are still rendered, the output stays text.
  const GenerationRequest none = parse(kTools + R"(,"tool_choice":"none")");
  CHECK(none.tools);
  CHECK(none.tool_calls.kind == ToolCallMode::Kind::None);
  // "required": vLLM's array schema, $defs hoisted; works without the auto flags.
  const GenerationRequest required = parse(kTools + R"(,"tool_choice":"required","parallel_tool_calls":false)");
  CHECK(required.tool_calls.kind == ToolCallMode::Kind::Required);
  CHECK_FALSE(required.parallel_tool_calls);
  REQUIRE(required.structured_output);
  CHECK(required.structured_output->kind == StructuredOutputRequest::Kind::JsonSchema);
  const auto schema = boost::json::parse(required.structured_output->text).as_object();
  CHECK(schema.at("type").as_string() == "array");
  CHECK(schema.at("minItems").as_int64() == 1);
  CHECK(schema.at("$defs").at("u").at("type").as_string() == "string");
  const auto& any_of = schema.at("items").at("anyOf").as_array();
  REQUIRE(any_of.size() == 2);
  CHECK(any_of[0].at("properties").at("name").at("enum").at(0).as_string() == "get_weather");
  CHECK_FALSE(any_of[0].at("properties").at("parameters").as_object().contains("$defs"));
  CHECK(any_of[1].at("properties").at("parameters").at("type").as_string() == "object");  // none given
  // A named function: its parameters schema.
  const GenerationRequest named = parse(kTools + R"(,"tool_choice":{"type":"function","function":{"name":"get_weather"}})");
  CHECK(named.tool_calls.kind == ToolCallMode::Kind::Named);
  CHECK(named.tool_calls.function_name == "get_weather");
  REQUIRE(named.structured_output);
  CHECK(boost::json::parse(named.structured_output->text).at("properties").at("city").at("type").as_string() == "string");
  // "required" with no tools behaves as "none" (OpenAI's behaviour, copied by vLLM).
  CHECK(parse(R"("tools":[],"tool_choice":"required")").tool_calls.kind == ToolCallMode::Kind::None);
  // Shape errors.
  CHECK(reject(R"("tools":{})").param == "tools");
  CHECK(reject(R"("tools":[{"type":"retrieval"}])").param == "tools[0].type");
  CHECK(reject(R"("tools":[{"type":"function"}])").param == "tools[0].function");
  CHECK(reject(R"("tools":[{"type":"function","function":{"name":""}}])").param == "tools[0].function.name");
  CHECK(reject(R"("tool_choice":"required")").message == "When using `tool_choice`, `tools` must be set.");
  CHECK(mentions(reject(kTools + R"(,"tool_choice":"sometimes")"), "Only named tools"));
  CHECK(reject(kTools + R"(,"tool_choice":{"type":"function","function":{"name":"nope"}})").message ==
        "The tool specified in `tool_choice` does not match any of the specified `tools`");
  CHECK(mentions(reject(kTools + R"(,"tool_choice":{"type":"function"})"), "Correct usage"));
}

TEST_CASE("chat: response_format", "[openai]") {
  CHECK(parse(R"("response_format":{"type":"text"})").messages.size() == 1);
  CHECK(parse(R"("response_format":{"type":"json_object"})").structured_output.has_value());
}

TEST_CASE("chat: template options", "[openai]") {
  const GenerationRequest request =
      parse(R"("chat_template_kwargs":{"enable_thinking":false},"add_generation_prompt":false)");
  CHECK(request.chat_template_kwargs.at("enable_thinking").as_bool() == false);
  CHECK_FALSE(request.add_generation_prompt);
  CHECK(reject(R"("chat_template_kwargs":[])").param == "chat_template_kwargs");
  CHECK(reject(R"("add_generation_prompt":"no")").param == "add_generation_prompt");
  // continue_final_message needs add_generation_prompt false, which defaults to true (as in vLLM).
  CHECK(reject(R"("continue_final_message":true)").param == "continue_final_message");
  CHECK(reject(R"("continue_final_message":true,"add_generation_prompt":true)").param == "continue_final_message");
  CHECK(parse(R"("continue_final_message":true,"add_generation_prompt":false)").continue_final_message);
  CHECK_FALSE(parse(R"("continue_final_message":false)").messages.empty());
  CHECK(reject(R"("chat_template":"{{ messages }}")").param == "chat_template");
}

TEST_CASE("chat: logprobs is a boolean, top_logprobs 0-20 and needs it", "[openai]") {
  CHECK_FALSE(parse(R"("logprobs":false)").logprobs);
  CHECK(parse(R"("logprobs":true)").logprobs == 0);
  CHECK(parse(R"("logprobs":true,"top_logprobs":5)").logprobs == 5);
  CHECK(parse(R"("logprobs":true,"top_logprobs":5)").sampling.logprobs == 5);
  CHECK(parse(R"("top_logprobs":0)").logprobs == std::nullopt);
  CHECK(mentions(reject(R"("top_logprobs":3)"), "requires 'logprobs'"));
  CHECK(mentions(reject(R"("logprobs":true,"top_logprobs":21)"), "between 0 and 20"));
  CHECK(reject(R"("logprobs":3)").param == "logprobs");
}

TEST_CASE("chat: shared fields behave as in completions", "[openai]") {
  const GenerationRequest request = parse(R"("n":2,"stream":true,"stream_options":{"include_usage":true},)"
                                          R"("temperature":1.0,"seed":7,"stop":["x"],"ignore_eos":true)");
  CHECK(request.n == 2);
  CHECK(request.stream);
  CHECK(request.include_usage);
  CHECK(request.sampling.temperature == 1.0);
  CHECK(request.sampling.seed == 7u);
  CHECK(request.stop.stop == std::vector<std::string>{"x"});
  CHECK(request.stop.ignore_eos);
  CHECK(rejection([] { parse_chat_request(R"({"model":"x","messages":[{"role":"user","content":"Hi"}]})", kContext); })
            .status == 404);
}

}  // namespace
}  // namespace troupe::test
