#include "pipeline/tool_calls/python_calls.hpp"

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <string>

#include "pipeline/chat_template/json_dumps.hpp"
#include "pipeline/chat_template/python_text.hpp"
#include "pipeline/chat_template/value.hpp"

namespace troupe {
namespace {

using jinja::Value;

// Not a list of calls: the reader's one failure, caught by python_calls.
struct NotCalls {};

bool is_name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_name_char(char c) { return is_name_start(c) || (c >= '0' && c <= '9'); }
int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// A recursive-descent reader of the Python subset above, over the text as given.
class Reader {
 public:
  explicit Reader(std::string_view text) : text_(text) {}

  std::vector<ToolCall> calls() {
    blank();
    expect('[');
    std::vector<ToolCall> out;
    for (blank(); !take(']'); blank()) {
      out.push_back(call());
      blank();
      if (!take(',')) {
        expect(']');
        break;
      }
    }
    blank();
    if (out.empty() || pos_ != text_.size()) throw NotCalls{};
    return out;
  }

 private:
  char peek(std::size_t ahead = 0) const { return pos_ + ahead < text_.size() ? text_[pos_ + ahead] : '\0'; }
  bool at_end() const { return pos_ >= text_.size(); }
  bool take(char c) {
    if (peek() != c || at_end()) return false;
    ++pos_;
    return true;
  }
  void expect(char c) {
    if (!take(c)) throw NotCalls{};
  }

  // Blanks, line continuations and comments, all allowed inside brackets.
  void blank() {
    while (!at_end()) {
      const char c = peek();
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f') {
        ++pos_;
      } else if (c == '\\' && (peek(1) == '\n' || peek(1) == '\r')) {
        pos_ += 2;
      } else if (c == '#') {
        while (!at_end() && peek() != '\n') ++pos_;
      } else {
        return;
      }
    }
  }

  std::string name() {
    if (!is_name_start(peek())) throw NotCalls{};
    const std::size_t start = pos_;
    while (is_name_char(peek())) ++pos_;
    return std::string(text_.substr(start, pos_ - start));
  }

  // name(keyword=value, ...): the arguments as a JSON object in json.dumps's form.
  ToolCall call() {
    ToolCall out;
    out.id = make_tool_call_id();
    out.name = name();
    blank();
    expect('(');
    jinja::Dict arguments;
    for (blank(); !take(')'); blank()) {
      std::string keyword = name();
      blank();
      if (!take('=') || peek() == '=') throw NotCalls{};  // a positional argument, or a comparison
      blank();
      arguments.set(Value(std::move(keyword)), value());  // a repeated keyword: the last value, first place
      blank();
      if (!take(',')) {
        expect(')');
        break;
      }
    }
    out.arguments = jinja::json_dumps(Value(std::move(arguments)), jinja::JsonDumpOptions{});
    return out;
  }

  Value value() {
    const char c = peek();
    if (c == '[' || c == '(' || c == '{') {
      // A generated text may nest without end: past this depth it is not calls (and the reader's
      // recursion stays shallow).
      if (++depth_ > kMaxDepth) throw NotCalls{};
      Value nested = c == '{' ? dict() : sequence(c == '[' ? ']' : ')');
      --depth_;
      return nested;
    }
    if (c == '-' || c == '+' || c == '.' || (c >= '0' && c <= '9')) return number();
    if (is_name_start(c)) {
      // A string prefix (r, u, and their capitals) directly before a quote, or a word.
      const std::size_t start = pos_;
      std::string word = name();
      if ((peek() == '"' || peek() == '\'') && (word == "r" || word == "R" || word == "u" || word == "U")) {
        pos_ = start;
        return strings();
      }
      if (word == "True" || word == "true") return Value(true);
      if (word == "False" || word == "false") return Value(false);
      if (word == "None" || word == "null") return Value::none();
      throw NotCalls{};  // a variable, a call, a bytes or f-string prefix
    }
    if (c == '"' || c == '\'') return strings();
    throw NotCalls{};
  }

  // [a, b] or (a, b) (a tuple, as a list); (a) alone is a.
  Value sequence(char close) {
    ++pos_;
    jinja::List items;
    bool comma = false;
    for (blank(); !take(close); blank()) {
      items.push_back(value());
      blank();
      if (!take(',')) {
        expect(close);
        break;
      }
      comma = true;
    }
    if (close == ')' && items.size() == 1 && !comma) return items.front();
    return Value(std::move(items));
  }

  Value dict() {
    ++pos_;
    jinja::Dict out;
    for (blank(); !take('}'); blank()) {
      Value key = value();
      const auto kind = key.kind();
      if (kind == Value::Kind::list || kind == Value::Kind::dict) throw NotCalls{};  // unhashable in Python
      blank();
      expect(':');
      blank();
      out.set(std::move(key), value());
      blank();
      if (!take(',')) {
        expect('}');
        break;
      }
    }
    return Value(std::move(out));
  }

