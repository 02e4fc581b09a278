#pragma once
// Splits a template into text and tag tokens the way jinja2's lexer does under the settings Hugging Face
// renders chat templates with (trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=False), so that
// the whitespace around tags disappears exactly where transformers makes it disappear.
#include <string>
#include <string_view>
#include <vector>

namespace troupe::jinja {

struct Token {
  enum class Type {
    text,         // literal output
    var_begin,    // {{
    var_end,      // }}
    block_begin,  // {%
    block_end,    // %}
    name,
    string,       // value is already unescaped
    integer,
    real,
    op,           // operators and punctuation: + - * / // % ** ~ == != < > <= >= = . , : | ( ) [ ] { }
    end_of_input,
  };
  Type type;
  std::string value;
  int line;
};

struct LexerSettings {
  bool trim_blocks = true;
  bool lstrip_blocks = true;
  bool keep_trailing_newline = false;
};

// Throws ChatTemplateError (syntax) for an unterminated tag, comment or string.
std::vector<Token> tokenize(std::string_view source, const LexerSettings& settings = {});

}  // namespace troupe::jinja
