#include "pipeline/tool_calls/xml_call_parser.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "pipeline/structured_output/json_text.hpp"
#include "pipeline/tool_calls/call_object_scanner.hpp"  // partial_tag_suffix, trim
#include "pipeline/tool_calls/json_value_stream.hpp"

namespace troupe {
namespace {

using structured_output::json_quote;  // Python's json.dumps of a string, ensure_ascii=False

constexpr std::string_view kParameterClose = "</parameter>";

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// A name as written between the opening tag and '>': trimmed, one pair of quotes removed.
std::string tag_name(std::string_view text) {
  text = trim(text);
  if (text.size() >= 2 && (text.front() == '"' || text.front() == '\'') && text.back() == text.front()) {
    text = text.substr(1, text.size() - 2);
  }
  return std::string(text);
}

}  // namespace

std::string whole_json_value(std::string_view text) {
  JsonValueStream stream;
  const std::size_t used = stream.push(text);
  if (!stream.complete()) stream.finish();
  if (!stream.complete() || !trim(text.substr(used)).empty()) return "";
  return stream.take_output();
}

std::string xml_parameter_json(std::string_view text, std::string_view type_name) {
  const std::string type = lower(type_name);
  const std::string_view value = trim(text);
  if (lower(value) == "null") return "null";
  if (type == "string" || type == "str" || type == "text" || type == "varchar" || type == "char" || type == "enum") {
    return json_quote(text);
  }
  if (type.starts_with("int") || type.starts_with("uint") || type == "long" || type == "short" || type == "unsigned") {
    const std::string digits(value);
    char* end = nullptr;
    errno = 0;
    const long long n = std::strtoll(digits.c_str(), &end, 10);
    if (!digits.empty() && end == digits.c_str() + digits.size() && errno == 0) return std::to_string(n);
    return json_quote(text);
  }
  if (type.starts_with("num") || type.starts_with("float") || type == "double") {
    const std::string digits(value);
    char* end = nullptr;
    const double v = std::strtod(digits.c_str(), &end);
    if (digits.empty() || end != digits.c_str() + digits.size() || !std::isfinite(v)) return json_quote(text);
    if (v == std::trunc(v) && std::fabs(v) < 9.0e15) return std::to_string(static_cast<long long>(v));
    const std::string number = whole_json_value(value);
    return number.empty() ? json_quote(text) : number;
  }
  if (type == "boolean" || type == "bool" || type == "binary") {
    const std::string word = lower(value);
    if (word == "true" || word == "false") return word;
    return json_quote(text);
  }
  // Objects, arrays, and parameters without a type: the JSON they are, else text.
  const std::string json = whole_json_value(value);
  return json.empty() ? json_quote(text) : json;
}

MessageDelta XmlCallParser::push(std::string_view text) {
  MessageDelta out;
  pending_.append(text);
  drain(out, /*at_end=*/false);
  return out;
}

MessageDelta XmlCallParser::finish() {
  MessageDelta out;
  drain(out, /*at_end=*/true);
  // A reply cut off inside a call: its last parameter and the arguments are closed as they stand.
  if (state_ == State::Parameter) close_parameter(pending_, out);
  if (state_ == State::Function || state_ == State::Parameter) close_function(out);
  if (state_ == State::Call) failed_ = true;  // <tool_call> without a function
  pending_.clear();
  return out;
}

void XmlCallParser::close_parameter(std::string_view value, MessageDelta& out) {
  // One newline after the opening tag and one before the closing tag are the format's (MiniMax-M2:
  // all surrounding whitespace).
  if (dialect_.trim_values) value = trim(value);
  if (value.starts_with('\n')) value.remove_prefix(1);
  if (value.ends_with('\n')) value.remove_suffix(1);
  const std::string* listed = parameter_type(types_, function_, parameter_);
  const std::string type = listed ? *listed : "string";  // not in the schema: text, as vLLM keeps it
  std::string json;
  if (dialect_.lenient_words) {
    const std::string word = lower(value);
    const std::string kind = lower(type);
    if (word == "none" || word == "nil") json = "null";
    if ((kind == "boolean" || kind == "bool") && (word == "1" || word == "yes" || word == "on")) json = "true";
    if ((kind == "boolean" || kind == "bool") && (word == "0" || word == "no" || word == "off")) json = "false";
  }
  if (json.empty()) json = xml_parameter_json(value, type);
  std::string fragment = parameters_++ == 0 ? "{" : ", ";
  fragment += json_quote(parameter_) + ": " + json;
  out.tool_calls.push_back(ToolCallDelta{calls_ - 1, std::nullopt, std::nullopt, std::move(fragment)});
  state_ = State::Function;
}

void XmlCallParser::close_function(MessageDelta& out) {
  out.tool_calls.push_back(ToolCallDelta{calls_ - 1, std::nullopt, std::nullopt, parameters_ == 0 ? "{}" : "}"});
  state_ = State::AfterFunction;
}

void XmlCallParser::drain(MessageDelta& out, bool at_end) {
  while (!pending_.empty()) {
    switch (state_) {
      case State::Text: {
        // Content up to a call; a bare <function= (the model leaving out <tool_call>) starts one too.
        const std::size_t call = pending_.find(dialect_.call_open), bare = pending_.find(dialect_.function_open);
        const std::size_t at = std::min(call, bare);
        if (at == std::string::npos) {
          const std::size_t keep =
              at_end ? 0 : std::max(partial_tag_suffix(pending_, dialect_.call_open), partial_tag_suffix(pending_, dialect_.function_open));
          out.content.append(pending_, 0, pending_.size() - keep);
          pending_.erase(0, pending_.size() - keep);
          return;
        }
        out.content.append(pending_, 0, at);
        pending_.erase(0, at == call ? at + dialect_.call_open.size() : at);
        state_ = State::Call;
        break;
      }
      case State::Call: {
        const std::size_t open = pending_.find(dialect_.function_open);
        const std::size_t end = open == std::string::npos ? open : pending_.find('>', open + dialect_.function_open.size());
        if (end == std::string::npos) {
          if (!trim(pending_).empty() && !dialect_.function_open.starts_with(trim(pending_)) && open == std::string::npos) {
            failed_ = true;  // something else inside <tool_call>
          }
          return;
        }
        function_ = tag_name(std::string_view(pending_).substr(open + dialect_.function_open.size(),
                                                               end - open - dialect_.function_open.size()));
        pending_.erase(0, end + 1);
        out.tool_calls.push_back(ToolCallDelta{calls_++, make_tool_call_id(), function_, std::string()});
        parameters_ = 0;
        state_ = State::Function;
        break;
      }
      case State::Function: {
        const std::size_t param = pending_.find(dialect_.parameter_open), close = pending_.find(dialect_.function_close);
        if (close != std::string::npos && (param == std::string::npos || close < param)) {
          pending_.erase(0, close + dialect_.function_close.size());
          close_function(out);
          break;
        }
        const std::size_t end = param == std::string::npos ? param : pending_.find('>', param + dialect_.parameter_open.size());
        if (end == std::string::npos) return;
        parameter_ = tag_name(std::string_view(pending_).substr(param + dialect_.parameter_open.size(),
                                                                end - param - dialect_.parameter_open.size()));
        pending_.erase(0, end + 1);
        state_ = State::Parameter;
        break;
      }
      case State::Parameter: {
        // The value ends at </parameter>, or at the next tag if the model left that out.
        std::size_t end = pending_.find(kParameterClose), skip = kParameterClose.size();
        for (std::string_view tag : {dialect_.parameter_open, dialect_.function_close}) {
          const std::size_t at = pending_.find(tag);
          if (at < end) end = at, skip = 0;
        }
        if (end == std::string::npos) return;  // at the end, finish() takes the rest as the value
        const std::string value = pending_.substr(0, end);
        pending_.erase(0, end + skip);
        close_parameter(value, out);
        break;
      }
      case State::AfterFunction: {
        // Another call in the same block (MiniMax-M2 writes several to one).
        if (const std::string_view next = trim(pending_); next.starts_with(dialect_.function_open)) {
          pending_.erase(0, pending_.find(next.front()));
          state_ = State::Call;
          break;
        } else if (!at_end && !next.empty() && dialect_.function_open.starts_with(next)) {
          return;
        }
        // </tool_call>, then text: between calls only whitespace, another call, or content.
        const std::size_t close = pending_.find(dialect_.call_close);
        if (close != std::string::npos) {
          if (!trim(std::string_view(pending_).substr(0, close)).empty()) out.content.append(pending_, 0, close);
          pending_.erase(0, close + dialect_.call_close.size());
        } else if (!at_end && (trim(pending_).empty() || dialect_.call_close.starts_with(trim(pending_)))) {
          return;
        }
        // Whitespace between calls is dropped; anything else is content again.
        const std::string_view rest = trim(pending_);
        if (rest.empty() && !at_end) return;
        if (rest.empty()) {
          pending_.clear();
          return;
        }
        pending_.erase(0, pending_.find(rest.front()));
        state_ = State::Text;
        break;
      }
    }
  }
}

}  // namespace troupe
