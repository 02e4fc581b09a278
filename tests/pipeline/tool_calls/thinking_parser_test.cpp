// Reasoning between <think> and </think> split off as vLLM's deepseek_r1 and qwen3 reasoning
// parsers split it, whole and cut into every piece size; with a tool-call format, the calls are
// read from what follows the reasoning.
#include <catch2/catch.hpp>

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "pipeline/tool_calls/thinking_parser.hpp"
#include "pipeline/tool_calls/tool_call_parser.hpp"
#include "tests/pipeline/tool_calls/parser_pieces.hpp"

using namespace troupe;

namespace {

MessageDelta streamed(const std::string& text, std::size_t piece, const ToolCallMode& mode) {
  auto parser = make_tool_call_parser(mode);
  REQUIRE(parser);
  return test::fed_in_pieces(*parser, text, piece);
}

ToolCallMode plain(ReasoningFormat reasoning) {
  ToolCallMode mode;
  mode.reasoning = reasoning;
  return mode;
}

}  // namespace

TEST_CASE("deepseek_r1: the reply starts in reasoning, </think> ends it", "[tool_calls][reasoning]") {
  for (std::size_t piece : {1, 2, 3, 7, 1000}) {
    INFO("piece " << piece);
    // R1's template opens <think> in the prompt: the reply starts inside it.
    MessageDelta r1 = streamed("Add them: 4.\n</think>\n\nThe sum is 4.", piece, plain(ReasoningFormat::DeepSeekR1));
    CHECK(r1.reasoning == "Add them: 4.\n");
    CHECK(r1.content == "\n\nThe sum is 4.");
    // A <think> the model writes itself (R1-0528) is dropped.
    MessageDelta opened = streamed("<think>Hm</think>Yes", piece, plain(ReasoningFormat::DeepSeekR1));
    CHECK(opened.reasoning == "Hm");
    CHECK(opened.content == "Yes");
    // Cut off while thinking: all reasoning.
    MessageDelta cut = streamed("Still thinking about </thi", piece, plain(ReasoningFormat::DeepSeekR1));
    CHECK(cut.reasoning == "Still thinking about </thi");
    CHECK(cut.content.empty());
  }
}

TEST_CASE("qwen3: reasoning only when the reply opens <think>", "[tool_calls][reasoning]") {
  for (std::size_t piece : {1, 3, 1000}) {
    INFO("piece " << piece);
    MessageDelta thinking = streamed("<think>\nUser greets.\n</think>\n\nHello!", piece, plain(ReasoningFormat::Qwen3));
    CHECK(thinking.reasoning == "\nUser greets.\n");
    CHECK(thinking.content == "\n\nHello!");
    // enable_thinking false: the template closes an empty think block in the prompt.
    MessageDelta direct = streamed("Hello! <think> is a tag.", piece, plain(ReasoningFormat::Qwen3));
    CHECK(direct.reasoning.empty());
    CHECK(direct.content == "Hello! <think> is a tag.");
  }
  const ParsedMessage whole = parse_message(plain(ReasoningFormat::Qwen3), "<think>a</think>b");
  REQUIRE(whole.reasoning);
  CHECK(*whole.reasoning == "a");
  CHECK(whole.content == "b");
  const ParsedMessage none = parse_message(plain(ReasoningFormat::Qwen3), "just text");
  CHECK_FALSE(none.reasoning);
  CHECK(none.content == "just text");
}

TEST_CASE("granite: qwen3's rule with Granite 3.2/3.3's phrases, in both spellings", "[tool_calls][reasoning]") {
  const ToolCallMode granite = plain(ReasoningFormat::Granite);
  for (std::size_t piece : {1, 2, 5, 13, 1000}) {
    INFO("piece " << piece);
    MessageDelta is = streamed("Here is my thought process:\nThe user greets.\nHere is my response:\nHello!", piece, granite);
    CHECK(is.reasoning == "\nThe user greets.\n");
    CHECK(is.content == "\nHello!");
    MessageDelta contracted = streamed("Here's my thought process: sum 2+2. Here's my response: 4", piece, granite);
    CHECK(contracted.reasoning == " sum 2+2. ");
    CHECK(contracted.content == " 4");
    // Without thinking (the default: chat_template_kwargs thinking false) the reply is content,
    // the phrases in it as written.
    MessageDelta direct = streamed("Hello! Here is my response: hi.", piece, granite);
    CHECK(direct.reasoning.empty());
    CHECK(direct.content == "Hello! Here is my response: hi.");
    MessageDelta near = streamed("Here is my answer: 4", piece, granite);  // a start of the phrase, then not it
    CHECK(near.content == "Here is my answer: 4");
  }
  ReasoningFormat format = ReasoningFormat::None;
  bool harmony = true;
  REQUIRE(reasoning_format_from_name("granite", format, harmony));
  CHECK(format == ReasoningFormat::Granite);
}

