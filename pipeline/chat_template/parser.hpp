#pragma once
// Builds the syntax tree from tokens (a recursive-descent parser following jinja2's grammar and operator
// precedence). Everything that cannot be rendered exactly is rejected here, at construction, with the line
// and the construct: unknown tags, filters and tests, chained comparisons, recursive loops, ...
#include <vector>

#include "pipeline/chat_template/ast.hpp"
#include "pipeline/chat_template/lexer.hpp"

namespace troupe::jinja {

Body parse_template(const std::vector<Token>& tokens);

}  // namespace troupe::jinja
