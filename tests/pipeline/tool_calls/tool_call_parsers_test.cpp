// Tool-call parsing in every mode, streaming and not: the shapes vLLM reports (hermes,
// llama3_json, tool_choice "required" and a named function). Streaming is checked by cutting the
// model's text at every byte and requiring the deltas to add up to the non-streaming message.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cctype>
#include <string>

#include "pipeline/tool_calls/tool_call_parser.hpp"
#include "tests/support/fixtures.hpp"

namespace {

using namespace troupe;

ToolCallMode auto_mode(ToolCallFormat format) {
  ToolCallMode mode;
  mode.kind = ToolCallMode::Kind::Auto;
  mode.format = format;
  return mode;
}

// Streams `text` in pieces of `piece` bytes and rebuilds the message from the deltas.
ParsedMessage stream(const ToolCallMode& mode, const std::string& text, std::size_t piece, MessageDelta* first_call = nullptr) {
  std::unique_ptr<ToolCallParser> parser = make_tool_call_parser(mode);
  MessageDelta all;
  for (std::size_t pos = 0; pos < text.size(); pos += piece) {
    MessageDelta delta = parser->push(std::string_view(text).substr(pos, piece));
    for (const ToolCallDelta& d : delta.tool_calls) {
      if (d.id && first_call && first_call->tool_calls.empty()) first_call->tool_calls.push_back(d);
    }
    all.append(std::move(delta));
  }
  all.append(parser->finish());
  ParsedMessage message;
  message.content = all.content;
  for (const ToolCallDelta& d : all.tool_calls) {
    if (d.id) {
      // A call's first delta: OpenAI's shape, arguments present and empty (every parser).
      CHECK(d.arguments == std::optional<std::string>(""));
      message.tool_calls.push_back({*d.id, d.name.value_or(""), d.arguments.value_or("")});
    } else {
      REQUIRE_FALSE(message.tool_calls.empty());
      REQUIRE(d.index == static_cast<int>(message.tool_calls.size()) - 1);
      message.tool_calls.back().arguments += d.arguments.value_or("");
    }
  }
  return message;
}

void check_stream_matches(const ToolCallMode& mode, const std::string& text) {
  const ParsedMessage whole = parse_message(mode, text);
  for (std::size_t piece = 1; piece <= text.size(); ++piece) {
    INFO("piece " << piece);
    const ParsedMessage streamed = stream(mode, text, piece);
    CHECK(streamed.content.value_or("") == whole.content.value_or(""));
    REQUIRE(streamed.tool_calls.size() == whole.tool_calls.size());
    for (std::size_t i = 0; i < whole.tool_calls.size(); ++i) {
      CHECK(streamed.tool_calls[i].name == whole.tool_calls[i].name);
      CHECK(streamed.tool_calls[i].arguments == whole.tool_calls[i].arguments);
      const std::string& id = streamed.tool_calls[i].id;
      if (mode.kind == ToolCallMode::Kind::Auto && mode.format == ToolCallFormat::Mistral) {
        CHECK(id.size() == 9);  // Mistral's ids: 9 letters and digits
        CHECK(std::all_of(id.begin(), id.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)); }));
      } else {
        CHECK(id.rfind("chatcmpl-tool-", 0) == 0);
        CHECK(id.size() == 14 + 32);
      }
    }
  }
}

}  // namespace

TEST_CASE("hermes: one call, content null, arguments as json.dumps(ensure_ascii=False)") {
  const ToolCallMode mode = auto_mode(ToolCallFormat::Hermes);
  const std::string text = "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\":\"Zürich\",\"days\":2}}\n</tool_call>";
  const ParsedMessage m = parse_message(mode, text);
  CHECK_FALSE(m.content.has_value());
  REQUIRE(m.tool_calls.size() == 1);
  CHECK(m.tool_calls[0].name == "get_weather");
  CHECK(m.tool_calls[0].arguments == R"({"city": "Zürich", "days": 2})");
  check_stream_matches(mode, text);
}

TEST_CASE("hermes: text before the calls is content; two calls get indexes 0 and 1") {
  const ToolCallMode mode = auto_mode(ToolCallFormat::Hermes);
  const std::string text =
      "Let me check.\n<tool_call>\n{\"name\": \"a\", \"arguments\": {}}\n</tool_call>\n"
      "<tool_call>\n{\"arguments\": {\"q\": [1, 2]}, \"name\": \"b\"}\n</tool_call>";
  const ParsedMessage m = parse_message(mode, text);
  CHECK(m.content == std::optional<std::string>("Let me check.\n"));
  REQUIRE(m.tool_calls.size() == 2);
  CHECK(m.tool_calls[0].arguments == "{}");
  CHECK(m.tool_calls[1].name == "b");
  CHECK(m.tool_calls[1].arguments == R"({"q": [1, 2]})");
  check_stream_matches(mode, text);
}

