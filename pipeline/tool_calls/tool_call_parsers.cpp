#include "pipeline/tool_calls/tool_call_parsers.hpp"

#include <algorithm>

#include "pipeline/tool_calls/harmony_parser.hpp"
#include "pipeline/tool_calls/thinking_parser.hpp"
#include "pipeline/tool_calls/gemma4_call_parser.hpp"
#include "pipeline/tool_calls/kimi_k2_call_parser.hpp"
#include "pipeline/tool_calls/glm_call_parser.hpp"
#include "pipeline/tool_calls/granite_call_parser.hpp"
#include "pipeline/tool_calls/nemotron_call_parser.hpp"
#include "pipeline/tool_calls/pythonic_call_parser.hpp"
#include "pipeline/tool_calls/xml_call_parser.hpp"

namespace troupe {

namespace {

constexpr std::string_view kHermesOpen = "<tool_call>";
constexpr std::string_view kHermesClose = "</tool_call>";
// What may come before Llama 3's calls (<|python_tag|>) and Llama 4's (its template writes a call
// message as <|python_start|>content<|python_end|> and the JSON; the tags' text reaches the parser
// when special tokens are kept).
constexpr std::string_view kCallTags[] = {"<|python_tag|>", "<|python_start|>", "<|python_end|>"};
constexpr std::string_view kMistralCalls = "[TOOL_CALLS]";
constexpr std::string_view kMistralArgs = "[ARGS]";
constexpr std::string_view kMistralCallId = "[CALL_ID]";

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

bool all_space(std::string_view text) {
  for (char c : text) {
    if (!is_space(c)) return false;
  }
  return true;
}

std::size_t first_non_space(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size() && is_space(text[i])) ++i;
  return i;
}

}  // namespace

// --- CallDeltas --------------------------------------------------------------------------------

void CallDeltas::start() {
  scanner_.emplace(argument_keys_);
  index_ = sent_;
  name_sent_ = false;
  held_arguments_.clear();
}

void CallDeltas::emit(MessageDelta& out) {
  if (!scanner_) return;
  std::string arguments = scanner_->take_arguments();
  if (!name_sent_) {
    held_arguments_ += arguments;
    if (!scanner_->name()) return;
    // OpenAI's shape: the call's first delta has its id, name and empty arguments; the argument
    // text read so far follows as a delta of its own.
    out.tool_calls.push_back(ToolCallDelta{index_, make_id_(), *scanner_->name(), std::string()});
    if (!held_arguments_.empty()) out.tool_calls.push_back(ToolCallDelta{index_, std::nullopt, std::nullopt, std::move(held_arguments_)});
    held_arguments_.clear();
    name_sent_ = true;
    ++sent_;
    return;
  }
  if (!arguments.empty()) out.tool_calls.push_back(ToolCallDelta{index_, std::nullopt, std::nullopt, std::move(arguments)});
}

// --- Hermes ------------------------------------------------------------------------------------

MessageDelta HermesParser::push(std::string_view text) {
  MessageDelta out;
  pending_ += text;
  for (;;) {
    if (state_ == State::Text) {
      const std::size_t open = pending_.find(kHermesOpen);
      if (open != std::string::npos) {
        // Text before the first call is the message's content; text between or after calls is
        // dropped, as vLLM's non-streaming reply drops it.
        if (!seen_call_) out.content += pending_.substr(0, open);
        pending_.erase(0, open + kHermesOpen.size());
        seen_call_ = true;
        deltas_.start();
        state_ = State::Call;
        continue;
      }
      const std::size_t keep = partial_tag_suffix(pending_, kHermesOpen);
      if (!seen_call_) out.content += pending_.substr(0, pending_.size() - keep);
      pending_.erase(0, pending_.size() - keep);
      return out;
    }
    if (state_ == State::Call) {
      CallObjectScanner& scanner = deltas_.scanner();
      const std::size_t used = scanner.push(pending_);
      pending_.erase(0, used);
      deltas_.emit(out);
      if (scanner.failed()) {
        failed_ = true;
        state_ = State::AfterCall;
        continue;
      }
      if (!scanner.complete()) return out;
      state_ = State::AfterCall;
      continue;
    }
    // AfterCall: expect (blanks and) the closing tag.
    const std::size_t close = pending_.find(kHermesClose);
    if (close != std::string::npos) {
      if (!all_space(std::string_view(pending_).substr(0, close))) failed_ = true;
      pending_.erase(0, close + kHermesClose.size());
      state_ = State::Text;
      continue;
    }
    const std::size_t keep = partial_tag_suffix(pending_, kHermesClose);
    if (!all_space(std::string_view(pending_).substr(0, pending_.size() - keep))) failed_ = true;
    pending_.erase(0, pending_.size() - keep);
    return out;
  }
}

