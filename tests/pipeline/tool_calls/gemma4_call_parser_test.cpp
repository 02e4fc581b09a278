// Gemma 4's tool calls (gemma4_call_parser.hpp): <|tool_call>call:name{...}<tool_call|> in Gemma's
// notation, as its chat template writes the calls it shows the model (the template's own renderings,
// made by transformers, are read back here), and its thinking channel (--reasoning-parser gemma4).
// Fed whole and cut into pieces of every size, a reply gives the same message.
#include <catch2/catch.hpp>

#include <boost/json.hpp>
#include <string>

#include "pipeline/tool_calls/gemma4_call_parser.hpp"
#include "pipeline/tool_calls/tool_call_parser.hpp"
#include "tests/pipeline/tool_calls/parser_pieces.hpp"
#include "tests/support/fixtures.hpp"

using namespace troupe;
using troupe::test::arguments_of;
namespace json = boost::json;

namespace {

const ToolCallMode kGemma4{ToolCallMode::Kind::Auto, ToolCallFormat::Gemma4};

MessageDelta streamed(const ToolCallMode& mode, const std::string& text, std::size_t piece) {
  return test::fed_in_pieces(*make_tool_call_parser(mode), text, piece);
}

}  // namespace

TEST_CASE("gemma4: the notation reads into JSON", "[tool_calls][gemma4]") {
  CHECK(gemma4_value_json(R"(<|"|>Zürich, "old town"<|"|>)") == std::optional<std::string>(R"("Zürich, \"old town\"")"));
  CHECK(gemma4_value_json("{city:<|\"|>Paris<|\"|>,days:3,ratio:-0.25,exact:true,none:null}") ==
        std::optional<std::string>(R"({"city": "Paris", "days": 3, "ratio": -0.25, "exact": true, "none": null})"));
  CHECK(gemma4_value_json("{filter:{tags:[<|\"|>a<|\"|>,<|\"|>b<|\"|>],<|\"|>max size<|\"|>:10},empty:{},list:[]}") ==
        std::optional<std::string>(R"({"filter": {"tags": ["a", "b"], "max size": 10}, "empty": {}, "list": []})"));
  CHECK(gemma4_value_json("{ a : True , b : None , c : word }") ==
        std::optional<std::string>(R"({"a": true, "b": null, "c": "word"})"));
  // Plain JSON strings, as some templates write values ("key: \"value\""), escapes kept.
  CHECK(gemma4_value_json(R"({city: "Paris, \"center\"", n: 2})") ==
        std::optional<std::string>(R"({"city": "Paris, \"center\"", "n": 2})"));
  for (const char* bad : {"{a:1", "{a 1}", "[1,2", "{:1}", "<|\"|>open", "{a:1}}", ""}) {
    INFO(bad);
    CHECK_FALSE(gemma4_value_json(bad));
  }
}

TEST_CASE("gemma4: the calls Gemma 4's template writes read back as the calls it was given", "[tool_calls][gemma4]") {
  const json::object fixture = test::read_json(test::fixture("chat_template/gemma4.json")).as_object();
  int checked = 0;
  for (const json::value& c : fixture.at("cases").as_array()) {
    const json::object& entry = c.as_object();
    if (!entry.contains("expected")) continue;
    const std::string rendered(entry.at("expected").as_string());
    json::array calls;
    for (const json::value& m : entry.at("messages").as_array()) {
      if (const json::value* tc = m.as_object().if_contains("tool_calls"); tc != nullptr && tc->is_array()) {
        for (const json::value& call : tc->as_array()) calls.push_back(call);
      }
    }
    std::size_t at = 0;
    for (const json::value& call : calls) {
      const json::object& function = call.at("function").as_object();
      if (!function.at("arguments").is_object()) continue;  // a string is written as it is
      const std::size_t open = rendered.find("<|tool_call>", at), close = rendered.find("<tool_call|>", open);
      REQUIRE(close != std::string::npos);
      const std::string block = rendered.substr(open, close + 12 - open);
      at = close;
      INFO(block);
      const ParsedMessage m = parse_message(kGemma4, block);
      REQUIRE(m.tool_calls.size() == 1);
      CHECK(m.tool_calls[0].name == std::string(function.at("name").as_string()));
      CHECK(json::parse(m.tool_calls[0].arguments) == function.at("arguments"));
      ++checked;
    }
  }
  CHECK(checked >= 4);
}

