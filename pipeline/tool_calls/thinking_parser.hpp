#pragma once
// Reasoning between <think> and </think> (Qwen3, QwQ, DeepSeek-R1 and its distills), [THINK] and
// [/THINK] (Mistral's) or <seed:think> and </seed:think> (Seed-OSS), split off as the message's
// `reasoning` when the server runs with vLLM's --reasoning-parser, as vLLM's deepseek_r1, qwen3,
// mistral and seed_oss parsers split it; the rest is
// content, read by the request's tool-call parser when it has one.
//
//   deepseek_r1  the reply starts in reasoning (R1's templates open <think> in the prompt; a
//                leading <think> the model writes itself is dropped) and </think> ends it. Without
//                </think> the whole reply is reasoning.
//   qwen3        the reply is reasoning only when it starts with <think> (Qwen3 writes it; with
//                enable_thinking false it writes none, and the reply is content); </think> ends it.
//                When the prompt itself opened <think> (Qwen3.5's and Qwen3-Thinking-2507's
//                templates end the prompt so), the reply starts in reasoning: deepseek_r1's rule, as
//                vLLM's qwen3 parser reads such replies (reasoning up to </think>).
//   seed_oss     deepseek_r1's rule between <seed:think> and </seed:think> (Seed-OSS).
//   minimax_m2_append_think  nothing split: the reply (its template opened <think> in the prompt)
//                is content with "<think>" put in front, for clients that fold think blocks
//                themselves (vLLM's name; minimax_m2 is deepseek_r1's rule).
//   granite      qwen3's rule with Granite 3.2/3.3's phrases for tags: the reply reasons when it
//                starts with "Here is my thought process:" (or "Here's my thought process:"), and
//                "Here is my response:" (or "Here's ...") ends the reasoning.
//   gemma4       qwen3's rule between <|channel>thought and <channel|>, the whitespace after
//                "thought" dropped; a <|tool_call> ends the thoughts too (vLLM's reading), going on to
//                the call parser (Gemma 4's thinking channel; with enable_thinking false its template
//                closes an empty channel in the prompt, and the reply is content).
//   mistral      reasoning from the first [THINK] to the next [/THINK], wherever it comes; text
//                around them is content, a [/THINK] without a [THINK] before it is dropped, and a
//                reply without [THINK] is all content (Magistral and Ministral 3 Reasoning write
//                [THINK] when their system prompt asks them to think).
//
// Streaming and whole replies split alike: a leading <think> and a </think> are held back while
// only part of them has arrived.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "pipeline/tool_calls/tool_call_mode.hpp"
#include "pipeline/tool_calls/tool_call_parser.hpp"

namespace troupe {

// The texts that open and close a reply's reasoning in `format` (one token each in the
// vocabularies of these models).
std::string_view reasoning_start(ReasoningFormat format);
std::string_view reasoning_end(ReasoningFormat format);

// Where a reasoning model's structured output (response_format, a forced tool call) starts: vLLM
// applies its grammar only after the reasoning, so the model thinks first and then answers in the
// required form. Returns the token the grammar waits for (`end_token`, the vocabulary's
// reasoning_end) when the reply begins in reasoning: a <think> format is set, the vocabulary has
// the token, and the prompt does not already close the reasoning — end with it, nothing but
// whitespace after it (`text_of` gives the text of prompt ids), as Qwen3's and GLM-4.5's templates
// with enable_thinking false close an empty one. (vLLM looks for the token anywhere in the prompt,
// so an earlier turn's reasoning kept in the history would constrain a reply from its first token.)
// nullopt: the grammar applies from the first token — always for mistral, whose reply reasons only
// when the model opens [THINK] itself (vLLM's wait for a [/THINK] that may never come would leave
// such a reply unconstrained).
std::optional<int32_t> grammar_start_token(ReasoningFormat format, std::optional<int32_t> end_token,
                                           std::span<const int32_t> prompt,
                                           const std::function<std::string(std::span<const int32_t>)>& text_of);

// Whether a prompt ends inside a reasoning block its chat template opened: for the qwen3 format,
// its text (`text_of` gives the text of prompt ids) ends with <think> and nothing but whitespace
// after it. Then the reply starts in reasoning (ToolCallMode::reasoning_opened).
bool prompt_opens_reasoning(ReasoningFormat format, std::span<const int32_t> prompt,
                            const std::function<std::string(std::span<const int32_t>)>& text_of);

class ThinkingParser : public ToolCallParser {
 public:
  // `content` reads what follows the reasoning (nullptr: it is plain content). `opened`: the prompt
  // opened the reasoning (prompt_opens_reasoning), so a qwen3 reply starts in it.
  ThinkingParser(ReasoningFormat format, std::unique_ptr<ToolCallParser> content, bool opened = false)
      : format_(opened && format == ReasoningFormat::Qwen3 ? ReasoningFormat::DeepSeekR1 : format),
        content_(std::move(content)) {}

  MessageDelta push(std::string_view text) override;
  MessageDelta finish() override;
  int calls() const override { return content_ ? content_->calls() : 0; }
  bool failed() const override { return content_ && content_->failed(); }
  bool content_null_when_empty() const override { return !content_ || content_->content_null_when_empty(); }

 private:
  // BeforeReasoning: mistral's content until its first [THINK].
  enum class State { Start, BeforeReasoning, Reasoning, Content };
  void drain(MessageDelta& out, bool at_end);
  void to_content(std::string_view text, MessageDelta& out);

  ReasoningFormat format_;
  std::unique_ptr<ToolCallParser> content_;
  State state_ = State::Start;
  bool reasoned_ = false;  // some reasoning text came (Gemma 4's leading whitespace is dropped before it)
  std::string pending_;
};

}  // namespace troupe
