#include "pipeline/chat_template/evaluator.hpp"

#include <cmath>

#include "pipeline/chat_template/builtins.hpp"
#include "pipeline/chat_template/chat_template_error.hpp"

namespace troupe::jinja {
namespace {

class Scope {
 public:
  explicit Scope(Scope* parent) : parent_(parent) {}

  const Value* find(const std::string& name) const {
    for (const Scope* scope = this; scope; scope = scope->parent_)
      if (const Value* value = scope->variables_.find(name)) return value;
    return nullptr;
  }
  void set(const std::string& name, Value value) { variables_.set(name, std::move(value)); }
  Dict& variables() { return variables_; }

 private:
  Scope* parent_;
  Dict variables_;
};

enum class Flow { normal, loop_break, loop_continue };

std::string binary_type_error(const std::string& op, const Value& a, const Value& b) {
  for (const Value* v : {&a, &b})
    if (v->is_undefined() && !v->undefined_hint().empty()) return v->undefined_hint();
  return "unsupported operand type(s) for " + op + ": '" + a.type_name() + "' and '" + b.type_name() + "'";
}

bool both_integers(const Value& a, const Value& b) {
  auto integral = [](const Value& v) { return v.kind() == Value::Kind::integer || v.kind() == Value::Kind::boolean; };
  return integral(a) && integral(b);
}

std::int64_t integer(const Value& v) { return v.kind() == Value::Kind::boolean ? v.as_bool() : v.as_int(); }

Value repeat(const Value& sequence, std::int64_t times) {
  if (sequence.is_string()) {
    std::string out;
    for (std::int64_t i = 0; i < times; ++i) out += sequence.as_string();
    return Value(std::move(out));
  }
  List out;
  for (std::int64_t i = 0; i < times; ++i) out.insert(out.end(), sequence.as_list().begin(), sequence.as_list().end());
  return sequence.is_tuple() ? Value::tuple(std::move(out)) : Value(std::move(out));
}

Value arithmetic(const std::string& op, const Value& a, const Value& b) {
  if (op == "~") return Value(a.str() + b.str());
  if (op == "+") {
    if (a.is_string() && b.is_string()) return Value(a.as_string() + b.as_string());
    if (a.is_list_or_tuple() && a.kind() == b.kind()) {
      List joined = a.as_list();
      joined.insert(joined.end(), b.as_list().begin(), b.as_list().end());
      return a.is_tuple() ? Value::tuple(std::move(joined)) : Value(std::move(joined));
    }
  }
  if (op == "*") {
    if ((a.is_string() || a.is_list_or_tuple()) && both_integers(b, b)) return repeat(a, integer(b));
    if ((b.is_string() || b.is_list_or_tuple()) && both_integers(a, a)) return repeat(b, integer(a));
  }
  if (!a.is_number() || !b.is_number()) {
    if (op == "%" && a.is_string()) throw UnsupportedFault("unsupported construct 'printf-style string formatting'");
    throw RenderFault(binary_type_error(op, a, b));
  }
  if (both_integers(a, b)) {
    // Python's integers never overflow; templates' are 64-bit, and a result beyond that range is
    // a clear render error rather than a wrapped value (or undefined behaviour).
    std::int64_t x = integer(a), y = integer(b), result = 0;
    auto checked = [&](bool overflowed) {
      if (overflowed) throw RenderFault("integer overflow in '" + op + "': the result exceeds 64 bits");
      return Value(result);
    };
    if (op == "+") return checked(__builtin_add_overflow(x, y, &result));
    if (op == "-") return checked(__builtin_sub_overflow(x, y, &result));
    if (op == "*") return checked(__builtin_mul_overflow(x, y, &result));
    if (op == "/") {
      if (y == 0) throw RenderFault("division by zero");
      return Value(static_cast<double>(x) / static_cast<double>(y));
    }
    if (op == "//" || op == "%") {
      if (y == 0) throw RenderFault("integer division or modulo by zero");
      if (y == -1) {  // x / -1 overflows for the smallest x; the remainder is always 0
        if (op == "%") return Value(std::int64_t{0});
        return checked(__builtin_sub_overflow(std::int64_t{0}, x, &result));
      }
      std::int64_t quotient = x / y, remainder = x % y;
      if (remainder != 0 && ((remainder < 0) != (y < 0))) {
        --quotient;
        remainder += y;
      }
      return Value(op == "//" ? quotient : remainder);
    }
    if (op == "**") {
      if (y < 0) return Value(std::pow(static_cast<double>(x), static_cast<double>(y)));
      // By squaring: at most 63 rounds, whatever y is (a loop of y multiplications hangs on 1 ** 2**62).
      result = 1;
      std::int64_t base = x;
      for (std::int64_t e = y; e > 0; e >>= 1) {
        if ((e & 1) != 0 && __builtin_mul_overflow(result, base, &result)) return checked(true);
        if (e > 1 && __builtin_mul_overflow(base, base, &base)) return checked(true);
      }
      return Value(result);
    }
  }
  double x = a.to_real(), y = b.to_real();
  if (op == "+") return Value(x + y);
  if (op == "-") return Value(x - y);
  if (op == "*") return Value(x * y);
  if (op == "**") return Value(std::pow(x, y));
  if (y == 0) throw RenderFault("float division by zero");
  if (op == "/") return Value(x / y);
  double quotient = std::floor(x / y);
  if (op == "//") return Value(quotient);
  if (op == "%") {
    double remainder = std::fmod(x, y);
    if (remainder != 0 && ((remainder < 0) != (y < 0))) remainder += y;
    return Value(remainder);
  }
  throw RenderFault("unknown operator " + op);
}

class Evaluator {
 public:
  std::string render(const Body& body, Dict globals) {
    Scope root(nullptr);
    root.variables() = std::move(globals);
    std::string out;
    exec_body(body, root, out);
    return out;
  }

