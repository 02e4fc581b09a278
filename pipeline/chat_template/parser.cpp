#include "pipeline/chat_template/parser.hpp"

#include <charconv>
#include <cstdlib>
#include <initializer_list>
#include <string_view>

#include "pipeline/chat_template/builtins.hpp"
#include "pipeline/chat_template/chat_template_error.hpp"

namespace troupe::jinja {
namespace {

using Type = Token::Type;

class Parser {
 public:
  explicit Parser(const std::vector<Token>& tokens) : tokens_(tokens) {}

  Body parse_root() {
    std::string found;
    Body body = parse_body({}, found);
    return body;
  }

 private:
  // --- token stream ---
  const Token& current() const { return tokens_[pos_]; }
  const Token& peek(std::size_t ahead = 1) const {
    return tokens_[std::min(pos_ + ahead, tokens_.size() - 1)];
  }
  const Token& advance() { return tokens_[pos_ < tokens_.size() - 1 ? pos_++ : pos_]; }
  bool at_op(std::string_view op) const { return current().type == Type::op && current().value == op; }
  bool at_name(std::string_view name) const { return current().type == Type::name && current().value == name; }
  bool skip_op(std::string_view op) {
    if (!at_op(op)) return false;
    advance();
    return true;
  }
  bool skip_name(std::string_view name) {
    if (!at_name(name)) return false;
    advance();
    return true;
  }

  [[noreturn]] void fail(const std::string& what) const {
    throw ChatTemplateError(ChatTemplateError::Kind::syntax,
                            "chat template line " + std::to_string(current().line) + ": " + what);
  }
  [[noreturn]] void unsupported(int line, const std::string& construct) const {
    throw ChatTemplateError(ChatTemplateError::Kind::unsupported,
                            "chat template line " + std::to_string(line) + ": unsupported construct '" +
                                construct + "'");
  }

  std::string describe(const Token& token) const {
    switch (token.type) {
      case Type::end_of_input: return "end of template";
      case Type::block_end: return "'%}'";
      case Type::var_end: return "'}}'";
      default: return "'" + token.value + "'";
    }
  }

  void expect_op(std::string_view op) {
    if (!skip_op(op)) fail("expected '" + std::string(op) + "', found " + describe(current()));
  }
  std::string expect_name() {
    if (current().type != Type::name) fail("expected a name, found " + describe(current()));
    return advance().value;
  }
  void expect_block_end() {
    if (current().type != Type::block_end) fail("expected '%}', found " + describe(current()));
    advance();
  }

  // --- statements ---

  // Parses until a block tag whose keyword is one of `enders`; consumes "{% keyword" and reports it.
  Body parse_body(std::initializer_list<std::string_view> enders, std::string& found) {
    Body body;
    while (true) {
      const Token& token = current();
      switch (token.type) {
        case Type::end_of_input:
          for (auto ender : enders)
            if (ender.rfind("end", 0) == 0) fail("missing '{% " + std::string(ender) + " %}'");
          return body;
        case Type::text: {
          auto stmt = std::make_unique<Stmt>(Stmt::Kind::text, token.line);
          stmt->text = token.value;
          body.push_back(std::move(stmt));
          advance();
          break;
        }
        case Type::var_begin: {
          advance();
          auto stmt = std::make_unique<Stmt>(Stmt::Kind::output, token.line);
          stmt->expr = parse_tuple();
          if (current().type != Type::var_end) fail("expected '}}', found " + describe(current()));
          advance();
          body.push_back(std::move(stmt));
          break;
        }
        case Type::block_begin: {
          const Token& keyword = peek();
          if (keyword.type != Type::name) {
            advance();
            fail("expected a tag name after '{%'");
          }
          for (auto ender : enders) {
            if (keyword.value == ender) {
              advance();
              advance();
              found = keyword.value;
              return body;
            }
          }
          advance();
          body.push_back(parse_statement());
          break;
        }
        default: fail("unexpected " + describe(token));
      }
    }
  }

