#pragma once
// Renders a parsed template: executes statements with jinja2's scoping (a for-loop iteration and a macro
// call get their own scope; if-blocks do not) and evaluates expressions with Python semantics.
// One Evaluator serves one render; the tree it walks is shared and never modified.
#include <string>

#include "pipeline/chat_template/ast.hpp"
#include "pipeline/chat_template/value.hpp"

namespace troupe::jinja {

// Renders `body` with the given global variables. Throws ChatTemplateError (render or raised).
std::string render_template(const Body& body, Dict globals);

}  // namespace troupe::jinja