  Value number() {
    bool negative = false;
    while (peek() == '-' || peek() == '+') {  // unary signs, as Python folds them
      if (peek() == '-') negative = !negative;
      ++pos_;
      blank();
    }
    // The literal's characters (underscores dropped); a sign belongs to it only right after the
    // exponent mark of a decimal literal (in 0x1e-2, 'e' is a hex digit and '-' a subtraction).
    std::string digits;
    const auto hex = [&] { return digits.size() > 1 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X'); };
    while (!at_end()) {
      const char c = peek();
      const bool exponent_sign = (c == '-' || c == '+') && !digits.empty() && (digits.back() == 'e' || digits.back() == 'E') && !hex();
      if (!is_name_char(c) && c != '.' && !exponent_sign) break;
      if (c != '_') digits += c;
      ++pos_;
    }
    if (digits.empty()) throw NotCalls{};
    const bool based = digits.size() > 2 && digits[0] == '0' && std::string_view("xXoObB").find(digits[1]) != std::string_view::npos;
    const bool real = !based && digits.find_first_of(".eE") != std::string::npos;
    if (real) {
      char* end = nullptr;
      const double v = std::strtod(digits.c_str(), &end);
      if (end != digits.c_str() + digits.size()) throw NotCalls{};
      return Value(negative ? -v : v);
    }
    int base = 10;
    std::string_view body = digits;
    if (based) {
      const char b = static_cast<char>(digits[1] | 0x20);
      base = b == 'x' ? 16 : b == 'o' ? 8 : 2;
      body.remove_prefix(2);
    } else if (digits.size() > 1 && digits[0] == '0' && digits.find_first_not_of('0') != std::string::npos) {
      // Python refuses 07; vLLM rewrites such a leading zero away (month=07 is 7).
      body.remove_prefix(digits.find_first_not_of('0'));
    }
    std::int64_t v = 0;
    const auto [end, error] = std::from_chars(body.data(), body.data() + body.size(), v, base);
    if (error != std::errc() || end != body.data() + body.size()) throw NotCalls{};
    return Value(negative ? -v : v);
  }

  // One or more adjacent string literals, joined (Python's implicit concatenation).
  Value strings() {
    std::string out;
    do {
      out += string_literal();
      blank();
    } while (peek() == '"' || peek() == '\'' ||
             ((peek() == 'r' || peek() == 'R' || peek() == 'u' || peek() == 'U') && (peek(1) == '"' || peek(1) == '\'')));
    return Value(std::move(out));
  }

  std::string string_literal() {
    bool raw = false;
    if (peek() == 'r' || peek() == 'R') raw = true;
    if (peek() != '"' && peek() != '\'') ++pos_;
    const char quote = peek();
    const bool triple = peek(1) == quote && peek(2) == quote;
    pos_ += triple ? 3 : 1;
    std::string out;
    for (;;) {
      if (at_end()) throw NotCalls{};
      const char c = peek();
      if (c == quote && (!triple || (peek(1) == quote && peek(2) == quote))) {
        pos_ += triple ? 3 : 1;
        return out;
      }
      // A raw line break inside a one-line string is a syntax error to Python; vLLM escapes such
      // control characters before parsing, so they are kept as written.
      if (c != '\\') {
        out += c;
        ++pos_;
        continue;
      }
      if (raw) {  // a backslash stays, and keeps the next character from closing the string
        out += c;
        if (peek(1) != '\0') out += peek(1);
        pos_ += 2;
        continue;
      }
      escape(out);
    }
  }

  void escape(std::string& out) {
    const char e = peek(1);
    pos_ += 2;
    switch (e) {
      case '\n': return;  // a continued line
      case '\\': out += '\\'; return;
      case '\'': out += '\''; return;
      case '"': out += '"'; return;
      case 'n': out += '\n'; return;
      case 't': out += '\t'; return;
      case 'r': out += '\r'; return;
      case 'a': out += '\a'; return;
      case 'b': out += '\b'; return;
      case 'f': out += '\f'; return;
      case 'v': out += '\v'; return;
      case 'x': jinja::append_utf8(out, code_unit(2)); return;
      case 'u': jinja::append_utf8(out, code_unit(4)); return;
      case 'U': jinja::append_utf8(out, code_unit(8)); return;
      default: break;
    }
    if (e >= '0' && e <= '7') {
      char32_t v = static_cast<char32_t>(e - '0');
      for (int i = 0; i < 2 && peek() >= '0' && peek() <= '7'; ++i, ++pos_) v = v * 8 + static_cast<char32_t>(peek() - '0');
      jinja::append_utf8(out, v);
      return;
    }
    if (e == 'N' || e == '\0') throw NotCalls{};  // \N{name}: no name table here
    out += '\\';  // Python keeps an unknown escape as written
    out += e;
  }

  char32_t code_unit(int digits) {
    char32_t v = 0;
    for (int i = 0; i < digits; ++i, ++pos_) {
      const int d = hex_digit(peek());
      if (d < 0) throw NotCalls{};
      v = v * 16 + static_cast<char32_t>(d);
    }
    if (v > 0x10FFFF) throw NotCalls{};
    return v;
  }

  static constexpr int kMaxDepth = 64;
  std::string_view text_;
  std::size_t pos_ = 0;
  int depth_ = 0;
};

}  // namespace

std::optional<std::vector<ToolCall>> python_calls(std::string_view text) {
  try {
    return Reader(text).calls();
  } catch (const NotCalls&) {
    return std::nullopt;
  } catch (const jinja::RenderFault&) {  // json_dumps: a value JSON has no form for
    return std::nullopt;
  }
}

}  // namespace troupe