 private:
  [[noreturn]] static void rethrow_with_line(int line, const RenderFault& fault) {
    bool unsupported = dynamic_cast<const UnsupportedFault*>(&fault) != nullptr;
    throw ChatTemplateError(unsupported ? ChatTemplateError::Kind::unsupported : ChatTemplateError::Kind::render,
                            "chat template line " + std::to_string(line) + ": " + fault.what());
  }

  Flow exec_body(const Body& body, Scope& scope, std::string& out) {
    for (const auto& stmt : body) {
      Flow flow = exec(*stmt, scope, out);
      if (flow != Flow::normal) return flow;
    }
    return Flow::normal;
  }

  Flow exec(const Stmt& stmt, Scope& scope, std::string& out) {
    try {
      return exec_statement(stmt, scope, out);
    } catch (const RenderFault& fault) {
      rethrow_with_line(stmt.line, fault);
    }
  }

  void bind_targets(const std::vector<std::string>& targets, const Value& value, Scope& scope) {
    if (targets.size() == 1) {
      scope.set(targets[0], value);
      return;
    }
    List items = iterate(value);
    if (items.size() != targets.size())
      throw RenderFault("cannot unpack " + std::to_string(items.size()) + " values into " +
                        std::to_string(targets.size()) + " names");
    for (std::size_t i = 0; i < targets.size(); ++i) scope.set(targets[i], items[i]);
  }

  Flow exec_statement(const Stmt& stmt, Scope& scope, std::string& out) {
    switch (stmt.kind) {
      case Stmt::Kind::text: out += stmt.text; return Flow::normal;
      case Stmt::Kind::output: out += eval(*stmt.expr, scope).str(); return Flow::normal;
      case Stmt::Kind::if_chain:
        for (const auto& [condition, body] : stmt.branches)
          if (!condition || eval(*condition, scope).truthy()) return exec_body(body, scope, out);
        return Flow::normal;
      case Stmt::Kind::for_loop: exec_for(stmt, scope, out); return Flow::normal;
      case Stmt::Kind::set: {
        Value value = eval(*stmt.expr, scope);
        if (!stmt.target_object.empty()) {
          const Value* target = scope.find(stmt.target_object);
          if (!target || target->kind() != Value::Kind::ns)
            throw RenderFault("cannot assign attribute on non-namespace object '" + stmt.target_object + "'");
          target->as_namespace().attributes.set(stmt.target_attribute, std::move(value));
        } else {
          bind_targets(stmt.targets, value, scope);
        }
        return Flow::normal;
      }
      case Stmt::Kind::set_block: {
        std::string captured;
        Scope inner(&scope);
        exec_body(stmt.body, inner, captured);
        scope.set(stmt.targets[0], Value(std::move(captured)));
        return Flow::normal;
      }
      case Stmt::Kind::macro: define_macro(stmt, scope); return Flow::normal;
      case Stmt::Kind::loop_break: return Flow::loop_break;
      case Stmt::Kind::loop_continue: return Flow::loop_continue;
      case Stmt::Kind::scope: return exec_body(stmt.body, scope, out);
    }
    return Flow::normal;
  }

