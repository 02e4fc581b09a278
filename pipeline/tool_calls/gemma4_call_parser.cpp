#include "pipeline/tool_calls/gemma4_call_parser.hpp"

#include "pipeline/structured_output/json_text.hpp"
#include "pipeline/tool_calls/call_object_scanner.hpp"  // partial_tag_suffix, trim
#include "pipeline/tool_calls/xml_call_parser.hpp"      // whole_json_value

namespace troupe {
namespace {

using structured_output::json_quote;  // Python's json.dumps of a string, ensure_ascii=False

constexpr std::string_view kOpen = "<|tool_call>", kClose = "<tool_call|>", kQuote = "<|\"|>", kCall = "call:";

// A recursive-descent reader of Gemma's notation over `s` from `at`, writing JSON into `out`.
class NotationReader {
 public:
  explicit NotationReader(std::string_view s) : s_(s) {}

  bool value(std::string& out, int depth = 0) {
    if (depth > 64) return false;  // nesting no tool's arguments need
    blanks();
    if (s_.substr(at_).starts_with(kQuote)) {
      std::string text;
      if (!quoted(text)) return false;
      out += json_quote(text);
      return true;
    }
    if (at_ < s_.size() && s_[at_] == '"') return json_string(out);  // key: "value", as some templates write it
    if (at_ < s_.size() && s_[at_] == '{') return object(out, depth);
    if (at_ < s_.size() && s_[at_] == '[') return array(out, depth);
    return scalar(out);
  }
  bool at_end() {
    blanks();
    return at_ == s_.size();
  }
  std::size_t position() const { return at_; }

 private:
  void blanks() {
    while (at_ < s_.size() && (s_[at_] == ' ' || s_[at_] == '\t' || s_[at_] == '\n' || s_[at_] == '\r')) ++at_;
  }
  bool take(char c) {
    blanks();
    if (at_ >= s_.size() || s_[at_] != c) return false;
    ++at_;
    return true;
  }
  // <|"|>text<|"|>, the marks' text taken whole.
  bool quoted(std::string& text) {
    at_ += kQuote.size();
    const std::size_t end = s_.find(kQuote, at_);
    if (end == std::string_view::npos) return false;
    text = std::string(s_.substr(at_, end - at_));
    at_ = end + kQuote.size();
    return true;
  }
  // A JSON string literal, escapes and all, taken as it is.
  bool json_string(std::string& out) {
    std::size_t end = at_ + 1;
    while (end < s_.size() && s_[end] != '"') end += s_[end] == '\\' ? 2 : 1;
    if (end >= s_.size()) return false;
    const std::string literal = whole_json_value(s_.substr(at_, end + 1 - at_));
    if (literal.empty()) return false;
    out += literal;
    at_ = end + 1;
    return true;
  }
  bool object(std::string& out, int depth) {
    ++at_;  // '{'
    out += '{';
    if (take('}')) return out += '}', true;
    for (bool first = true;; first = false) {
      if (!first) out += ", ";
      blanks();
      std::string key;
      if (s_.substr(at_).starts_with(kQuote)) {
        if (!quoted(key)) return false;
      } else {  // a bare key: up to its ':'
        const std::size_t colon = s_.find_first_of(":}", at_);
        if (colon == std::string_view::npos || s_[colon] != ':') return false;
        key = std::string(trim(s_.substr(at_, colon - at_)));
        at_ = colon;
        if (key.empty()) return false;
      }
      if (!take(':')) return false;
      out += json_quote(key) + ": ";
      if (!value(out, depth + 1)) return false;
      if (take('}')) return out += '}', true;
      if (!take(',')) return false;
    }
  }
  bool array(std::string& out, int depth) {
    ++at_;  // '['
    out += '[';
    if (take(']')) return out += ']', true;
    for (bool first = true;; first = false) {
      if (!first) out += ", ";
      if (!value(out, depth + 1)) return false;
      if (take(']')) return out += ']', true;
      if (!take(',')) return false;
    }
  }
  // A literal or a number up to the next ',', '}' or ']'; Python's spellings of the literals too.
  bool scalar(std::string& out) {
    const std::size_t end = s_.find_first_of(",}]", at_);
    const std::string_view word = trim(s_.substr(at_, end == std::string_view::npos ? s_.size() - at_ : end - at_));
    if (word.empty()) return false;
    at_ = end == std::string_view::npos ? s_.size() : end;
    if (word == "true" || word == "True") return out += "true", true;
    if (word == "false" || word == "False") return out += "false", true;
    if (word == "null" || word == "None") return out += "null", true;
    const std::string number = whole_json_value(word);
    out += !number.empty() && (word.front() == '-' || (word.front() >= '0' && word.front() <= '9')) ? number : json_quote(word);
    return true;
  }