  std::unique_ptr<Stmt> parse_statement() {
    const Token& keyword = advance();
    int line = keyword.line;
    const std::string& tag = keyword.value;
    if (tag == "if") return parse_if(line);
    if (tag == "for") return parse_for(line);
    if (tag == "set") return parse_set(line);
    if (tag == "macro") return parse_macro(line);
    if (tag == "break" || tag == "continue") {
      expect_block_end();
      return std::make_unique<Stmt>(tag == "break" ? Stmt::Kind::loop_break : Stmt::Kind::loop_continue, line);
    }
    if (tag == "generation") {
      // transformers' AssistantTracker tag: marks assistant text for masks, renders its body unchanged.
      expect_block_end();
      auto stmt = std::make_unique<Stmt>(Stmt::Kind::scope, line);
      std::string found;
      stmt->body = parse_body({"endgeneration"}, found);
      expect_block_end();
      return stmt;
    }
    static const std::string_view known_unsupported[] = {"call", "filter", "include", "import", "from", "extends",
                                                         "block", "with", "autoescape", "do", "trans"};
    for (auto name : known_unsupported)
      if (tag == name) unsupported(line, "{% " + tag + " %}");
    if (tag == "elif" || tag == "else" || tag.rfind("end", 0) == 0) fail("unexpected '{% " + tag + " %}'");
    unsupported(line, "{% " + tag + " %} (unknown tag)");
  }

  std::unique_ptr<Stmt> parse_if(int line) {
    auto stmt = std::make_unique<Stmt>(Stmt::Kind::if_chain, line);
    ExprPtr condition = parse_expression();
    expect_block_end();
    while (true) {
      std::string found;
      Body body = parse_body({"elif", "else", "endif"}, found);
      stmt->branches.emplace_back(std::move(condition), std::move(body));
      if (found == "endif") {
        expect_block_end();
        return stmt;
      }
      if (found == "else") {
        expect_block_end();
        Body else_body = parse_body({"endif"}, found);
        stmt->branches.emplace_back(nullptr, std::move(else_body));
        expect_block_end();
        return stmt;
      }
      condition = parse_expression();
      expect_block_end();
    }
  }

  std::unique_ptr<Stmt> parse_for(int line) {
    auto stmt = std::make_unique<Stmt>(Stmt::Kind::for_loop, line);
    stmt->targets.push_back(expect_name());
    while (skip_op(",")) stmt->targets.push_back(expect_name());
    if (!skip_name("in")) fail("expected 'in' in for loop");
    stmt->expr = parse_tuple(false);
    if (skip_name("if")) stmt->filter = parse_expression();
    if (at_name("recursive")) unsupported(line, "recursive for loop");
    expect_block_end();
    std::string found;
    stmt->body = parse_body({"else", "endfor"}, found);
    if (found == "else") {
      expect_block_end();
      stmt->else_body = parse_body({"endfor"}, found);
    }
    expect_block_end();
    return stmt;
  }

  std::unique_ptr<Stmt> parse_set(int line) {
    std::string first = expect_name();
    if (skip_op(".")) {
      auto stmt = std::make_unique<Stmt>(Stmt::Kind::set, line);
      stmt->target_object = first;
      stmt->target_attribute = expect_name();
      expect_op("=");
      stmt->expr = parse_tuple();
      expect_block_end();
      return stmt;
    }
    std::vector<std::string> targets{first};
    while (skip_op(",")) targets.push_back(expect_name());
    if (skip_op("=")) {
      auto stmt = std::make_unique<Stmt>(Stmt::Kind::set, line);
      stmt->targets = std::move(targets);
      stmt->expr = parse_tuple();
      expect_block_end();
      return stmt;
    }
    if (targets.size() != 1) fail("expected '=' in set");
    if (at_op("|")) unsupported(line, "filtered block set");
    expect_block_end();
    auto stmt = std::make_unique<Stmt>(Stmt::Kind::set_block, line);
    stmt->targets = std::move(targets);
    std::string found;
    stmt->body = parse_body({"endset"}, found);
    expect_block_end();
    return stmt;
  }

