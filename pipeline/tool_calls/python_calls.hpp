#pragma once
// Tool calls written as a Python list of calls, the "pythonic" format (Llama 3.2 and 4 with their
// pythonic templates, LFM2 and LFM2.5 between <|tool_call_start|> and <|tool_call_end|>):
//
//   [get_weather(city="Paris", days=3), get_time(zone='CET')]
//
// read as vLLM reads it (Python's ast, then json.dumps of each call's keyword arguments with
// ensure_ascii=False): each call a plain name with keyword arguments whose values are literals —
// strings (either quote, triple-quoted, escapes, adjacent strings joined), numbers, True / False /
// None (and JSON's true / false / null, which vLLM accepts too), lists and dicts of them. Beyond
// vLLM's ast reading: a sign before a number (-1) and tuples (as lists) are literals too, rather
// than making the whole reply text. Anything else — a positional argument, an expression, a
// dotted name, text after the list, values nested deeper than 64 — makes the text not a list of calls.
#include <optional>
#include <string_view>
#include <vector>

#include "pipeline/tool_calls/tool_call.hpp"

namespace troupe {

// The calls of `text` (blanks around the list allowed; at least one call), each with a fresh id;
// nullopt when `text` is not such a list.
std::optional<std::vector<ToolCall>> python_calls(std::string_view text);

}  // namespace troupe
