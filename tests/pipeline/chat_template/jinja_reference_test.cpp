// Tricky Jinja constructs, each with the output jinja2 3.1.6 produces in the environment transformers
// renders chat templates with (trim_blocks, lstrip_blocks, its own tojson and strftime_now, clock pinned
// to 2026-11-23 09:30). The expected strings were produced by that reference, not written by hand.
#include <catch2/catch.hpp>

#include <string>

#include "pipeline/chat_template/chat_template.hpp"

namespace {

struct ReferenceCase {
  const char* name;
  const char* source;
  const char* context;  // JSON object of template variables
  const char* expected;
};

std::string render_with_context(const std::string& source, const std::string& context) {
  troupe::ChatTemplateOptions options;
  options.extra_context = boost::json::parse(context).as_object();
  std::tm now{};
  now.tm_year = 2026 - 1900;
  now.tm_mon = 10;
  now.tm_mday = 23;
  now.tm_hour = 9;
  now.tm_min = 30;
  now.tm_wday = 1;  // a Monday
  options.now = now;
  boost::json::array messages{boost::json::object{{"role", "user"}, {"content", "hi"}}};
  return troupe::ChatTemplate(source).render(messages, options);
}

void check_all(const std::vector<ReferenceCase>& cases) {
  for (const auto& test : cases) {
    INFO(test.name << ": " << test.source);
    CHECK(render_with_context(test.source, test.context) == test.expected);
  }
}

}  // namespace

