#pragma once
// The syntax tree of a parsed template. Nodes are immutable after parsing, so one tree serves any number
// of concurrent renders. Each node keeps its template line for error messages.
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "pipeline/chat_template/value.hpp"

namespace troupe::jinja {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Arguments {
  std::vector<ExprPtr> positional;
  std::vector<std::pair<std::string, ExprPtr>> named;
};

struct Expr {
  enum class Kind {
    literal,      // value
    name,         // name
    list,         // items
    tuple,        // items (evaluated as a list)
    dict,         // keys/items
    attribute,    // object.name
    subscript,    // object[index]
    slice,        // object[start:stop:step]; absent parts are null
    call,         // object(arguments)
    filter,       // object | name(arguments)
    test,         // object is [not] name(arguments)
    unary,        // op: "not", "-", "+"; object
    binary,       // op: + - * / // % ** ~ == != < > <= >= in notin; left/right
    logical,      // op: "and"/"or"; left/right (short-circuit)
    conditional,  // then_branch if condition else else_branch (else_branch may be null)
  };

  Expr(Kind k, int l) : kind(k), line(l) {}

  Kind kind;
  int line;
  Value value;
  std::string name;  // variable, attribute, filter or test name; operator for unary/binary/logical
  bool negated = false;  // tests: "is not"
  ExprPtr object, left, right, start, stop, step;
  ExprPtr condition, then_branch, else_branch;
  std::vector<ExprPtr> items;
  std::vector<ExprPtr> keys;
  Arguments arguments;
};

struct Stmt;
using Body = std::vector<std::unique_ptr<Stmt>>;

struct Stmt {
  enum class Kind {
    text,        // text
    output,      // {{ expr }}
    if_chain,    // branches (condition, body); a null condition is the else branch
    for_loop,    // targets in iterable [if filter] body [else else_body]
    set,         // targets = expr, or namespace attribute (target_object.target_attribute)
    set_block,   // {% set name %}body{% endset %}
    macro,       // name(parameters with defaults) body
    loop_break,
    loop_continue,
    scope,       // body rendered as is: {% generation %} of transformers
  };

  Stmt(Kind k, int l) : kind(k), line(l) {}

  Kind kind;
  int line;
  std::string text;
  ExprPtr expr;
  std::vector<std::pair<ExprPtr, Body>> branches;
  std::vector<std::string> targets;
  std::string target_object, target_attribute;
  ExprPtr filter;
  Body body, else_body;
  std::string name;
  std::vector<std::pair<std::string, ExprPtr>> parameters;  // macro parameters; null default = required
};

}  // namespace troupe::jinja