MessageDelta HermesParser::finish() {
  MessageDelta out;
  if (state_ == State::Text && !seen_call_) out.content = std::move(pending_);
  if (state_ == State::Call) {
    deltas_.scanner().finish();
    deltas_.emit(out);
    failed_ = true;
  }
  pending_.clear();
  return out;
}

// --- Llama 3 JSON ------------------------------------------------------------------------------

MessageDelta Llama3JsonParser::push(std::string_view text) {
  MessageDelta out;
  pending_ += text;
  for (;;) {
    switch (state_) {
      case State::Undecided: {
        const std::size_t start = first_non_space(pending_);
        const std::string_view rest = std::string_view(pending_).substr(start);
        if (rest.empty()) return out;
        const auto tag = std::find_if(std::begin(kCallTags), std::end(kCallTags),
                                      [&](std::string_view t) { return rest.starts_with(t); });
        if (tag != std::end(kCallTags)) {
          pending_.erase(0, start + tag->size());
          continue;
        }
        if (std::any_of(std::begin(kCallTags), std::end(kCallTags),
                        [&](std::string_view t) { return t.starts_with(rest); })) {
          return out;  // maybe a tag, still arriving
        }
        if (rest.front() == '{') {
          pending_.erase(0, start);
          deltas_.start();
          state_ = State::Call;
        } else {
          state_ = State::Text;
        }
        continue;
      }
      case State::Text:
        out.content += pending_;
        pending_.clear();
        return out;
      case State::Call: {
        CallObjectScanner& scanner = deltas_.scanner();
        const std::size_t used = scanner.push(pending_);
        pending_.erase(0, used);
        deltas_.emit(out);
        if (scanner.failed()) {
          failed_ = true;
          state_ = State::Ignore;
          continue;
        }
        if (!scanner.complete()) return out;
        state_ = State::Between;
        continue;
      }
      case State::Between: {
        const std::size_t start = first_non_space(pending_);
        if (start == pending_.size()) {
          pending_.clear();
          return out;
        }
        if (pending_[start] == ';') {
          pending_.erase(0, start + 1);
          deltas_.start();
          state_ = State::Call;
        } else {
          state_ = State::Ignore;  // anything else ends the calls; vLLM ignores it too
        }
        continue;
      }
      case State::Ignore:
        pending_.clear();
        return out;
    }
  }
}

MessageDelta Llama3JsonParser::finish() {
  MessageDelta out;
  if (state_ == State::Undecided || state_ == State::Text) out.content = std::move(pending_);
  if (state_ == State::Call) {
    deltas_.scanner().finish();
    deltas_.emit(out);
    failed_ = true;
  }
  pending_.clear();
  return out;
}

// --- tool_choice "required" --------------------------------------------------------------------

MessageDelta RequiredCallsParser::push(std::string_view text) {
  MessageDelta out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const char c = text[pos];
    switch (state_) {
      case State::Open:
        if (!is_space(c)) {
          if (c == '[') {
            state_ = State::ElementOrEnd;
          } else {
            failed_ = true;
            state_ = State::Done;
          }
        }
        ++pos;
        break;
      case State::ElementOrEnd:
        if (is_space(c)) {
          ++pos;
        } else if (c == ']') {
          state_ = State::Done;
          ++pos;
        } else {
          deltas_.start();
          state_ = State::Element;
        }
        break;
      case State::Element: {
        CallObjectScanner& scanner = deltas_.scanner();
        pos += scanner.push(text.substr(pos));
        deltas_.emit(out);
        if (scanner.failed()) {
          failed_ = true;
          state_ = State::Done;
        } else if (scanner.complete()) {
          state_ = State::CommaOrEnd;
        }
        break;
      }
      case State::CommaOrEnd:
        if (c == ',') {
          deltas_.start();
          state_ = State::Element;
        } else if (c == ']') {
          state_ = State::Done;
        } else if (!is_space(c)) {
          failed_ = true;
          state_ = State::Done;
        }
        ++pos;
        break;
      case State::Done:
        pos = text.size();
        break;
    }
  }
  return out;
}

MessageDelta RequiredCallsParser::finish() {
  MessageDelta out;
  if (state_ == State::Element) {
    deltas_.scanner().finish();
    deltas_.emit(out);
  }
  if (state_ != State::Done || deltas_.calls() == 0) failed_ = true;
  return out;
}

// --- Mistral -----------------------------------------------------------------------------------

void MistralParser::start_arguments(MessageDelta& out) {
  // The name is complete: the call's first delta, then the arguments as they are read.
  std::size_t begin = first_non_space(name_), end = name_.size();
  while (end > begin && is_space(name_[end - 1])) --end;
  if (end == begin) failed_ = true;
  out.tool_calls.push_back(ToolCallDelta{calls(), make_mistral_tool_call_id(), name_.substr(begin, end - begin), std::string()});
  ++named_calls_;
  name_.clear();
  arguments_.emplace();
  state_ = State::Arguments;
}

