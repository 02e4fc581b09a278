#include "pipeline/chat_template/lexer.hpp"

#include <cctype>

#include "pipeline/chat_template/chat_template_error.hpp"
#include "pipeline/chat_template/python_text.hpp"

namespace troupe::jinja {
namespace {

[[noreturn]] void syntax_error(int line, const std::string& what) {
  throw ChatTemplateError(ChatTemplateError::Kind::syntax,
                          "chat template line " + std::to_string(line) + ": " + what);
}

// jinja2 joins source.splitlines() with "\n": every Python line break becomes "\n", and the final line
// break is dropped unless keep_trailing_newline is set.
std::string normalize_newlines(std::string_view source, bool keep_trailing_newline) {
  std::string out;
  out.reserve(source.size());
  bool ended_with_break = false;
  auto points = decode_utf8(source);
  for (std::size_t i = 0; i < points.size(); ++i) {
    char32_t c = points[i];
    bool is_break = c == '\n' || c == '\r' || c == 0x0B || c == 0x0C || c == 0x1C || c == 0x1D || c == 0x1E ||
                    c == 0x85 || c == 0x2028 || c == 0x2029;
    if (c == '\r' && i + 1 < points.size() && points[i + 1] == '\n') ++i;
    if (is_break) out += '\n';
    else append_utf8(out, c);
    ended_with_break = is_break;
  }
  if (ended_with_break && !keep_trailing_newline) out.pop_back();
  return out;
}

bool all_python_space(std::string_view text) {
  if (text.empty()) return false;
  for (char32_t c : decode_utf8(text))
    if (!is_python_space(c)) return false;
  return true;
}

std::string rstrip_python_space(std::string_view text) { return python_strip(text, std::nullopt, false, true); }

class Lexer {
 public:
  Lexer(std::string source, const LexerSettings& settings) : src_(std::move(source)), settings_(settings) {}

  std::vector<Token> run() {
    bool line_starting = true;
    while (pos_ < src_.size()) {
      std::size_t tag = find_tag_start(pos_);
      std::string text = src_.substr(pos_, tag - pos_);
      if (tag == src_.size()) {
        emit_text(std::move(text));
        pos_ = tag;
        break;
      }
      char kind = src_[tag + 1];  // '{', '%' or '#'
      char sign = tag + 2 < src_.size() ? src_[tag + 2] : '\0';
      if (sign == '-') {
        text = rstrip_python_space(text);
      } else if (sign != '+' && settings_.lstrip_blocks && kind != '{') {
        std::size_t line_start = text.rfind('\n');
        line_start = line_start == std::string::npos ? 0 : line_start + 1;
        if ((line_start > 0 || line_starting) && all_python_space(std::string_view(text).substr(line_start)))
          text.resize(line_start);
      }
      emit_text(std::move(text));
      advance_to(tag + 2 + ((sign == '-' || sign == '+') ? 1 : 0));
      if (kind == '#') {
        line_starting = lex_comment();
      } else if (kind == '%' && is_raw_begin()) {
        line_starting = lex_raw();
      } else {
        line_starting = lex_tag(kind == '{');
      }
    }
    tokens_.push_back({Token::Type::end_of_input, "", line_});
    return std::move(tokens_);
  }

 private:
  std::size_t find_tag_start(std::size_t from) const {
    for (std::size_t i = from; i + 1 < src_.size(); ++i) {
      if (src_[i] == '{' && (src_[i + 1] == '{' || src_[i + 1] == '%' || src_[i + 1] == '#')) return i;
    }
    return src_.size();
  }

  void advance_to(std::size_t to) {
    for (std::size_t i = pos_; i < to; ++i)
      if (src_[i] == '\n') ++line_;
    pos_ = to;
  }

  void emit_text(std::string text) {
    int start_line = line_;
    if (!text.empty()) tokens_.push_back({Token::Type::text, std::move(text), start_line});
  }

  // After a closing marker: '-' strips all following whitespace, trim_blocks drops one newline after block
  // tags and comments. Returns whether the consumed end ends with a newline (jinja's line_starting).
  bool finish_tag(std::size_t end_of_marker, char sign, bool is_block_or_comment) {
    std::size_t to = end_of_marker;
    if (sign == '-') {
      auto points_end = to;
      while (points_end < src_.size()) {
        // Whitespace is ASCII or a multi-byte space; decode one code point at a time.
        auto rest = std::string_view(src_).substr(points_end, 4);
        auto decoded = decode_utf8(rest);
        if (decoded.empty() || !is_python_space(decoded[0])) break;
        std::string one;
        append_utf8(one, decoded[0]);
        points_end += one.size();
      }
      to = points_end;
    } else if (sign != '+' && is_block_or_comment && settings_.trim_blocks && to < src_.size() && src_[to] == '\n') {
      ++to;
    }
    bool ends_with_newline = to > 0 && src_[to - 1] == '\n';
    advance_to(to);
    return ends_with_newline;
  }