TEST_CASE("mistral: reasoning from [THINK] to [/THINK], the text around it content", "[tool_calls][reasoning]") {
  const ToolCallMode mode = plain(ReasoningFormat::Mistral);
  for (std::size_t piece : {1, 2, 5, 1000}) {
    INFO("piece " << piece);
    MessageDelta thinking = streamed("[THINK]The user greets.[/THINK]Hello!", piece, mode);
    CHECK(thinking.reasoning == "The user greets.");
    CHECK(thinking.content == "Hello!");
    // Without [THINK] the reply is content (vLLM's mistral parser; deepseek_r1's rule would make it reasoning).
    MessageDelta direct = streamed("Hello [there].", piece, mode);
    CHECK(direct.reasoning.empty());
    CHECK(direct.content == "Hello [there].");
    // Text before [THINK] is content; a [/THINK] with no [THINK] before it is dropped.
    MessageDelta late = streamed("Hm. [THINK]a[/THINK]b", piece, mode);
    CHECK(late.reasoning == "a");
    CHECK(late.content == "Hm. b");
    MessageDelta stray = streamed("x[/THINK]y", piece, mode);
    CHECK(stray.reasoning.empty());
    CHECK(stray.content == "xy");
    // Cut off while thinking: reasoning, and a partial tag at the end is text.
    MessageDelta cut = streamed("[THINK]still [/TH", piece, mode);
    CHECK(cut.reasoning == "still [/TH");
    MessageDelta open_cut = streamed("ok [THI", piece, mode);
    CHECK(open_cut.content == "ok [THI");
  }
  const ParsedMessage whole = parse_message(mode, "[THINK]a[/THINK]b");
  REQUIRE(whole.reasoning);
  CHECK(*whole.reasoning == "a");
  CHECK(whole.content == "b");
  // With Mistral's tool calls after the reasoning (Ministral 3 Reasoning with tools).
  ToolCallMode tools{ToolCallMode::Kind::Auto, ToolCallFormat::Mistral};
  tools.reasoning = ReasoningFormat::Mistral;
  const ParsedMessage call = parse_message(tools, R"([THINK]Need the weather.[/THINK][TOOL_CALLS]w[ARGS]{"city": "Oslo"})");
  REQUIRE(call.tool_calls.size() == 1);
  CHECK(call.tool_calls[0].name == "w");
  CHECK(call.tool_calls[0].arguments == R"({"city": "Oslo"})");
  REQUIRE(call.reasoning);
  CHECK(*call.reasoning == "Need the weather.");
  // Structured output applies from the first token: the model may never open [THINK].
  CHECK_FALSE(grammar_start_token(ReasoningFormat::Mistral, 51, std::vector<int32_t>{1, 2},
                                  [](std::span<const int32_t>) { return std::string(); }));
}