TEST_CASE("hermes: the first delta of a call carries id, name and empty arguments; then argument fragments") {
  const ToolCallMode mode = auto_mode(ToolCallFormat::Hermes);
  std::unique_ptr<ToolCallParser> parser = make_tool_call_parser(mode);
  CHECK(parser->push("Hi <tool").content == "Hi ");  // "<tool" is held back: it may be the tag
  CHECK(parser->push("_call>{\"name\": \"get_").empty());
  MessageDelta named = parser->push("weather\", \"arguments\": {\"ci");
  // OpenAI's shape: {id, name, arguments ""} first, so that a client's `arguments +=` starts from
  // "" (not None, and not "{" twice); then the arguments read so far, a delta of their own.
  REQUIRE(named.tool_calls.size() == 2);
  CHECK(named.tool_calls[0].index == 0);
  CHECK(named.tool_calls[0].id.has_value());
  CHECK(named.tool_calls[0].name == std::optional<std::string>("get_weather"));
  CHECK(named.tool_calls[0].arguments == std::optional<std::string>(""));
  CHECK(named.tool_calls[1].index == 0);
  CHECK_FALSE(named.tool_calls[1].id.has_value());
  CHECK(named.tool_calls[1].arguments == std::optional<std::string>("{\"ci"));  // string text streams as it comes
  MessageDelta more = parser->push("ty\": \"Paris\"}}</tool_call>");
  REQUIRE(more.tool_calls.size() == 1);
  CHECK_FALSE(more.tool_calls[0].id.has_value());
  CHECK_FALSE(more.tool_calls[0].name.has_value());
  CHECK(more.tool_calls[0].arguments == std::optional<std::string>("ty\": \"Paris\"}"));
  CHECK(parser->finish().empty());
  CHECK(parser->calls() == 1);
}

TEST_CASE("hermes: no tag is plain content; a tag-like prefix is released at the end") {
  const ToolCallMode mode = auto_mode(ToolCallFormat::Hermes);
  CHECK(parse_message(mode, "Paris is the capital.").content == std::optional<std::string>("Paris is the capital."));
  CHECK(parse_message(mode, "a < b <tool").content == std::optional<std::string>("a < b <tool"));
  check_stream_matches(mode, "a < b <tool");
}

TEST_CASE("hermes: malformed calls fall back to the whole text as content, as vLLM does") {
  const ToolCallMode mode = auto_mode(ToolCallFormat::Hermes);
  for (const std::string text : {"<tool_call>{\"name\": \"a\", \"arguments\": {\"x\": }}</tool_call>",
                                 "<tool_call>{\"name\": \"a\"}</tool_call>",
                                 "<tool_call>{\"arguments\": {}}</tool_call>",
                                 "<tool_call>{\"name\": \"a\", \"arguments\": {}} junk</tool_call>",
                                 "<tool_call>{\"name\": \"a\", \"arguments\": {\"x\": 1"}) {
    INFO(text);
    const ParsedMessage m = parse_message(mode, text);
    CHECK(m.tool_calls.empty());
    CHECK(m.content == std::optional<std::string>(text));
  }
  // An unclosed tag whose JSON is complete still counts (vLLM's regex takes "<tool_call>(.*)").
  const ParsedMessage unclosed = parse_message(mode, "<tool_call>{\"name\": \"a\", \"arguments\": {}}");
  CHECK(unclosed.tool_calls.size() == 1);
}

TEST_CASE("llama3_json: python_tag, parameters, several calls separated by ';'") {
  const ToolCallMode mode = auto_mode(ToolCallFormat::Llama3Json);
  const std::string text =
      "<|python_tag|>{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}; "
      "{\"name\": \"search\", \"arguments\": {\"query\": \"x\", \"n\": 1.0}}";
  const ParsedMessage m = parse_message(mode, text);
  CHECK_FALSE(m.content.has_value());
  REQUIRE(m.tool_calls.size() == 2);
  CHECK(m.tool_calls[0].arguments == R"({"city": "Paris"})");
  CHECK(m.tool_calls[1].name == "search");
  CHECK(m.tool_calls[1].arguments == R"({"query": "x", "n": 1.0})");
  check_stream_matches(mode, text);
  check_stream_matches(mode, "{\"name\": \"f\", \"parameters\": {}}");
}