  bool lex_comment() {
    int start_line = line_;
    std::size_t end = src_.find("#}", pos_);
    if (end == std::string::npos) syntax_error(start_line, "unterminated comment");
    char sign = end > pos_ && (src_[end - 1] == '-' || src_[end - 1] == '+') ? src_[end - 1] : '\0';
    return finish_tag(end + 2, sign, true);
  }

  bool is_raw_begin() const {
    std::size_t i = pos_;
    while (i < src_.size() && std::isspace(static_cast<unsigned char>(src_[i]))) ++i;
    if (src_.compare(i, 3, "raw") != 0) return false;
    i += 3;
    while (i < src_.size() && std::isspace(static_cast<unsigned char>(src_[i]))) ++i;
    return src_.compare(i, 2, "%}") == 0 || src_.compare(i, 3, "-%}") == 0;
  }

  bool lex_raw() {
    int start_line = line_;
    std::size_t close = src_.find("%}", pos_);
    bool strip_after_begin = src_[close - 1] == '-';
    // jinja2 applies no trim_blocks after {% raw %}, only '-' stripping.
    finish_tag(close + 2, strip_after_begin ? '-' : '+', true);
    std::size_t search = pos_;
    while (true) {
      std::size_t tag = src_.find("{%", search);
      if (tag == std::string::npos) syntax_error(start_line, "missing {% endraw %}");
      std::size_t i = tag + 2;
      char sign = (i < src_.size() && (src_[i] == '-' || src_[i] == '+')) ? src_[i++] : '\0';
      while (i < src_.size() && std::isspace(static_cast<unsigned char>(src_[i]))) ++i;
      if (src_.compare(i, 6, "endraw") != 0) {
        search = tag + 2;
        continue;
      }
      i += 6;
      while (i < src_.size() && std::isspace(static_cast<unsigned char>(src_[i]))) ++i;
      char end_sign = '\0';
      if (i < src_.size() && (src_[i] == '-' || src_[i] == '+')) end_sign = src_[i++];
      if (src_.compare(i, 2, "%}") != 0) syntax_error(line_, "malformed {% endraw %}");
      std::string text = src_.substr(pos_, tag - pos_);
      if (sign == '-') {
        text = rstrip_python_space(text);
      } else if (sign != '+' && settings_.lstrip_blocks) {
        std::size_t line_start = text.rfind('\n');
        line_start = line_start == std::string::npos ? 0 : line_start + 1;
        if (line_start > 0 && all_python_space(std::string_view(text).substr(line_start))) text.resize(line_start);
      }
      emit_text(std::move(text));
      advance_to(i);
      return finish_tag(i + 2, end_sign, true);
    }
  }

  // Expression tokens up to the closing }} or %}; closing markers only count outside brackets.
  bool lex_tag(bool is_variable) {
    int start_line = line_;
    tokens_.push_back({is_variable ? Token::Type::var_begin : Token::Type::block_begin, "", line_});
    int depth = 0;
    while (true) {
      while (pos_ < src_.size() && std::isspace(static_cast<unsigned char>(src_[pos_]))) advance_to(pos_ + 1);
      if (pos_ >= src_.size()) syntax_error(start_line, is_variable ? "unterminated '{{'" : "unterminated '{%'");
      if (depth == 0) {
        const char* close = is_variable ? "}}" : "%}";
        char sign = '\0';
        std::size_t at = pos_;
        if ((src_[at] == '-' || (src_[at] == '+' && !is_variable)) && src_.compare(at + 1, 2, close) == 0) {
          sign = src_[at];
          ++at;
        }
        if (src_.compare(at, 2, close) == 0) {
          tokens_.push_back({is_variable ? Token::Type::var_end : Token::Type::block_end, "", line_});
          return finish_tag(at + 2, sign, !is_variable);
        }
      }
      lex_expression_token(depth);
    }
  }

  void lex_expression_token(int& depth) {
    char c = src_[pos_];
    std::size_t start = pos_;
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      std::size_t end = start;
      while (end < src_.size() && (std::isalnum(static_cast<unsigned char>(src_[end])) || src_[end] == '_')) ++end;
      tokens_.push_back({Token::Type::name, src_.substr(start, end - start), line_});
      pos_ = end;
      return;
    }
    if (std::isdigit(static_cast<unsigned char>(c))) {
      lex_number();
      return;
    }
    if (c == '\'' || c == '"') {
      lex_string(c);
      return;
    }
    static const char* const two_char_ops[] = {"//", "**", "==", "!=", ">=", "<="};
    for (const char* op : two_char_ops) {
      if (src_.compare(pos_, 2, op) == 0) {
        tokens_.push_back({Token::Type::op, op, line_});
        pos_ += 2;
        return;
      }
    }
    static const std::string single_ops = "+-*/%~<>=.,:|()[]{};";
    if (single_ops.find(c) != std::string::npos) {
      if (c == '(' || c == '[' || c == '{') ++depth;
      if (c == ')' || c == ']' || c == '}') {
        if (depth == 0) syntax_error(line_, std::string("unexpected '") + c + "'");
        --depth;
      }
      tokens_.push_back({Token::Type::op, std::string(1, c), line_});
      ++pos_;
      return;
    }
    syntax_error(line_, std::string("unexpected character '") + c + "' in tag");
  }