TEST_CASE("minimax_m2 splits as deepseek_r1; minimax_m2_append_think keeps the reply as content, <think> in front",
          "[tool_calls][reasoning]") {
  ReasoningFormat format;
  bool harmony = false;
  REQUIRE(reasoning_format_from_name("minimax_m2", format, harmony));
  CHECK(format == ReasoningFormat::DeepSeekR1);
  REQUIRE(reasoning_format_from_name("minimax_m2_append_think", format, harmony));
  CHECK(format == ReasoningFormat::AppendThink);
  for (std::size_t piece : {1, 3, 1000}) {
    INFO("piece " << piece);
    const MessageDelta all = streamed("Plan it.\n</think>\n\nDone.", piece, plain(ReasoningFormat::AppendThink));
    CHECK(all.reasoning.empty());
    CHECK(all.content == "<think>Plan it.\n</think>\n\nDone.");
  }
  const ParsedMessage whole = parse_message(plain(ReasoningFormat::AppendThink), "a</think>b");
  CHECK_FALSE(whole.reasoning);
  CHECK(whole.content == "<think>a</think>b");
  // With MiniMax-M2's calls after it, the calls are still read from the content.
  ToolCallMode tools{ToolCallMode::Kind::Auto, ToolCallFormat::MinimaxM2};
  tools.reasoning = ReasoningFormat::AppendThink;
  const ParsedMessage call = parse_message(
      tools, "Weather.</think>\n<minimax:tool_call>\n<invoke name=\"w\">\n<parameter name=\"city\">Oslo</parameter>\n"
             "</invoke>\n</minimax:tool_call>");
  REQUIRE(call.tool_calls.size() == 1);
  CHECK(call.tool_calls[0].arguments == R"({"city": "Oslo"})");
  CHECK(call.content == "<think>Weather.</think>\n");
}

TEST_CASE("reasoning then a Hermes tool call (Qwen3 with tools)", "[tool_calls][reasoning]") {
  ToolCallMode mode{ToolCallMode::Kind::Auto, ToolCallFormat::Hermes};
  mode.reasoning = ReasoningFormat::Qwen3;
  const std::string reply =
      "<think>\nNeed weather.\n</think>\n\n<tool_call>\n{\"name\": \"w\", \"arguments\": {\"city\": \"Oslo\"}}\n</tool_call>";
  for (std::size_t piece : {1, 5, 1000}) {
    INFO("piece " << piece);
    const MessageDelta all = streamed(reply, piece, mode);
    CHECK(all.reasoning == "\nNeed weather.\n");
    REQUIRE_FALSE(all.tool_calls.empty());
    CHECK(all.tool_calls.front().name == "w");
  }
  const ParsedMessage message = parse_message(mode, reply);
  REQUIRE(message.tool_calls.size() == 1);
  CHECK(message.tool_calls[0].arguments == R"({"city": "Oslo"})");
  REQUIRE(message.reasoning);
  CHECK(*message.reasoning == "\nNeed weather.\n");
}

TEST_CASE("forced calls follow the reasoning, as their grammar starts after it (vLLM's order)",
          "[tool_calls][reasoning]") {
  ToolCallMode required{ToolCallMode::Kind::Required, ToolCallFormat::Hermes};
  required.reasoning = ReasoningFormat::DeepSeekR1;
  const std::string reply = "Weather first.</think>\n\n[{\"name\": \"w\", \"parameters\": {\"city\": \"Oslo\"}}]";
  const ParsedMessage calls = parse_message(required, reply);
  REQUIRE(calls.tool_calls.size() == 1);
  CHECK(calls.tool_calls[0].name == "w");
  CHECK(calls.tool_calls[0].arguments == R"({"city": "Oslo"})");
  REQUIRE(calls.reasoning);
  CHECK(*calls.reasoning == "Weather first.");
  for (std::size_t piece : {1, 4, 1000}) {
    INFO("piece " << piece);
    const MessageDelta all = streamed(reply, piece, required);
    CHECK(all.reasoning == "Weather first.");
    REQUIRE_FALSE(all.tool_calls.empty());
    CHECK(all.tool_calls.front().name == "w");
  }

  ToolCallMode named{ToolCallMode::Kind::Named, ToolCallFormat::Hermes};
  named.function_name = "w";
  named.reasoning = ReasoningFormat::Qwen3;
  const ParsedMessage call = parse_message(named, "<think>Oslo.</think>{\"city\": \"Oslo\"}");
  REQUIRE(call.tool_calls.size() == 1);
  CHECK(call.tool_calls[0].name == "w");
  CHECK(call.tool_calls[0].arguments == R"({"city": "Oslo"})");
  REQUIRE(call.reasoning);
  CHECK(*call.reasoning == "Oslo.");
  // Qwen3 with enable_thinking false: no <think>, the grammar applied from the first token.
  const ParsedMessage direct = parse_message(named, "{\"city\": \"Bergen\"}");
  REQUIRE(direct.tool_calls.size() == 1);
  CHECK(direct.tool_calls[0].arguments == R"({"city": "Bergen"})");
  CHECK_FALSE(direct.reasoning);
}