  std::string_view s_;
  std::size_t at_ = 0;
};

}  // namespace

std::optional<std::string> gemma4_value_json(std::string_view text) {
  NotationReader reader(text);
  std::string out;
  if (!reader.value(out) || !reader.at_end()) return std::nullopt;
  return out;
}

MessageDelta Gemma4CallParser::push(std::string_view text) {
  MessageDelta out;
  pending_.append(text);
  drain(out, /*at_end=*/false);
  return out;
}

MessageDelta Gemma4CallParser::finish() {
  MessageDelta out;
  drain(out, /*at_end=*/true);
  if (state_ == State::Call) {  // cut off inside a call: its arguments as they stand, if they read whole
    close_call(pending_, out);
  }
  pending_.clear();
  return out;
}

void Gemma4CallParser::send_name(std::string_view call, MessageDelta& out) {
  if (name_sent_) return;
  const std::string_view body = trim(call);
  const std::size_t brace = body.find('{');
  if (brace == std::string_view::npos) return;
  std::string_view name = trim(body.substr(0, brace));
  if (name.starts_with(kCall)) name = trim(name.substr(kCall.size()));
  if (name.empty()) {
    failed_ = true;
    return;
  }
  out.tool_calls.push_back(ToolCallDelta{calls_++, make_tool_call_id(), std::string(name), std::string()});
  name_sent_ = true;
}

void Gemma4CallParser::close_call(std::string_view body, MessageDelta& out) {
  send_name(body, out);
  state_ = State::Text;
  if (!name_sent_) {
    failed_ = true;
    return;
  }
  name_sent_ = false;
  const std::string_view call = trim(body);
  const std::optional<std::string> arguments = gemma4_value_json(call.substr(call.find('{')));
  if (!arguments || !arguments->starts_with('{')) {
    failed_ = true;
    return;
  }
  out.tool_calls.push_back(ToolCallDelta{calls_ - 1, std::nullopt, std::nullopt, *arguments});
}

void Gemma4CallParser::drain(MessageDelta& out, bool at_end) {
  while (!pending_.empty()) {
    if (state_ == State::Text) {
      const std::size_t open = pending_.find(kOpen);
      const std::size_t end = open == std::string::npos ? pending_.size() - (at_end ? 0 : partial_tag_suffix(pending_, kOpen)) : open;
      const std::string_view text(pending_.data(), end);
      // Whitespace between calls (or after the last) is dropped; while it may precede another call, held.
      if (calls_ > 0 && trim(text).empty() && open == std::string::npos && !at_end) return;
      if (!(calls_ > 0 && trim(text).empty())) out.content.append(text);
      if (open == std::string::npos) {
        pending_.erase(0, end);
        return;
      }
      pending_.erase(0, open + kOpen.size());
      state_ = State::Call;
      continue;
    }
    const std::size_t close = pending_.find(kClose);
    if (close == std::string::npos) {
      send_name(pending_, out);
      return;  // at the end, finish() reads what there is
    }
    const std::string body = pending_.substr(0, close);
    pending_.erase(0, close + kClose.size());
    close_call(body, out);
  }
}

}  // namespace troupe