TEST_CASE("llama3_json: Llama 4's calls, after the <|python_start|><|python_end|> its template writes before them") {
  const ToolCallMode mode = auto_mode(ToolCallFormat::Llama3Json);
  // As Llama 4's template renders an assistant message of two calls and no content (special tokens
  // kept), and as they read with the tags skipped.
  for (const std::string text : {std::string("<|python_start|><|python_end|>"), std::string("<|python_start|>"), std::string()}) {
    const std::string calls = text + "{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}";
    INFO(calls);
    const ParsedMessage m = parse_message(mode, calls);
    CHECK_FALSE(m.content.has_value());
    REQUIRE(m.tool_calls.size() == 1);
    CHECK(m.tool_calls[0].name == "get_weather");
    CHECK(m.tool_calls[0].arguments == R"({"city": "Paris"})");
    check_stream_matches(mode, calls);
  }
  // Text that merely begins like a tag is content.
  CHECK(parse_message(mode, "<|python").content == std::optional<std::string>("<|python"));
  CHECK(parse_message(mode, "<|pythonic way").content == std::optional<std::string>("<|pythonic way"));
}

TEST_CASE("llama3_json: text that does not start with a JSON object is content") {
  const ToolCallMode mode = auto_mode(ToolCallFormat::Llama3Json);
  CHECK(parse_message(mode, "The answer is {42}.").content == std::optional<std::string>("The answer is {42}."));
  CHECK(parse_message(mode, "{not json").content == std::optional<std::string>("{not json"));
  check_stream_matches(mode, "The answer is {42}.");
}

TEST_CASE("tool_choice required: an array of {name, parameters}, content \"\"") {
  ToolCallMode mode;
  mode.kind = ToolCallMode::Kind::Required;
  const std::string text = R"([{"name": "get_weather", "parameters": {"city": "Paris"}}, {"name": "search", "parameters": {}}])";
  const ParsedMessage m = parse_message(mode, text);
  CHECK(m.content == std::optional<std::string>(""));
  REQUIRE(m.tool_calls.size() == 2);
  CHECK(m.tool_calls[0].arguments == R"({"city": "Paris"})");
  CHECK(m.tool_calls[1].arguments == "{}");
  check_stream_matches(mode, text);
  // Cut short (max_tokens): no calls, the text is the content.
  const ParsedMessage cut = parse_message(mode, R"([{"name": "get_weather", "parameters": {"ci)");
  CHECK(cut.tool_calls.empty());
}

TEST_CASE("a named function: the whole output is its arguments, passed through as generated") {
  ToolCallMode mode;
  mode.kind = ToolCallMode::Kind::Named;
  mode.function_name = "get_weather";
  const std::string text = "{\"city\":\"Paris\"}";
  const ParsedMessage m = parse_message(mode, text);
  CHECK(m.content == std::optional<std::string>(""));
  REQUIRE(m.tool_calls.size() == 1);
  CHECK(m.tool_calls[0].name == "get_weather");
  CHECK(m.tool_calls[0].arguments == text);
  check_stream_matches(mode, text);
}

TEST_CASE("the tool-call format is read off a chat template as llama.cpp's server reads it") {
  const auto format_of = [](const std::string& fixture) {
    const auto doc = troupe::test::read_json(troupe::test::fixture("chat_template/" + fixture)).as_object();
    return tool_call_format_of_template(std::string(doc.at("template").as_string()));
  };
  CHECK(format_of("qwen2_5.json") == ToolCallFormat::Hermes);
  CHECK(format_of("qwen3.json") == ToolCallFormat::Hermes);
  CHECK(format_of("llama3_1.json") == ToolCallFormat::Llama3Json);
  CHECK(format_of("llama3_2.json") == ToolCallFormat::Llama3Json);
  for (const char* mistral : {"mistral_v3_spm.json", "mistral_v3_tekken.json", "mistral_v7_tekken.json", "mistral_v11_tekken.json"}) {
    CHECK(format_of(mistral) == ToolCallFormat::Mistral);
  }
  CHECK(format_of("qwen3_5.json") == ToolCallFormat::Qwen3Coder);  // Qwen3.5 writes Qwen3-Coder's calls
  // LFM2.5's lists the tools ("List of tools: [...]") and writes no call back: its calls are lfm2's.
  CHECK(format_of("lfm2_5.json") == ToolCallFormat::Lfm2);
  CHECK(format_of("granite3_3.json") == ToolCallFormat::Granite);  // "respond only with <|tool_call|> ..."
  CHECK(format_of("nemotron_nano_v2.json") == ToolCallFormat::NemotronJson);  // <TOOLCALL>[...]</TOOLCALL>
  CHECK(format_of("nemotron3_nano.json") == ToolCallFormat::Qwen3Coder);      // <function=...>
  CHECK(format_of("gemma4.json") == ToolCallFormat::Gemma4);                  // <|tool_call>call:name{...}
  CHECK(format_of("llama4.json") == ToolCallFormat::Llama3Json);              // <|python_start|> and JSON calls
  // LFM2's own (llama.cpp's models/templates/LFM2-8B-A1B.jinja): the list between special tokens.
  CHECK(tool_call_format_of_template("<|im_start|>system\n{{ 'List of tools: <|tool_list_start|>[' }}") == ToolCallFormat::Lfm2);
  CHECK(format_of("smollm2.json") == std::nullopt);  // renders no tools at all
  CHECK(tool_call_format_of_template("{{ bos_token }}<start_of_turn>user") == std::nullopt);
}