  std::unique_ptr<Stmt> parse_macro(int line) {
    auto stmt = std::make_unique<Stmt>(Stmt::Kind::macro, line);
    stmt->name = expect_name();
    expect_op("(");
    while (!at_op(")")) {
      if (!stmt->parameters.empty()) expect_op(",");
      if (at_op(")")) break;
      std::string name = expect_name();
      ExprPtr default_value;
      if (skip_op("=")) default_value = parse_expression();
      stmt->parameters.emplace_back(std::move(name), std::move(default_value));
    }
    expect_op(")");
    expect_block_end();
    std::string found;
    stmt->body = parse_body({"endmacro"}, found);
    if (current().type == Type::name) advance();  // {% endmacro name %}
    expect_block_end();
    return stmt;
  }

  // --- expressions ---

  ExprPtr make(Expr::Kind kind, int line) { return std::make_unique<Expr>(kind, line); }

  // A comma-separated sequence becomes a tuple, as in `{% set a, b = ... %}` right-hand sides.
  ExprPtr parse_tuple(bool with_condition = true) {
    int line = current().line;
    ExprPtr first = parse_expression(with_condition);
    if (!at_op(",")) return first;
    auto tuple = make(Expr::Kind::tuple, line);
    tuple->items.push_back(std::move(first));
    while (skip_op(",")) {
      if (current().type == Type::block_end || current().type == Type::var_end || at_op(")")) break;
      tuple->items.push_back(parse_expression(with_condition));
    }
    return tuple;
  }

  ExprPtr parse_expression(bool with_condition = true) {
    ExprPtr expr = parse_or();
    if (!with_condition) return expr;
    while (at_name("if")) {
      int line = advance().line;
      auto conditional = make(Expr::Kind::conditional, line);
      conditional->then_branch = std::move(expr);
      conditional->condition = parse_or();
      if (skip_name("else")) conditional->else_branch = parse_expression();
      expr = std::move(conditional);
    }
    return expr;
  }

  ExprPtr logical(const char* op, ExprPtr left, ExprPtr right, int line) {
    auto node = make(Expr::Kind::logical, line);
    node->name = op;
    node->left = std::move(left);
    node->right = std::move(right);
    return node;
  }

  ExprPtr binary(std::string op, ExprPtr left, ExprPtr right, int line) {
    auto node = make(Expr::Kind::binary, line);
    node->name = std::move(op);
    node->left = std::move(left);
    node->right = std::move(right);
    return node;
  }

  ExprPtr parse_or() {
    ExprPtr left = parse_and();
    while (at_name("or")) {
      int line = advance().line;
      left = logical("or", std::move(left), parse_and(), line);
    }
    return left;
  }

  ExprPtr parse_and() {
    ExprPtr left = parse_not();
    while (at_name("and")) {
      int line = advance().line;
      left = logical("and", std::move(left), parse_not(), line);
    }
    return left;
  }

  ExprPtr parse_not() {
    if (at_name("not")) {
      int line = advance().line;
      auto node = make(Expr::Kind::unary, line);
      node->name = "not";
      node->object = parse_not();
      return node;
    }
    return parse_compare();
  }

  ExprPtr parse_compare() {
    int line = current().line;
    ExprPtr left = parse_math1();
    bool compared = false;
    while (true) {
      std::string op;
      if (current().type == Type::op &&
          (at_op("==") || at_op("!=") || at_op("<") || at_op(">") || at_op("<=") || at_op(">="))) {
        op = advance().value;
      } else if (at_name("in")) {
        advance();
        op = "in";
      } else if (at_name("not") && peek().type == Type::name && peek().value == "in") {
        advance();
        advance();
        op = "notin";
      } else {
        return left;
      }
      if (compared) unsupported(line, "chained comparison");
      compared = true;
      left = binary(op, std::move(left), parse_math1(), line);
    }
  }

  ExprPtr parse_math1() {
    ExprPtr left = parse_concat();
    while (at_op("+") || at_op("-")) {
      const Token& op = advance();
      left = binary(op.value, std::move(left), parse_concat(), op.line);
    }
    return left;
  }

