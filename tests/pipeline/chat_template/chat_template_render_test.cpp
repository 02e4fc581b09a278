// ChatTemplate's own behaviour around the interpreter: the message preprocessing transformers applies,
// the variables it provides, and concurrent rendering of one parsed template.
#include <catch2/catch.hpp>

#include <string>
#include <thread>
#include <vector>

#include "pipeline/chat_template/chat_template.hpp"

namespace {

boost::json::array parse_messages(const char* json) { return boost::json::parse(json).as_array(); }

}  // namespace

TEST_CASE("null message fields are dropped as transformers drops them", "[chat_template]") {
  troupe::ChatTemplate chat_template(
      "{% for m in messages %}{{ m.role }}:{{ m.content is defined }}:{{ m.tool_calls is defined }};{% endfor %}");
  auto messages = parse_messages(
      R"([{"role": "user", "content": "q"},
          {"role": "assistant", "content": null, "tool_calls": [{"function": {"name": "f", "arguments": "{}"}}]}])");
  CHECK(chat_template.render(messages) == "user:True:False;assistant:False:True;");
}

TEST_CASE("reasoning is visible as reasoning_content and thinking", "[chat_template]") {
  troupe::ChatTemplate chat_template(
      "{% for m in messages %}{{ m.reasoning_content }}|{{ m.thinking }}|{{ m.keys()|list }}{% endfor %}");
  auto messages = parse_messages(R"([{"role": "assistant", "content": "a", "reasoning": "why"}])");
  CHECK(chat_template.render(messages) == "why|why|['thinking', 'role', 'content', 'reasoning', 'reasoning_content']");
}

TEST_CASE("template variables: generation prompt, tokens, tools, extra context", "[chat_template]") {
  troupe::ChatTemplate chat_template(
      "{{ bos_token }}|{{ eos_token is defined }}|{{ add_generation_prompt }}|{{ tools is none }}|"
      "{{ documents is none }}|{{ enable_thinking is false }}|{{ tools|tojson if tools else '' }}");
  auto messages = parse_messages(R"([{"role": "user", "content": "q"}])");
  troupe::ChatTemplateOptions options;
  options.bos_token = "<s>";
  options.add_generation_prompt = true;
  options.extra_context["enable_thinking"] = false;
  CHECK(chat_template.render(messages, options) == "<s>|False|True|True|True|True|");
  options.tools = boost::json::parse(R"([{"type": "function", "function": {"name": "f"}}])").as_array();
  CHECK(chat_template.render(messages, options) ==
        R"(<s>|False|True|False|True|True|[{"type": "function", "function": {"name": "f"}}])");
}

TEST_CASE("built-in ChatML renders the standard format", "[chat_template]") {
  auto messages = parse_messages(R"([{"role": "system", "content": "S"}, {"role": "user", "content": "U"}])");
  troupe::ChatTemplateOptions options;
  options.add_generation_prompt = true;
  CHECK(troupe::ChatTemplate::chatml().render(messages, options) ==
        "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n<|im_start|>assistant\n");
}

TEST_CASE("one parsed template renders concurrently", "[chat_template]") {
  troupe::ChatTemplate chat_template(
      "{% set ns = namespace(n=0) %}{% for m in messages %}{% set ns.n = ns.n + m.content|length %}"
      "{{ loop.index }}{{ m.content[::-1] }}{% endfor %}={{ ns.n }}");
  std::vector<std::string> results(8);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < results.size(); ++t) {
    threads.emplace_back([&, t] {
      boost::json::array messages;
      for (std::size_t i = 0; i <= t; ++i) messages.push_back(boost::json::object{{"role", "user"}, {"content", "ab"}});
      for (int repeat = 0; repeat < 200; ++repeat) results[t] = chat_template.render(messages);
    });
  }
  for (auto& thread : threads) thread.join();
  for (std::size_t t = 0; t < results.size(); ++t) {
    std::string expected;
    for (std::size_t i = 0; i <= t; ++i) expected += std::to_string(i + 1) + "ba";
    expected += "=" + std::to_string(2 * (t + 1));
    CHECK(results[t] == expected);
  }
}

// transformers' continue_final_message (read from its apply_chat_template): the text is cut right
// after the last occurrence of the final message's stripped content, its trailing whitespace kept
// only where the template kept it; a template that drops the message, or a request that also
// asks for the generation prompt, is an error.
TEST_CASE("continue_final_message leaves the last message open", "[chat_template]") {
  troupe::ChatTemplateOptions continuing;
  continuing.continue_final_message = true;
  const auto chatml = troupe::ChatTemplate::chatml();
  auto messages = parse_messages(R"([{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "The answer is "}])");
  CHECK(chatml.render(messages, continuing) == "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nThe answer is ");

  // A template that trims: the message's own trailing space is gone, and the cut follows the text.
  troupe::ChatTemplate trimming("{% for m in messages %}[{{ m.role }}]{{ m.content | trim }}[/]{% endfor %}");
  messages = parse_messages(R"([{"role": "user", "content": "Sure"}, {"role": "assistant", "content": " Sure, "}])");
  CHECK(trimming.render(messages, continuing) == "[user]Sure[/][assistant]Sure,");

  // The last text part of a list content; its last occurrence, not the user's earlier "Sure".
  troupe::ChatTemplate parts(
      "{% for m in messages %}<{{ m.role }}>{% for p in m.content %}{{ p.text }}{% endfor %}</>{% endfor %}");
  messages = parse_messages(R"([{"role": "user", "content": [{"type": "text", "text": "Sure"}]},
      {"role": "assistant", "content": [{"type": "text", "text": "A"}, {"type": "text", "text": "Sure"}]}])");
  CHECK(parts.render(messages, continuing) == "<user>Sure</><assistant>ASure");

  troupe::ChatTemplate users_only("{% for m in messages if m.role == 'user' %}{{ m.content }}{% endfor %}");
  messages = parse_messages(R"([{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Gone"}])");
  CHECK_THROWS_WITH(users_only.render(messages, continuing), Catch::Contains("does not appear in the chat"));
  continuing.add_generation_prompt = true;
  CHECK_THROWS_WITH(chatml.render(messages, continuing), Catch::Contains("not compatible"));
}