  void exec_for(const Stmt& stmt, Scope& scope, std::string& out) {
    List items = iterate(eval(*stmt.expr, scope));
    if (stmt.filter) {
      // The filter sees each candidate bound to the loop targets, before `loop` exists.
      List kept;
      for (const auto& item : items) {
        Scope probe(&scope);
        bind_targets(stmt.targets, item, probe);
        if (eval(*stmt.filter, probe).truthy()) kept.push_back(item);
      }
      items = std::move(kept);
    }
    if (items.empty()) {
      Scope inner(&scope);
      exec_body(stmt.else_body, inner, out);
      return;
    }
    auto length = static_cast<std::int64_t>(items.size());
    Value items_value(items);
    for (std::int64_t i = 0; i < length; ++i) {
      Scope iteration(&scope);
      bind_targets(stmt.targets, items[static_cast<std::size_t>(i)], iteration);
      iteration.set("loop", loop_object(items_value, i, length));
      if (exec_body(stmt.body, iteration, out) == Flow::loop_break) break;
    }
  }

  static Value loop_object(const Value& items, std::int64_t i, std::int64_t length) {
    Dict loop;
    loop.set("index", Value(i + 1));
    loop.set("index0", Value(i));
    loop.set("revindex", Value(length - i));
    loop.set("revindex0", Value(length - i - 1));
    loop.set("first", Value(i == 0));
    loop.set("last", Value(i == length - 1));
    loop.set("length", Value(length));
    loop.set("depth", Value(1));
    loop.set("depth0", Value(0));
    if (i > 0) loop.set("previtem", items.as_list()[static_cast<std::size_t>(i - 1)]);
    if (i + 1 < length) loop.set("nextitem", items.as_list()[static_cast<std::size_t>(i + 1)]);
    loop.set("cycle", Value(Callable{"loop.cycle", [i](const CallArgs& args) {
                                       if (args.positional.empty() || !args.named.empty())
                                         throw RenderFault("loop.cycle() needs positional arguments");
                                       return args.positional[static_cast<std::size_t>(i) % args.positional.size()];
                                     }}));
    return Value(std::move(loop));
  }

  void define_macro(const Stmt& stmt, Scope& scope) {
    // The macro closes over the scope it was defined in; that scope outlives every call within a render.
    Scope* definition_scope = &scope;
    const Stmt* macro = &stmt;
    scope.set(stmt.name, Value(Callable{stmt.name, [this, macro, definition_scope](const CallArgs& args) {
                                           return call_macro(*macro, *definition_scope, args);
                                         }}));
  }

  Value call_macro(const Stmt& macro, Scope& definition_scope, const CallArgs& args) {
    if (args.positional.size() > macro.parameters.size())
      throw RenderFault("macro '" + macro.name + "' takes " + std::to_string(macro.parameters.size()) + " arguments");
    Scope call_scope(&definition_scope);
    std::vector<bool> bound(macro.parameters.size(), false);
    for (std::size_t i = 0; i < args.positional.size(); ++i) {
      call_scope.set(macro.parameters[i].first, args.positional[i]);
      bound[i] = true;
    }
    for (const auto& [name, value] : args.named) {
      std::size_t i = 0;
      while (i < macro.parameters.size() && macro.parameters[i].first != name) ++i;
      if (i == macro.parameters.size()) throw RenderFault("macro '" + macro.name + "' has no parameter '" + name + "'");
      call_scope.set(name, value);
      bound[i] = true;
    }
    for (std::size_t i = 0; i < macro.parameters.size(); ++i) {
      if (bound[i]) continue;
      const auto& [name, default_value] = macro.parameters[i];
      call_scope.set(name, default_value ? eval(*default_value, call_scope)
                                         : Value::undefined("parameter '" + name + "' was not provided"));
    }
    std::string out;
    exec_body(macro.body, call_scope, out);
    return Value(std::move(out));
  }

  Value eval(const Expr& expr, Scope& scope) {
    try {
      return eval_expression(expr, scope);
    } catch (const RenderFault& fault) {
      rethrow_with_line(expr.line, fault);
    }
  }

  CallArgs eval_arguments(const Arguments& arguments, Scope& scope) {
    CallArgs args;
    for (const auto& positional : arguments.positional) args.positional.push_back(eval(*positional, scope));
    for (const auto& [name, value] : arguments.named) args.named.emplace_back(name, eval(*value, scope));
    return args;
  }

  std::optional<std::int64_t> slice_bound(const ExprPtr& expr, Scope& scope) {
    if (!expr) return std::nullopt;
    Value bound = eval(*expr, scope);
    if (bound.is_none()) return std::nullopt;
    if (bound.kind() == Value::Kind::integer) return bound.as_int();
    if (bound.kind() == Value::Kind::boolean) return bound.as_bool() ? 1 : 0;
    throw RenderFault("slice indices must be integers or None");
  }

