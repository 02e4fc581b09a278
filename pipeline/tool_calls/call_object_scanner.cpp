#include "pipeline/tool_calls/call_object_scanner.hpp"

#include <algorithm>
#include <cctype>

namespace troupe {

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

}  // namespace

CallObjectScanner::CallObjectScanner(std::vector<std::string> argument_keys, bool ensure_ascii)
    : ensure_ascii_(ensure_ascii), argument_keys_(std::move(argument_keys)), value_(ensure_ascii) {}

std::string CallObjectScanner::take_arguments() {
  std::string out = std::move(arguments_);
  arguments_.clear();
  return out;
}

std::size_t CallObjectScanner::push(std::string_view text) {
  std::size_t pos = 0;
  while (pos < text.size() && state_ != State::Done && state_ != State::Failed) {
    const char c = text[pos];
    switch (state_) {
      case State::Open:
        if (is_space(c)) break;
        if (c != '{') {
          state_ = State::Failed;
          continue;
        }
        state_ = State::KeyOrEnd;
        break;
      case State::KeyOrEnd:
      case State::CommaOrEnd:
        if (is_space(c)) break;
        if (c == '}') {
          state_ = (name_ && arguments_done_) ? State::Done : State::Failed;
          ++pos;
          continue;
        }
        if (state_ == State::CommaOrEnd) {
          state_ = c == ',' ? State::KeyOrEnd : State::Failed;
          if (c == ',') {
            // After a comma a key must follow: a closing brace would be a JSON error.
            state_ = State::Key;
            value_ = JsonValueStream(ensure_ascii_);
          }
          break;
        }
        if (c != '"') {
          state_ = State::Failed;
          continue;
        }
        state_ = State::Key;
        value_ = JsonValueStream(ensure_ascii_);
        [[fallthrough]];
      case State::Key: {
        if (!value_.started() && is_space(c)) break;
        const std::size_t used = value_.push(text.substr(pos));
        pos += used;
        if (value_.failed() || (value_.complete() && !value_.is_string())) {
          state_ = State::Failed;
        } else if (value_.complete()) {
          const std::string& key = value_.string_value();
          if (key == "name") {
            kind_ = ValueKind::Name;
          } else if (std::find(argument_keys_.begin(), argument_keys_.end(), key) != argument_keys_.end()) {
            kind_ = ValueKind::Arguments;
          } else {
            kind_ = ValueKind::Other;
          }
          state_ = State::Colon;
        }
        continue;
      }
      case State::Colon:
        if (is_space(c)) break;
        if (c != ':') {
          state_ = State::Failed;
          continue;
        }
        state_ = State::Value;
        value_ = JsonValueStream(ensure_ascii_);
        break;
      case State::Value: {
        if (!value_.started() && is_space(c)) break;
        const std::size_t used = value_.push(text.substr(pos));
        pos += used;
        if (kind_ == ValueKind::Arguments) {
          arguments_started_ = true;
          arguments_ += value_.take_output();
        }
        if (value_.failed()) {
          state_ = State::Failed;
        } else if (value_.complete()) {
          if (kind_ == ValueKind::Name) {
            if (!value_.is_string()) {
              state_ = State::Failed;
              continue;
            }
            name_ = value_.string_value();
          }
          if (kind_ == ValueKind::Arguments) arguments_done_ = true;
          state_ = State::CommaOrEnd;
        } else if (used == 0) {
          // A top-level number ends at the byte it did not take: complete it and go on.
          value_.finish();
          if (value_.failed()) {
            state_ = State::Failed;
            continue;
          }
          if (kind_ == ValueKind::Arguments) {
            arguments_ += value_.take_output();
            arguments_done_ = true;
          }
          state_ = State::CommaOrEnd;
        }
        continue;
      }
      case State::Done:
      case State::Failed: break;
    }
    ++pos;
  }
  return pos;
}

void CallObjectScanner::finish() {
  if (state_ != State::Done) state_ = State::Failed;
}

std::size_t partial_tag_suffix(std::string_view text, std::string_view tag) {
  const std::size_t longest = std::min(text.size(), tag.size() - 1);
  for (std::size_t n = longest; n > 0; --n) {
    if (text.substr(text.size() - n) == tag.substr(0, n)) return n;
  }
  return 0;
}

std::size_t partial_tags_suffix(std::string_view text, std::span<const std::string_view> tags) {
  std::size_t keep = 0;
  for (const std::string_view t : tags) keep = std::max(keep, partial_tag_suffix(text, t));
  return keep;
}

std::pair<std::size_t, std::size_t> find_first_tag(std::string_view text, std::span<const std::string_view> tags) {
  std::pair<std::size_t, std::size_t> best{std::string_view::npos, 0};
  for (const std::string_view t : tags) {
    if (const std::size_t at = text.find(t); at < best.first) best = {at, t.size()};
  }
  return best;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

}  // namespace troupe