TEST_CASE("whitespace control and the lexer settings transformers uses (trim_blocks, lstrip_blocks)", "[chat_template][jinja]") {
  check_all({
    {"ws_dash", R"__(a  
  {{- 'b' -}}  
  c)__", R"__({})__", R"__(abc)__"},
    {"trim_blocks", R"__({% if true %}
yes
{% endif %}
end)__", R"__({})__", R"__(yes
end)__"},
    {"lstrip_blocks", R"__(x
    {% if true %}
    y
    {% endif %}
z)__", R"__({})__", R"__(x
    y
z)__"},
    {"lstrip_not_var", R"__(x
    {{ 'v' }}
)__", R"__({})__", R"__(x
    v)__"},
    {"plus_disables", R"__(x
    {%+ if true %}
A{% endif +%}
B)__", R"__({})__", R"__(x
    A
B)__"},
    {"comment", R"__(a
  {# note #}
b {#- x -#} c)__", R"__({})__", R"__(a
bc)__"},
    {"trailing_newline", R"__(hello
)__", R"__({})__", R"__(hello)__"},
    {"raw", R"__({% raw %}{{ not parsed }}{% endraw %})__", R"__({})__", R"__({{ not parsed }})__"},
    {"generation_tag", R"__(a{% generation %}b{{ 1 }}{% endgeneration %}c)__", R"__({})__", R"__(ab1c)__"},
  });
}

TEST_CASE("loops, loop variables and jinja2 scoping", "[chat_template][jinja]") {
  check_all({
    {"loop_vars", R"__({% for x in ['a','b','c'] %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }}{{ loop.previtem if loop.previtem is defined else '-' }}{{ loop.nextitem | default('-') }};{% endfor %})__", R"__({})__", R"__(1032TrueFalse3-b;2121FalseFalse3ac;3210FalseTrue3b-;)__"},
    {"loop_filter_else", R"__({% for x in [1,2,3,4] if x is even %}{{ x }}/{{ loop.length }} {% else %}none{% endfor %}|{% for x in [] %}{{ x }}{% else %}empty{% endfor %})__", R"__({})__", R"__(2/2 4/2 |empty)__"},
    {"loop_scope", R"__({% set x = 'outer' %}{% for i in [1,2] %}{% set x = 'inner' ~ i %}{{ x }} {% endfor %}{{ x }})__", R"__({})__", R"__(inner1 inner2 outer)__"},
    {"if_scope", R"__({% if true %}{% set y = 5 %}{% endif %}{{ y }})__", R"__({})__", R"__(5)__"},
    {"namespace", R"__({% set ns = namespace(count=0, found=false) %}{% for m in ['a','bb','ccc'] %}{% if m|length > 1 %}{% set ns.count = ns.count + 1 %}{% set ns.found = true %}{% endif %}{% endfor %}{{ ns.count }} {{ ns.found }})__", R"__({})__", R"__(2 True)__"},
    {"loop_controls", R"__({% for i in range(10) %}{% if i == 2 %}{% continue %}{% endif %}{% if i == 5 %}{% break %}{% endif %}{{ i }}{% endfor %})__", R"__({})__", R"__(0134)__"},
    {"cycle", R"__({% for i in range(4) %}{{ loop.cycle('odd', 'even') }} {% endfor %})__", R"__({})__", R"__(odd even odd even )__"},
    {"nested_loop", R"__({% for a in [1,2] %}{% for b in 'xy' %}{{ a }}{{ b }}{{ loop.index }} {% endfor %}{{ loop.index }}|{% endfor %})__", R"__({})__", R"__(1x1 1y2 1|2x1 2y2 2|)__"},
    {"set_tuple", R"__({% set a, b = [1, 2] %}{{ a }}{{ b }})__", R"__({})__", R"__(12)__"},
    {"block_set", R"__({% set body %}  inner {{ 1 + 1 }}
{% endset %}[{{ body }}])__", R"__({})__", R"__([  inner 2
])__"},
    {"macro", R"__({% macro greet(name, punct='!') %}Hi {{ name }}{{ punct }}{% endmacro %}{{ greet('Ann') }} {{ greet('Bob', punct='?') }})__", R"__({})__", R"__(Hi Ann! Hi Bob?)__"},
  });
}

TEST_CASE("expressions: slicing, indexing, operators, Python printing", "[chat_template][jinja]") {
  check_all({
    {"slicing", R"__({{ [1,2,3,4,5][::-1] }} {{ [1,2,3,4,5][1:] }} {{ [1,2,3,4,5][-2:] }} {{ [1,2,3,4,5][::2] }} {{ 'héllo'[1:3] }} {{ 'abc'[::-1] }} {{ [1,2,3][5:] }} {{ 'abcdef'[-100:2] }})__", R"__({})__", R"__([5, 4, 3, 2, 1] [2, 3, 4, 5] [4, 5] [1, 3, 5] él cba [] ab)__"},
    {"indexing", R"__({{ 'héllo'[1] }} {{ [1,2,3][-1] }} {{ {'a': 1}['a'] }} {{ {'a': {'b': 2}}.a.b }})__", R"__({})__", R"__(é 3 1 2)__"},
    {"concat", R"__({{ 'a' + 'b' ~ 1 ~ none ~ true }} {{ 1 + 2 * 3 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 7 / 2 }} {{ 2 ** 10 }})__", R"__({})__", R"__(ab1NoneTrue 7 3 -4 1 2 3.5 1024)__"},
    {"ternary_logic", R"__({{ 'y' if 1 > 2 else 'n' }} {{ 0 or 'fallback' }} {{ 1 and 'second' }} {{ not [] }} {{ 'a' in ['a'] }} {{ 'z' not in 'abc' }} {{ [1] == [1] }} {{ 1 == 1.0 }} {{ true == 1 }})__", R"__({})__", R"__(n fallback second True True True True True True)__"},
    {"dict_access", R"__({% set d = {'role': 'user', 'items': 3} %}{{ d.role }} {{ d['role'] }} {{ d.missing is defined }} {{ d.get('role') }} {{ d.get('nope', 'dflt') }} {{ d['items'] }} {% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %})__", R"__({})__", R"__(user user False user dflt 3 role=user;items=3;)__"},
    {"repr_output", R"__({{ ['a', "it's", 1, 2.5, none, true, {'k': 'v'}] }} {{ none }} {{ 1e100 }} {{ 0.1 + 0.2 }})__", R"__({})__", R"__(['a', "it's", 1, 2.5, None, True, {'k': 'v'}] None 1e+100 0.30000000000000004)__"},
    {"length_unicode", R"__({{ 'héllo😀'|length }} {{ [1,2]|length }} {{ {'a':1}|length }})__", R"__({})__", R"__(6 2 1)__"},
    {"tuples", R"__({{ (1,) }} {{ (1, 2) }} {{ () }} {{ (1,2) == [1,2] }} {{ ((1,2))[::-1] }} {{ {'k': 1, 'j': 2}|items|list }} {{ (1,2)|tojson }})__", R"__({})__", R"__((1,) (1, 2) () False (2, 1) [('k', 1), ('j', 2)] [1, 2])__"},
    {"generators", R"__({{ 'y' if []|select else 'n' }} {% set g = [1,2,3]|select %}{{ g|first }}{{ g|list }}{{ g|list }} {{ {'a':1}.items() }} {{ {'a':1}.items()|length }} {{ 'a' in {'a':1}.keys() }} {{ {'a':1}.values() is sequence }} {{ [3,1]|map('string') is iterable }} {{ 'ab'|reverse }} {{ [1,2]|select|reverse }})__", R"__({})__", R"__(y 1[2, 3][] dict_items([('a', 1)]) 1 True False True ba [2, 1])__"},
    {"undefined_ops", R"__({{ missing }}|{{ missing|length }}|{{ missing is iterable }}|{% for x in missing %}x{% endfor %}|{{ missing|default('d') }}|{{ missing == none }})__", R"__({})__", R"__(|0|True||d|False)__"},
    {"strftime", R"__({{ strftime_now('%d %b %Y') }} {{ strftime_now('%A %B %H:%M') }})__", R"__({})__", R"__(23 Nov 2026 Monday November 09:30)__"},
  });
}

TEST_CASE("filters, tests and string methods (tojson as json.dumps)", "[chat_template][jinja]") {
  check_all({
    {"tojson", R"__({{ {'b': 1, 'a': [1.5, 2.0, 1e-05, 1e16, true, none, 'é"\n']}|tojson }})__", R"__({})__", R"__({"b": 1, "a": [1.5, 2.0, 1e-05, 1e+16, true, null, "é\"\n"]})__"},
    {"tojson_indent", R"__({{ {'a': [1, {}], 'b': []}|tojson(indent=2) }})__", R"__({})__", R"__({
  "a": [
    1,
    {}
  ],
  "b": []
})__"},
    {"tojson_sort_sep", R"__({{ {'b': 1, 'a': 2}|tojson(sort_keys=true, separators=(',', ':')) }})__", R"__({})__", R"__({"a":2,"b":1})__"},
    {"tojson_ascii", R"__({{ 'é😀'|tojson(ensure_ascii=true) }})__", R"__({})__", R"__("\u00e9\ud83d\ude00")__"},
    {"filters", R"__({{ '  x  '|trim }}|{{ [3,1,2]|first }}{{ [3,1,2]|last }}|{{ ['a','b']|join(', ') }}|{{ 'Hello'|upper }}{{ 'Hello'|lower }}|{{ undefined_var|default('dflt') }}|{{ ''|default('e', true) }}|{{ 'a-b-a'|replace('a', 'x') }}|{{ {'k': 1, 'j': 2}|items|list }}|{{ 'abc'|list }}|{{ 42|string ~ 'x' }}|{{ 'xxhixx'|trim('x') }})__", R"__({})__", R"__(x|32|a, b|HELLOhello|dflt|e|x-b-x|[('k', 1), ('j', 2)]|['a', 'b', 'c']|42x|hi)__"},
    {"map_select", R"__({{ [{'n': 'a', 'on': true}, {'n': 'b', 'on': false}]|selectattr('on')|map(attribute='n')|join }}|{{ [{'n': 'a', 'on': true}, {'n': 'b', 'on': false}]|rejectattr('on')|map(attribute='n')|list }}|{{ [1,2,3,4]|select('odd')|list }}|{{ ['a','code_interpreter','b']|reject('equalto', 'code_interpreter')|join(',') }}|{{ [1,2]|map('string')|join('+') }})__", R"__({})__", R"__(a|['b']|[1, 3]|a,b|1+2)__"},
    {"tests", R"__({{ x is defined }}{{ y is undefined }}{{ none is none }}{{ 'a' is string }}{{ {} is mapping }}{{ [] is iterable }}{{ 3 is number }}{{ 3 is integer }}{{ 3.0 is float }}{{ 4 is divisibleby 2 }}{{ 'a' is in 'abc' }}{{ 1 is sameas 1 }}{{ x is not none }})__", R"__({"x": 1})__", R"__(TrueTrueTrueTrueTrueTrueTrueTrueTrueTrueTrueTrueTrue)__"},
    {"string_methods", R"__({{ 'a,b,,c'.split(',') }} {{ '  a b  '.split() }} {{ '\nxx\n'.strip('\n') }} {{ 'xxa'.lstrip('x') }} {{ 'axx'.rstrip('x') }} {{ 'hello'.startswith('he') }} {{ 'hello'.endswith(('lo', 'x')) }} {{ 'aaa'.replace('a', 'b', 2) }} {{ 'MiXed'.upper() }})__", R"__({})__", R"__(['a', 'b', '', 'c'] ['a', 'b'] xx a a True True bba MIXED)__"},
    {"unicode_strip", R"__([{{ '　 x \n'|trim }}] {{ 'a b c'.split() }})__", R"__({})__", R"__([x] ['a', 'b', 'c'])__"},
  });
}

// jinja2's sort and dictsort (Ministral 3's template sorts a message's two content blocks by type;
// Gemma 4's and Seed-OSS's walk mappings in dictsort order): case-insensitive by default, stable,
// reverse keeping equal items in order, several attributes as one key.
TEST_CASE("sort and dictsort filters", "[chat_template][jinja]") {
  check_all({
    {"sort_plain", R"__({{ [3, 1, 2] | sort | join(',') }})__", R"__({})__", R"__(1,2,3)__"},
    {"sort_reverse_case", R"__({{ ['b', 'A', 'a', 'C'] | sort(reverse=true) | join(',') }}|{{ ['b', 'A', 'a', 'C'] | sort(case_sensitive=true) | join(',') }})__", R"__({})__", R"__(C,b,A,a|A,C,a,b)__"},
    {"sort_stable_insensitive", R"__({{ ['b', 'A', 'a', 'B'] | sort | join(',') }})__", R"__({})__", R"__(A,a,b,B)__"},
    {"sort_attribute", R"__({% for b in blocks | sort(attribute='type') %}{{ b.type }}:{{ b.v }};{% endfor %})__", R"__({"blocks": [{"type": "text", "v": 1}, {"type": "image_url", "v": 2}, {"type": "Image", "v": 3}]})__", R"__(Image:3;image_url:2;text:1;)__"},
    {"sort_attributes", R"__({% for b in xs | sort(attribute='a,b.c') %}{{ b.a }}{{ b.b.c }} {% endfor %})__", R"__({"xs": [{"a": 2, "b": {"c": 1}}, {"a": 1, "b": {"c": 9}}, {"a": 1, "b": {"c": 3}}]})__", R"__(13 19 21 )__"},
    {"dictsort", R"__({% for k, v in d | dictsort %}{{ k }}={{ v }} {% endfor %}|{% for k, v in d | dictsort(by='value', reverse=true) %}{{ k }} {% endfor %})__", R"__({"d": {"b": 1, "a": 3, "C": 2}})__", R"__(a=3 b=1 C=2 |a C b )__"},
  });
}

// Dict keys other than strings (Seed-OSS's template keys its thinking budgets by integers): looked up,
// tested with `in`, sorted, printed and written as JSON as Python does; 1, 1.0 and True one key.
TEST_CASE("dict literals with integer, float, boolean and None keys", "[chat_template][jinja]") {
  check_all({
    {"int_keys", R"__({% set d = {0: 'a', 512: 'b', 2: 'c'} %}{% for k, v in d | dictsort %}{{ k }}={{ v }};{% endfor %}{{ d[512] }}{{ d.get(2) }}{{ 0 in d }}{{ 7 in d }})__", R"__({})__", R"__(0=a;2=c;512=b;bcTrueFalse)__"},
    {"mixed_keys", R"__({% set d = {1: 'x', True: 'y', 'a': 'z', 2.5: 'w', none: 'n'} %}{{ d | length }} {{ d[1] }} {{ d[2.5] }} {{ d[none] }} {{ d | tojson }})__", R"__({})__", R"__(4 y w n {"1": "y", "a": "z", "2.5": "w", "null": "n"})__"},
    {"key_repr", R"__({{ {3: 'a', 'b': 4} }} {{ {3: 'a'} == {3.0: 'a'} }} {{ {3: 1} | tojson(sort_keys=true) }})__", R"__({})__", R"__({3: 'a', 'b': 4} True {"3": 1})__"},
    {"items", R"__({% for k, v in {10: 1, 'x': 2}.items() %}{{ k }}:{{ v }} {% endfor %}{{ {10: 1}.keys() | list }})__", R"__({})__", R"__(10:1 x:2 [10])__"},
  });
}