  Value eval_expression(const Expr& expr, Scope& scope) {
    switch (expr.kind) {
      case Expr::Kind::literal: return expr.value;
      case Expr::Kind::name: {
        if (const Value* value = scope.find(expr.name)) return *value;
        return Value::undefined("'" + expr.name + "' is undefined");
      }
      case Expr::Kind::list:
      case Expr::Kind::tuple: {
        List items;
        for (const auto& item : expr.items) items.push_back(eval(*item, scope));
        return expr.kind == Expr::Kind::tuple ? Value::tuple(std::move(items)) : Value(std::move(items));
      }
      case Expr::Kind::dict: {
        Dict dict;
        for (std::size_t i = 0; i < expr.keys.size(); ++i) {
          Value key = eval(*expr.keys[i], scope);
          if (key.is_list() || key.is_dict()) throw RenderFault("unhashable type: '" + key.type_name() + "'");
          if (key.is_undefined()) throw RenderFault("a dict key is undefined");
          dict.set(std::move(key), eval(*expr.items[i], scope));
        }
        return Value(std::move(dict));
      }
      case Expr::Kind::attribute: return get_attribute(eval(*expr.object, scope), expr.name);
      case Expr::Kind::subscript: {
        Value object = eval(*expr.object, scope);
        return get_item(object, eval(*expr.right, scope));
      }
      case Expr::Kind::slice: {
        Value object = eval(*expr.object, scope);
        auto start = slice_bound(expr.start, scope);
        auto stop = slice_bound(expr.stop, scope);
        auto step = slice_bound(expr.step, scope);
        return get_slice(object, start, stop, step);
      }
      case Expr::Kind::call: {
        Value callee = eval(*expr.object, scope);
        CallArgs args = eval_arguments(expr.arguments, scope);
        if (callee.kind() == Value::Kind::callable) return callee.as_callable().invoke(args);
        if (callee.is_undefined())
          throw RenderFault(callee.undefined_hint().empty() ? "calling an undefined value" : callee.undefined_hint());
        throw RenderFault("'" + callee.type_name() + "' object is not callable");
      }
      case Expr::Kind::filter: {
        Value input = eval(*expr.object, scope);
        return apply_filter(expr.name, input, eval_arguments(expr.arguments, scope));
      }
      case Expr::Kind::test: {
        Value input = eval(*expr.object, scope);
        bool result = apply_test(expr.name, input, eval_arguments(expr.arguments, scope));
        return Value(result != expr.negated);
      }
      case Expr::Kind::unary: {
        Value operand = eval(*expr.object, scope);
        if (expr.name == "not") return Value(!operand.truthy());
        if (operand.kind() == Value::Kind::real) return Value(expr.name == "-" ? -operand.as_real() : operand.as_real());
        if (operand.kind() == Value::Kind::integer || operand.kind() == Value::Kind::boolean) {
          if (expr.name != "-") return Value(integer(operand));
          std::int64_t negated = 0;
          if (__builtin_sub_overflow(std::int64_t{0}, integer(operand), &negated)) {
            throw RenderFault("integer overflow in unary '-': the result exceeds 64 bits");
          }
          return Value(negated);
        }
        throw RenderFault("bad operand type for unary " + expr.name + ": '" + operand.type_name() + "'");
      }
      case Expr::Kind::logical: {
        // Python's and/or return an operand, not a bool.
        Value left = eval(*expr.left, scope);
        if (expr.name == "and") return left.truthy() ? eval(*expr.right, scope) : left;
        return left.truthy() ? left : eval(*expr.right, scope);
      }
      case Expr::Kind::conditional:
        if (eval(*expr.condition, scope).truthy()) return eval(*expr.then_branch, scope);
        if (expr.else_branch) return eval(*expr.else_branch, scope);
        return Value::undefined("the inline if-expression had no else branch");
      case Expr::Kind::binary: {
        Value left = eval(*expr.left, scope);
        Value right = eval(*expr.right, scope);
        const std::string& op = expr.name;
        if (op == "==") return Value(left == right);
        if (op == "!=") return Value(!(left == right));
        if (op == "<") return Value(python_less(left, right));
        if (op == ">") return Value(python_less(right, left));
        if (op == "<=") return Value(!python_less(right, left));
        if (op == ">=") return Value(!python_less(left, right));
        if (op == "in") return Value(contains(right, left));
        if (op == "notin") return Value(!contains(right, left));
        return arithmetic(op, left, right);
      }
    }
    throw RenderFault("unknown expression");
  }
};

}  // namespace

std::string render_template(const Body& body, Dict globals) { return Evaluator().render(body, std::move(globals)); }

}  // namespace troupe::jinja