TEST_CASE("gemma4: text, then calls; streamed in pieces as whole", "[tool_calls][gemma4]") {
  const std::string calls = "<|tool_call>call:get_weather{city:<|\"|>Zürich<|\"|>,days:2}<tool_call|>\n"
                            "<|tool_call>call:get_time{}<tool_call|>";
  for (const std::string before : {"", "Let me look that up.\n"}) {
    const std::string reply = before + calls;
    INFO("reply: " << reply);
    const ParsedMessage m = parse_message(kGemma4, reply);
    CHECK(m.content == (before.empty() ? std::nullopt : std::optional<std::string>(before)));
    REQUIRE(m.tool_calls.size() == 2);
    CHECK(m.tool_calls[0].name == "get_weather");
    CHECK(m.tool_calls[0].arguments == R"({"city": "Zürich", "days": 2})");
    CHECK(m.tool_calls[1].name == "get_time");
    CHECK(m.tool_calls[1].arguments == "{}");
    for (std::size_t piece : {1, 2, 3, 5, 13, 1000}) {
      INFO("pieces of " << piece);
      const MessageDelta all = streamed(kGemma4, reply, piece);
      CHECK(all.content == before);
      CHECK(arguments_of(all, 0) == m.tool_calls[0].arguments);
      CHECK(arguments_of(all, 1) == "{}");
    }
  }
}

TEST_CASE("gemma4: a reply without calls is content; a call that does not read fails the reply", "[tool_calls][gemma4]") {
  for (const std::string reply : {"The weather in Paris is sunny.", "Use <|tool for that.", "a < b"}) {
    INFO("reply: " << reply);
    const ParsedMessage m = parse_message(kGemma4, reply);
    CHECK(m.tool_calls.empty());
    CHECK(m.content == std::optional<std::string>(reply));
    for (std::size_t piece : {1, 4, 100}) CHECK(streamed(kGemma4, reply, piece).content == reply);
  }
  for (const std::string reply : {"<|tool_call>call:f{a:<|\"|>x}<tool_call|>", "<|tool_call>nothing<tool_call|>",
                                  "<|tool_call>call:f{a:1"}) {
    INFO("reply: " << reply);
    const ParsedMessage m = parse_message(kGemma4, reply);
    CHECK(m.tool_calls.empty());
    CHECK(m.content == std::optional<std::string>(reply));
  }
}

TEST_CASE("gemma4 reasoning: the thinking channel split off, the whitespace after \"thought\" dropped",
          "[tool_calls][gemma4]") {
  ToolCallMode mode;
  mode.reasoning = ReasoningFormat::Gemma4;
  const std::string reply = "<|channel>thought\nThe user wants Paris.\n<channel|>It is sunny in Paris.";
  for (std::size_t piece : {1, 2, 3, 7, 1000}) {
    INFO("pieces of " << piece);
    const MessageDelta all = streamed(mode, reply, piece);
    CHECK(all.reasoning == "The user wants Paris.\n");
    CHECK(all.content == "It is sunny in Paris.");
  }
  // Thinking off: the template closed an empty channel in the prompt, and the reply is content.
  CHECK(streamed(mode, "It is sunny.", 3).content == "It is sunny.");
  // With calls after the thoughts.
  ToolCallMode with_calls = kGemma4;
  with_calls.reasoning = ReasoningFormat::Gemma4;
  const ParsedMessage m =
      parse_message(with_calls, "<|channel>thought\nA lookup.<channel|><|tool_call>call:get_time{zone:<|\"|>UTC<|\"|>}<tool_call|>");
  CHECK(m.reasoning == std::optional<std::string>("A lookup."));
  REQUIRE(m.tool_calls.size() == 1);
  CHECK(m.tool_calls[0].arguments == R"({"zone": "UTC"})");
  // A call ends the thoughts when the model leaves out <channel|> (vLLM's reading), whole and streamed.
  const std::string unclosed = "<|channel>thought\nA lookup.<|tool_call>call:get_time{}<tool_call|>";
  const ParsedMessage cut = parse_message(with_calls, unclosed);
  CHECK(cut.reasoning == std::optional<std::string>("A lookup."));
  REQUIRE(cut.tool_calls.size() == 1);
  CHECK(cut.tool_calls[0].name == "get_time");
  for (std::size_t piece : {1, 3, 1000}) {
    const MessageDelta all = streamed(with_calls, unclosed, piece);
    CHECK(all.reasoning == "A lookup.");
    CHECK(arguments_of(all, 0) == "{}");
  }
}

TEST_CASE("gemma4 is a --tool-call-parser and a --reasoning-parser name", "[tool_calls][gemma4]") {
  ToolCallFormat format = ToolCallFormat::Hermes;
  REQUIRE(tool_call_format_from_name("gemma4", format));
  CHECK(format == ToolCallFormat::Gemma4);
  CHECK(tool_call_format_name(ToolCallFormat::Gemma4) == "gemma4");
  ReasoningFormat reasoning = ReasoningFormat::None;
  bool harmony = true;
  REQUIRE(reasoning_format_from_name("gemma4", reasoning, harmony));
  CHECK(reasoning == ReasoningFormat::Gemma4);
  CHECK_FALSE(harmony);
}