TEST_CASE("mistral: a JSON array after [TOOL_CALLS] (tokenizers before v11), text before it is content") {
  const ToolCallMode mode = auto_mode(ToolCallFormat::Mistral);
  const std::string text = "Checking both. [TOOL_CALLS][{\"name\": \"get_weather\", \"arguments\": {\"city\":\"Zürich\"}}, "
                           "{\"name\":\"search\",\"arguments\":{\"query\":\"rain\",\"max_results\":3}}]";
  const ParsedMessage m = parse_message(mode, text);
  CHECK(m.content == std::optional<std::string>("Checking both. "));
  REQUIRE(m.tool_calls.size() == 2);
  CHECK(m.tool_calls[0].name == "get_weather");
  CHECK(m.tool_calls[0].arguments == "{\"city\": \"Zürich\"}");
  CHECK(m.tool_calls[1].name == "search");
  CHECK(m.tool_calls[1].arguments == "{\"query\": \"rain\", \"max_results\": 3}");
  check_stream_matches(mode, text);
}

TEST_CASE("mistral: name[ARGS]{...} per [TOOL_CALLS] (tokenizers from v11), the model's own [CALL_ID] replaced") {
  const ToolCallMode mode = auto_mode(ToolCallFormat::Mistral);
  const std::string text = "[TOOL_CALLS]get_weather[ARGS]{\"city\": \"Paris\", \"unit\": \"celsius\"}"
                           "[TOOL_CALLS]search[CALL_ID]a1B2c3D4e[ARGS]{\"query\":\"a [b] {c}\"}";
  const ParsedMessage m = parse_message(mode, text);
  CHECK_FALSE(m.content.has_value());
  REQUIRE(m.tool_calls.size() == 2);
  CHECK(m.tool_calls[0].name == "get_weather");
  CHECK(m.tool_calls[0].arguments == "{\"city\": \"Paris\", \"unit\": \"celsius\"}");
  CHECK(m.tool_calls[1].name == "search");
  CHECK(m.tool_calls[1].arguments == "{\"query\": \"a [b] {c}\"}");
  CHECK(m.tool_calls[1].id != "a1B2c3D4e");
  check_stream_matches(mode, text);
  // Decoded without control tokens, the name runs into its arguments: read the same.
  const ParsedMessage bare = parse_message(mode, "[TOOL_CALLS]get_weather{\"city\": \"Paris\"}");
  REQUIRE(bare.tool_calls.size() == 1);
  CHECK(bare.tool_calls[0].name == "get_weather");
}

TEST_CASE("mistral: text without [TOOL_CALLS] is content, brackets and all; a broken call falls back to text") {
  const ToolCallMode mode = auto_mode(ToolCallFormat::Mistral);
  const std::string plain = "[1, 2] are the answers: {\"a\": 1}";
  const ParsedMessage m = parse_message(mode, plain);
  CHECK(m.content == std::optional<std::string>(plain));
  CHECK(m.tool_calls.empty());
  check_stream_matches(mode, plain);
  for (const std::string broken : {"[TOOL_CALLS][{\"name\": \"f\", \"arguments\": {\"x\": ",
                                   "[TOOL_CALLS]f[ARGS]{\"x\": tru", "[TOOL_CALLS]", "[TOOL_CALLS][{\"arguments\": {}}]"}) {
    INFO(broken);
    const ParsedMessage b = parse_message(mode, broken);
    CHECK(b.content == std::optional<std::string>(broken));
    CHECK(b.tool_calls.empty());
  }
}