MessageDelta MistralParser::push(std::string_view text) {
  MessageDelta out;
  pending_ += text;
  for (;;) {
    switch (state_) {
      case State::Text: {
        const std::size_t open = pending_.find(kMistralCalls);
        if (open != std::string::npos) {
          out.content += pending_.substr(0, open);
          pending_.erase(0, open + kMistralCalls.size());
          state_ = State::Undecided;
          continue;
        }
        const std::size_t keep = partial_tag_suffix(pending_, kMistralCalls);
        out.content += pending_.substr(0, pending_.size() - keep);
        pending_.erase(0, pending_.size() - keep);
        return out;
      }
      case State::Undecided: {  // after the first [TOOL_CALLS]: an array, or a name
        const std::size_t start = first_non_space(pending_);
        if (start == pending_.size()) return out;
        pending_.erase(0, start);
        state_ = pending_.front() == '[' ? State::Array : State::Name;
        continue;
      }
      case State::Array:
        out.append(array_.push(pending_));
        pending_.clear();
        if (array_.failed()) failed_ = true;
        return out;
      case State::Name: {
        // name[ARGS]{...}, name[CALL_ID]id[ARGS]{...}, or name{...} where control tokens were dropped.
        const std::size_t args = pending_.find(kMistralArgs);
        const std::size_t call_id = pending_.find(kMistralCallId);
        const std::size_t brace = pending_.find('{');
        const std::size_t end = std::min({args, call_id, brace});
        if (end == std::string::npos) {
          const std::size_t keep = std::max(partial_tag_suffix(pending_, kMistralArgs), partial_tag_suffix(pending_, kMistralCallId));
          name_ += pending_.substr(0, pending_.size() - keep);
          pending_.erase(0, pending_.size() - keep);
          return out;
        }
        name_ += pending_.substr(0, end);
        if (end == call_id) {  // the model's own id, up to [ARGS]: replaced by ours
          pending_.erase(0, end + kMistralCallId.size());
          state_ = State::CallId;
          continue;
        }
        pending_.erase(0, end == args ? end + kMistralArgs.size() : end);
        start_arguments(out);
        continue;
      }
      case State::CallId: {
        const std::size_t args = pending_.find(kMistralArgs);
        if (args == std::string::npos) {
          pending_.erase(0, pending_.size() - partial_tag_suffix(pending_, kMistralArgs));
          return out;
        }
        pending_.erase(0, args + kMistralArgs.size());
        start_arguments(out);
        continue;
      }
      case State::Arguments: {
        const std::size_t used = arguments_->push(pending_);
        pending_.erase(0, used);
        if (std::string fragment = arguments_->take_output(); !fragment.empty()) {
          out.tool_calls.push_back(ToolCallDelta{calls() - 1, std::nullopt, std::nullopt, std::move(fragment)});
        }
        if (arguments_->failed()) {
          failed_ = true;
          state_ = State::Ignore;
          continue;
        }
        if (!arguments_->complete()) return out;
        state_ = State::Between;
        continue;
      }
      case State::Between: {  // another [TOOL_CALLS], or the end
        const std::string_view rest = std::string_view(pending_).substr(first_non_space(pending_));
        if (rest.starts_with(kMistralCalls)) {
          pending_.erase(0, pending_.size() - rest.size() + kMistralCalls.size());
          state_ = State::Name;
          continue;
        }
        if (kMistralCalls.starts_with(rest)) return out;  // nothing yet, or the tag still arriving
        state_ = State::Ignore;  // text after the calls is dropped, as vLLM drops it
        continue;
      }
      case State::Ignore:
        pending_.clear();
        return out;
    }
  }
}

MessageDelta MistralParser::finish() {
  MessageDelta out;
  switch (state_) {
    case State::Text: out.content = std::move(pending_); break;
    case State::Undecided: failed_ = true; break;  // [TOOL_CALLS] and nothing after it
    case State::Array:
      out.append(array_.finish());
      if (array_.failed()) failed_ = true;
      break;
    case State::Name:
    case State::CallId: failed_ = true; break;
    case State::Arguments:
      arguments_->finish();
      if (std::string fragment = arguments_->take_output(); !fragment.empty()) {
        out.tool_calls.push_back(ToolCallDelta{calls() - 1, std::nullopt, std::nullopt, std::move(fragment)});
      }
      if (!arguments_->complete()) failed_ = true;
      break;
    case State::Between:
    case State::Ignore: break;
  }
  pending_.clear();
  return out;
}

// --- a named function --------------------------------------------------------------------------