  void lex_number() {
    std::size_t end = pos_;
    auto digits = [&] {
      while (end < src_.size() && (std::isdigit(static_cast<unsigned char>(src_[end])) || src_[end] == '_')) ++end;
    };
    digits();
    bool real = false;
    if (end + 1 < src_.size() && src_[end] == '.' && std::isdigit(static_cast<unsigned char>(src_[end + 1]))) {
      real = true;
      ++end;
      digits();
    }
    if (end < src_.size() && (src_[end] == 'e' || src_[end] == 'E')) {
      std::size_t exp = end + 1;
      if (exp < src_.size() && (src_[exp] == '+' || src_[exp] == '-')) ++exp;
      if (exp < src_.size() && std::isdigit(static_cast<unsigned char>(src_[exp]))) {
        real = true;
        end = exp;
        digits();
      }
    }
    std::string text;
    for (std::size_t i = pos_; i < end; ++i)
      if (src_[i] != '_') text += src_[i];
    tokens_.push_back({real ? Token::Type::real : Token::Type::integer, text, line_});
    pos_ = end;
  }

  // Python's unicode-escape decoding, which jinja2 applies to string literals.
  void lex_string(char quote) {
    int start_line = line_;
    std::string value;
    std::size_t i = pos_ + 1;
    while (true) {
      if (i >= src_.size()) syntax_error(start_line, "unterminated string literal");
      char c = src_[i];
      if (c == quote) break;
      if (c != '\\') {
        value += c;
        ++i;
        continue;
      }
      if (i + 1 >= src_.size()) syntax_error(start_line, "unterminated string literal");
      char e = src_[i + 1];
      i += 2;
      auto hex = [&](int count) {
        if (i + static_cast<std::size_t>(count) > src_.size()) syntax_error(start_line, "truncated escape");
        char32_t code = 0;
        for (int k = 0; k < count; ++k) {
          char h = src_[i + static_cast<std::size_t>(k)];
          if (!std::isxdigit(static_cast<unsigned char>(h))) syntax_error(start_line, "invalid escape in string");
          code = code * 16 + static_cast<char32_t>(std::isdigit(static_cast<unsigned char>(h)) ? h - '0'
                                                                                                 : (std::tolower(h) - 'a' + 10));
        }
        i += static_cast<std::size_t>(count);
        append_utf8(value, code);
      };
      switch (e) {
        case '\n': break;  // line continuation
        case '\\': value += '\\'; break;
        case '\'': value += '\''; break;
        case '"': value += '"'; break;
        case 'a': value += '\a'; break;
        case 'b': value += '\b'; break;
        case 'f': value += '\f'; break;
        case 'n': value += '\n'; break;
        case 'r': value += '\r'; break;
        case 't': value += '\t'; break;
        case 'v': value += '\v'; break;
        case 'x': hex(2); break;
        case 'u': hex(4); break;
        case 'U': hex(8); break;
        case 'N':
          throw ChatTemplateError(ChatTemplateError::Kind::unsupported,
                                  "chat template line " + std::to_string(start_line) +
                                      ": unsupported construct '\\N{...} escape in a string literal'");
        default:
          if (e >= '0' && e <= '7') {
            char32_t code = static_cast<char32_t>(e - '0');
            for (int k = 0; k < 2 && i < src_.size() && src_[i] >= '0' && src_[i] <= '7'; ++k, ++i)
              code = code * 8 + static_cast<char32_t>(src_[i] - '0');
            append_utf8(value, code);
          } else {
            value += '\\';  // unknown escapes stay as written
            value += e;
          }
      }
    }
    tokens_.push_back({Token::Type::string, std::move(value), start_line});
    advance_to(i + 1);
  }

  std::string src_;
  LexerSettings settings_;
  std::size_t pos_ = 0;
  int line_ = 1;
  std::vector<Token> tokens_;
};

}  // namespace

std::vector<Token> tokenize(std::string_view source, const LexerSettings& settings) {
  return Lexer(normalize_newlines(source, settings.keep_trailing_newline), settings).run();
}

}  // namespace troupe::jinja