TEST_CASE("the grammar of a reasoning model starts after </think>, unless the prompt closed it",
          "[tool_calls][reasoning]") {
  // Ids as text: 50 <think>, 51 </think>, 9 "\n\n", 3 "Hi", anything else "x".
  const auto text_of = [](std::span<const int32_t> ids) {
    std::string text;
    for (int32_t id : ids) text += id == 50 ? "<think>" : id == 51 ? "</think>" : id == 9 ? "\n\n" : id == 3 ? "Hi" : "x";
    return text;
  };
  const std::vector<int32_t> opened{1, 7, 50};            // ... <think> (R1's templates open it)
  const std::vector<int32_t> closed{1, 7, 50, 51, 9};     // ... <think></think>\n\n (enable_thinking false)
  const std::vector<int32_t> history{1, 50, 3, 51, 3, 7};  // an earlier turn's reasoning, then a new turn
  CHECK(grammar_start_token(ReasoningFormat::DeepSeekR1, 51, opened, text_of) == std::optional<int32_t>(51));
  CHECK(grammar_start_token(ReasoningFormat::Qwen3, 51, opened, text_of) == std::optional<int32_t>(51));
  CHECK_FALSE(grammar_start_token(ReasoningFormat::Qwen3, 51, closed, text_of));
  CHECK(grammar_start_token(ReasoningFormat::Qwen3, 51, history, text_of) == std::optional<int32_t>(51));
  CHECK_FALSE(grammar_start_token(ReasoningFormat::None, 51, opened, text_of));                 // no --reasoning-parser
  CHECK_FALSE(grammar_start_token(ReasoningFormat::DeepSeekR1, std::nullopt, opened, text_of));  // no </think> token
}

TEST_CASE("qwen3: a prompt that opened <think> (Qwen3.5's template) starts the reply in reasoning",
          "[tool_calls][reasoning]") {
  // Ids as text: 50 <think>, 51 </think>, 8 "\n", 9 "\n\n", anything else "x".
  const auto text_of = [](std::span<const int32_t> ids) {
    std::string text;
    for (int32_t id : ids) text += id == 50 ? "<think>" : id == 51 ? "</think>" : id == 8 ? "\n" : id == 9 ? "\n\n" : "x";
    return text;
  };
  CHECK(prompt_opens_reasoning(ReasoningFormat::Qwen3, std::vector<int32_t>{1, 7, 50, 8}, text_of));   // ...<think>\n
  CHECK_FALSE(prompt_opens_reasoning(ReasoningFormat::Qwen3, std::vector<int32_t>{1, 50, 8, 9, 51, 9}, text_of));  // closed
  CHECK_FALSE(prompt_opens_reasoning(ReasoningFormat::Qwen3, std::vector<int32_t>{1, 50, 7, 51, 7}, text_of));  // history
  CHECK_FALSE(prompt_opens_reasoning(ReasoningFormat::DeepSeekR1, std::vector<int32_t>{7, 50}, text_of));  // R1 starts there anyway
  CHECK_FALSE(prompt_opens_reasoning(ReasoningFormat::Qwen3, std::vector<int32_t>{}, text_of));
  ToolCallMode opened = plain(ReasoningFormat::Qwen3);
  opened.reasoning_opened = true;
  for (std::size_t piece : {1, 3, 1000}) {
    INFO("piece " << piece);
    MessageDelta thinking = streamed("User greets.\n</think>\n\nHello!", piece, opened);
    CHECK(thinking.reasoning == "User greets.\n");
    CHECK(thinking.content == "\n\nHello!");
    MessageDelta cut = streamed("Still thinking", piece, opened);  // cut off: all reasoning, as deepseek_r1
    CHECK(cut.reasoning == "Still thinking");
    CHECK(cut.content.empty());
  }
}