MessageDelta NamedCallParser::push(std::string_view text) {
  MessageDelta out;
  if (text.empty()) return out;
  if (!started_) {  // first the call with empty arguments, as OpenAI streams it
    started_ = true;
    out.tool_calls.push_back(ToolCallDelta{0, make_tool_call_id(), name_, std::string()});
  }
  out.tool_calls.push_back(ToolCallDelta{0, std::nullopt, std::nullopt, std::string(text)});
  return out;
}

MessageDelta NamedCallParser::finish() {
  // An empty output is still the (empty) arguments of the named call.
  MessageDelta out;
  if (started_) return out;
  started_ = true;
  out.tool_calls.push_back(ToolCallDelta{0, make_tool_call_id(), name_, std::string()});
  return out;
}

// --- factory and whole messages ----------------------------------------------------------------

namespace {

std::unique_ptr<ToolCallParser> make_content_parser(const ToolCallMode& mode) {
  switch (mode.kind) {
    case ToolCallMode::Kind::None:
      return mode.format == ToolCallFormat::Harmony ? std::make_unique<HarmonyParser>(/*calls=*/false) : nullptr;
    case ToolCallMode::Kind::Auto:
      switch (mode.format) {
        case ToolCallFormat::Harmony: return std::make_unique<HarmonyParser>(/*calls=*/true);
        case ToolCallFormat::Qwen3Coder: return std::make_unique<XmlCallParser>(mode.parameter_types);
        case ToolCallFormat::Glm45: return std::make_unique<GlmCallParser>(mode.parameter_types);
        case ToolCallFormat::MinimaxM2: return std::make_unique<XmlCallParser>(mode.parameter_types, kMinimaxM2Calls);
        case ToolCallFormat::SeedOss: return std::make_unique<XmlCallParser>(mode.parameter_types, kSeedOssCalls);
        case ToolCallFormat::Hermes: return std::make_unique<HermesParser>();
        case ToolCallFormat::Llama3Json: return std::make_unique<Llama3JsonParser>();
        case ToolCallFormat::Mistral: return std::make_unique<MistralParser>();
        case ToolCallFormat::Lfm2: return std::make_unique<PythonicCallParser>(kLfm2Calls);
        case ToolCallFormat::Pythonic: return std::make_unique<PythonicCallParser>(kPythonicCalls);
        case ToolCallFormat::Granite: return std::make_unique<GraniteCallParser>();
        case ToolCallFormat::NemotronJson: return std::make_unique<NemotronCallParser>();
        case ToolCallFormat::Gemma4: return std::make_unique<Gemma4CallParser>();
        case ToolCallFormat::KimiK2: return std::make_unique<KimiK2CallParser>();
      }
      return nullptr;
    case ToolCallMode::Kind::Required: return std::make_unique<RequiredCallsParser>();
    case ToolCallMode::Kind::Named: return std::make_unique<NamedCallParser>(mode.function_name);
  }
  return nullptr;
}

}  // namespace

std::unique_ptr<ToolCallParser> make_tool_call_parser(const ToolCallMode& mode) {
  std::unique_ptr<ToolCallParser> content = make_content_parser(mode);
  // A forced call's JSON follows the reasoning too: its grammar starts after it (grammar_start_token).
  if (mode.reasoning == ReasoningFormat::None || mode.format == ToolCallFormat::Harmony) return content;
  return std::make_unique<ThinkingParser>(mode.reasoning, std::move(content), mode.reasoning_opened);
}

ParsedMessage parse_message(const ToolCallMode& mode, std::string_view text) {
  ParsedMessage message;
  std::unique_ptr<ToolCallParser> parser = make_tool_call_parser(mode);
  if (!parser) {
    message.content = std::string(text);
    return message;
  }
  MessageDelta all = parser->push(text);
  all.append(parser->finish());
  if (mode.kind == ToolCallMode::Kind::Named) {
    // The whole output (after any reasoning) is the arguments, even when empty.
    message.content = "";
    std::string arguments;
    for (const ToolCallDelta& delta : all.tool_calls) arguments += delta.arguments.value_or("");
    message.tool_calls.push_back(ToolCall{make_tool_call_id(), mode.function_name, std::move(arguments)});
    if (!all.reasoning.empty()) message.reasoning = std::move(all.reasoning);
    return message;
  }
  if (parser->failed()) {
    message.content = std::string(text);
    return message;
  }
  for (ToolCallDelta& delta : all.tool_calls) {
    if (delta.id) {
      message.tool_calls.push_back(ToolCall{*delta.id, delta.name.value_or(""), delta.arguments.value_or("")});
    } else if (!message.tool_calls.empty() && delta.arguments) {
      message.tool_calls.back().arguments += *delta.arguments;
    }
  }
  if (!all.content.empty() || !parser->content_null_when_empty()) message.content = std::move(all.content);
  if (!all.reasoning.empty()) message.reasoning = std::move(all.reasoning);
  return message;
}

}  // namespace troupe
