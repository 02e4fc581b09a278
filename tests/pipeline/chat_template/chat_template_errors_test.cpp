// A template troupe cannot render exactly must fail with the line and the construct, never render
// something else; raise_exception() in a template surfaces its own message.
#include <catch2/catch.hpp>

#include <string>

#include "pipeline/chat_template/chat_template.hpp"

namespace {

using Kind = troupe::ChatTemplateError::Kind;

const boost::json::array kMessages{boost::json::object{{"role", "user"}, {"content", "hi"}}};

// Returns the error a template raises at construction or render; fails the test if it renders.
troupe::ChatTemplateError failure_of(const std::string& source, const boost::json::array& messages = kMessages) {
  try {
    troupe::ChatTemplate chat_template(source);
    std::string rendered = chat_template.render(messages);
    FAIL("rendered: " << rendered);
  } catch (const troupe::ChatTemplateError& error) {
    return error;
  }
  throw std::logic_error("unreachable");
}

}  // namespace

TEST_CASE("unsupported constructs are rejected at construction with line and construct", "[chat_template][errors]") {
  struct Case {
    const char* source;
    const char* line;
    const char* construct;
  };
  const Case cases[] = {
      {"text\n{{ messages | wordwrap }}", "line 2", "unsupported construct 'filter 'wordwrap''"},
      {"{% for m in messages %}\n{% if m is escaped %}{% endif %}{% endfor %}", "line 2", "test 'escaped'"},
      {"\n\n{% include 'other.jinja' %}", "line 3", "{% include %}"},
      {"{% call foo() %}x{% endcall %}", "line 1", "{% call %}"},
      {"{% for m in messages recursive %}{% endfor %}", "line 1", "recursive for loop"},
      {"{{ 1 < 2 < 3 }}", "line 1", "chained comparison"},
      {"{% set x | upper %}a{% endset %}", "line 1", "filtered block set"},
      {"line1\n{% frobnicate %}", "line 2", "unknown tag"},
      {"{{ f(*args) }}", "line 1", "*args/**kwargs"},
  };
  for (const auto& test : cases) {
    INFO(test.source);
    auto error = failure_of(test.source);
    CHECK(error.kind() == Kind::unsupported);
    CHECK_THAT(error.what(), Catch::Matchers::Contains(test.line) && Catch::Matchers::Contains(test.construct));
  }
}

TEST_CASE("malformed templates are syntax errors with the line", "[chat_template][errors]") {
  const std::pair<const char*, const char*> cases[] = {
      {"a\nb {{ messages", "line 2"},
      {"{% if true %}\nno end", "missing '{% endif %}'"},
      {"{% endfor %}", "unexpected '{% endfor %}'"},
      {"{{ 'unterminated }}", "unterminated string literal"},
      {"{# open comment", "unterminated comment"},
      {"{{ (1 }}", "unexpected '}'"},
      {"{{ 1 + }}", "unexpected '}}' in expression"},
  };
  for (const auto& [source, expected] : cases) {
    INFO(source);
    auto error = failure_of(source);
    CHECK(error.kind() == Kind::syntax);
    CHECK_THAT(error.what(), Catch::Matchers::Contains(expected));
  }
}

TEST_CASE("render-time failures name the template line", "[chat_template][errors]") {
  auto type_error = failure_of("ok\n{{ 'a' + 1 }}");
  CHECK(type_error.kind() == Kind::render);
  CHECK_THAT(type_error.what(), Catch::Matchers::Contains("line 2") &&
                                    Catch::Matchers::Contains("unsupported operand type(s) for +: 'str' and 'int'"));

  auto missing = failure_of("{{ messages[0].nope.deeper }}");
  CHECK(missing.kind() == Kind::render);
  CHECK_THAT(missing.what(), Catch::Matchers::Contains("'dict object' has no attribute 'nope'"));

  // Python would print a memory address here: refuse rather than print something else.
  auto generator = failure_of("{{ messages | map(attribute='role') }}");
  CHECK(generator.kind() == Kind::unsupported);
  CHECK_THAT(generator.what(), Catch::Matchers::Contains("generator"));

  auto method = failure_of("\n\n{{ 'abc'.title() }}");
  CHECK(method.kind() == Kind::unsupported);
  CHECK_THAT(method.what(), Catch::Matchers::Contains("line 3") && Catch::Matchers::Contains("str.title()"));

  auto not_namespace = failure_of("{% set d = {} %}{% set d.x = 1 %}");
  CHECK_THAT(not_namespace.what(), Catch::Matchers::Contains("non-namespace"));

  CHECK(failure_of("{{ 'x' }}", boost::json::array{}).kind() == Kind::render);
}

TEST_CASE("raise_exception propagates the template's message unchanged", "[chat_template][errors]") {
  auto error = failure_of(
      "{% if messages[0]['role'] != 'system' %}\n"
      "  {{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}\n"
      "{% endif %}");
  CHECK(error.kind() == Kind::raised);
  CHECK(std::string(error.what()) == "Conversation roles must alternate user/assistant/user/assistant/...");
}

TEST_CASE("integers beyond 64 bits are a render error, and powers finish at once", "[chat_template][errors]") {
  for (const char* source : {"{{ 3580515295462551681 * 1892224959 }}", "{{ 9223372036854775807 + 1 }}",
                             "{{ -9223372036854775807 - 2 }}", "{{ 2 ** 64 }}", "{{ (-9223372036854775807 - 1) // -1 }}",
                             "{{ -(-9223372036854775807 - 1) }}"}) {
    const auto error = failure_of(source);
    CHECK(error.kind() == Kind::render);
    CHECK_THAT(error.what(), Catch::Matchers::Contains("integer overflow"));
  }
  troupe::ChatTemplate powers("{{ 1 ** 4611686018427387904 }} {{ (-1) ** 4611686018427387905 }} {{ 2 ** 62 }} "
                              "{{ (-9223372036854775807 - 1) % -1 }} {{ 7 // -2 }}");
  CHECK(powers.render(kMessages) == "1 -1 4611686018427387904 0 -4");
}

TEST_CASE("unary minus on a string or an undefined value is a type error", "[chat_template][errors]") {
  CHECK_THAT(failure_of("{{ -'a' }}").what(), Catch::Matchers::Contains("bad operand type for unary -: 'str'"));
  CHECK(failure_of("{{ --nothing }}").kind() == Kind::render);
}