  ExprPtr parse_concat() {
    ExprPtr left = parse_math2();
    while (at_op("~")) {
      int line = advance().line;
      left = binary("~", std::move(left), parse_math2(), line);
    }
    return left;
  }

  ExprPtr parse_math2() {
    ExprPtr left = parse_pow();
    while (at_op("*") || at_op("/") || at_op("//") || at_op("%")) {
      const Token& op = advance();
      left = binary(op.value, std::move(left), parse_pow(), op.line);
    }
    return left;
  }

  ExprPtr parse_pow() {
    ExprPtr left = parse_unary();
    while (at_op("**")) {
      int line = advance().line;
      left = binary("**", std::move(left), parse_unary(), line);
    }
    return left;
  }

  ExprPtr parse_unary(bool with_filter = true) {
    ExprPtr node;
    if (at_op("-") || at_op("+")) {
      const Token& op = advance();
      node = make(Expr::Kind::unary, op.line);
      node->name = op.value;
      node->object = parse_unary(false);
    } else {
      node = parse_primary();
    }
    node = parse_postfix(std::move(node));
    if (with_filter) node = parse_filter_expression(std::move(node));
    return node;
  }

  ExprPtr parse_primary() {
    const Token& token = current();
    int line = token.line;
    switch (token.type) {
      case Type::name: {
        advance();
        auto literal = make(Expr::Kind::literal, line);
        if (token.value == "true" || token.value == "True") literal->value = Value(true);
        else if (token.value == "false" || token.value == "False") literal->value = Value(false);
        else if (token.value == "none" || token.value == "None") literal->value = Value::none();
        else {
          auto name = make(Expr::Kind::name, line);
          name->name = token.value;
          return name;
        }
        return literal;
      }
      case Type::string: {
        std::string text;
        while (current().type == Type::string) text += advance().value;  // adjacent literals concatenate
        auto literal = make(Expr::Kind::literal, line);
        literal->value = Value(std::move(text));
        return literal;
      }
      case Type::integer: {
        advance();
        std::int64_t number = 0;
        auto result = std::from_chars(token.value.data(), token.value.data() + token.value.size(), number);
        if (result.ec != std::errc()) unsupported(line, "integer literal " + token.value + " beyond 64 bits");
        auto literal = make(Expr::Kind::literal, line);
        literal->value = Value(number);
        return literal;
      }
      case Type::real: {
        advance();
        auto literal = make(Expr::Kind::literal, line);
        literal->value = Value(std::strtod(token.value.c_str(), nullptr));
        return literal;
      }
      case Type::op:
        if (token.value == "(") {
          advance();
          if (skip_op(")")) return make(Expr::Kind::tuple, line);
          ExprPtr inner = parse_tuple();
          expect_op(")");
          return inner;
        }
        if (token.value == "[") {
          advance();
          auto list = make(Expr::Kind::list, line);
          while (!at_op("]")) {
            if (!list->items.empty()) expect_op(",");
            if (at_op("]")) break;
            list->items.push_back(parse_expression());
          }
          expect_op("]");
          return list;
        }
        if (token.value == "{") {
          advance();
          auto dict = make(Expr::Kind::dict, line);
          while (!at_op("}")) {
            if (!dict->keys.empty()) expect_op(",");
            if (at_op("}")) break;
            dict->keys.push_back(parse_expression());
            expect_op(":");
            dict->items.push_back(parse_expression());
          }
          expect_op("}");
          return dict;
        }
        break;
      default: break;
    }
    fail("unexpected " + describe(token) + " in expression");
  }

  ExprPtr parse_postfix(ExprPtr node) {
    while (true) {
      if (at_op(".")) {
        int line = advance().line;
        if (current().type == Type::integer) {
          const std::string digits = advance().value;
          std::int64_t number = 0;
          auto parsed = std::from_chars(digits.data(), digits.data() + digits.size(), number);
          if (parsed.ec != std::errc()) unsupported(line, "integer index " + digits + " beyond 64 bits");
          auto index = make(Expr::Kind::literal, line);
          index->value = Value(number);
          auto subscript = make(Expr::Kind::subscript, line);
          subscript->object = std::move(node);
          subscript->right = std::move(index);
          node = std::move(subscript);
          continue;
        }
        auto attribute = make(Expr::Kind::attribute, line);
        attribute->object = std::move(node);
        attribute->name = expect_name();
        node = std::move(attribute);
      } else if (at_op("[")) {
        int line = advance().line;
        node = parse_subscript(std::move(node), line);
      } else if (at_op("(")) {
        node = parse_call(std::move(node));
      } else {
        return node;
      }
    }
  }

  ExprPtr parse_subscript(ExprPtr object, int line) {
    ExprPtr start, stop, step;
    bool is_slice = false;
    if (!at_op(":")) start = parse_expression();
    if (skip_op(":")) {
      is_slice = true;
      if (!at_op("]") && !at_op(":")) stop = parse_expression();
      if (skip_op(":") && !at_op("]")) step = parse_expression();
    }
    if (at_op(",")) unsupported(line, "tuple subscript");
    expect_op("]");
    if (!is_slice) {
      auto subscript = make(Expr::Kind::subscript, line);
      subscript->object = std::move(object);
      subscript->right = std::move(start);
      return subscript;
    }
    auto slice = make(Expr::Kind::slice, line);
    slice->object = std::move(object);
    slice->start = std::move(start);
    slice->stop = std::move(stop);
    slice->step = std::move(step);
    return slice;
  }

  Arguments parse_arguments() {
    Arguments arguments;
    expect_op("(");
    while (!at_op(")")) {
      if (!arguments.positional.empty() || !arguments.named.empty()) expect_op(",");
      if (at_op(")")) break;
      if (at_op("*") || at_op("**")) unsupported(current().line, "*args/**kwargs in a call");
      if (current().type == Type::name && peek().type == Type::op && peek().value == "=") {
        std::string name = advance().value;
        advance();
        arguments.named.emplace_back(std::move(name), parse_expression());
      } else {
        if (!arguments.named.empty()) fail("positional argument follows keyword argument");
        arguments.positional.push_back(parse_expression());
      }
    }
    expect_op(")");
    return arguments;
  }

  ExprPtr parse_call(ExprPtr callee) {
    auto call = make(Expr::Kind::call, current().line);
    call->object = std::move(callee);
    call->arguments = parse_arguments();
    return call;
  }

  ExprPtr parse_filter_expression(ExprPtr node) {
    while (true) {
      if (at_op("|")) {
        int line = advance().line;
        std::string name = expect_name();
        while (skip_op(".")) name += "." + expect_name();
        if (!has_filter(name)) unsupported(line, "filter '" + name + "'");
        auto filter = make(Expr::Kind::filter, line);
        filter->object = std::move(node);
        filter->name = name;
        if (at_op("(")) filter->arguments = parse_arguments();
        node = std::move(filter);
      } else if (at_name("is")) {
        int line = advance().line;
        auto test = make(Expr::Kind::test, line);
        test->negated = skip_name("not");
        test->name = expect_name();
        while (skip_op(".")) test->name += "." + expect_name();
        if (!has_test(test->name)) unsupported(line, "test '" + test->name + "'");
        test->object = std::move(node);
        if (at_op("(")) {
          test->arguments = parse_arguments();
        } else if ((current().type == Type::name || current().type == Type::string ||
                    current().type == Type::integer || current().type == Type::real || at_op("[") ||
                    at_op("{")) &&
                   !at_name("else") && !at_name("or") && !at_name("and")) {
          // jinja2 allows one argument without parentheses: `x is divisibleby 3`, `x is sameas false`.
          if (at_name("is")) fail("tests cannot be chained with 'is'");
          test->arguments.positional.push_back(parse_postfix(parse_primary()));
        }
        node = std::move(test);
      } else if (at_op("(")) {
        node = parse_call(std::move(node));
      } else {
        return node;
      }
    }
  }

  const std::vector<Token>& tokens_;
  std::size_t pos_ = 0;
};

}  // namespace

Body parse_template(const std::vector<Token>& tokens) { return Parser(tokens).parse_root(); }

}  // namespace troupe::jinja
