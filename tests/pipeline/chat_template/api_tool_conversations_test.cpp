// Agent conversations as clients send them (assistant content null with tool_calls whose
// arguments are JSON strings, role "tool" results, text-part arrays) must reach the template as
// vLLM hands them to apply_chat_template. tests/fixtures/chat_template/api_tool_conversations.json(.xz)
// holds transformers' renderings of vLLM's conversation for SmolLM2, Qwen2.5, Qwen3, Llama 3.1 and
// 3.2 (tools/make_chat_template_fixtures.py); troupe's normalize_messages + render must match.
#include <catch2/catch.hpp>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <sstream>

#include "pipeline/chat_template/chat_template.hpp"
#include "pipeline/openai/chat_messages.hpp"
#include "tests/support/fixtures.hpp"

namespace {

namespace json = boost::json;

json::object load() {
  return troupe::test::read_json(troupe::test::fixture("chat_template/api_tool_conversations.json")).as_object();
}

std::tm parse_now(const std::string& iso) {
  std::tm tm{};
  std::istringstream in(iso);
  in >> std::get_time(&tm, "%Y-%m-%dT%H:%M:%S");
  tm.tm_isdst = -1;
  std::mktime(&tm);
  return tm;
}

}  // namespace

TEST_CASE("API tool conversations render as vLLM renders them, for every tool-calling template") {
  const json::object fixture = load();
  int matched = 0;
  for (const auto& [name, entry] : fixture.at("templates").as_object()) {
    const json::object& spec = entry.as_object();
    troupe::ChatTemplate chat_template(std::string(spec.at("template").as_string()));
    troupe::ChatTemplateOptions base;
    if (spec.at("bos_token").is_string()) base.bos_token = std::string(spec.at("bos_token").as_string());
    if (spec.at("eos_token").is_string()) base.eos_token = std::string(spec.at("eos_token").as_string());
    base.now = parse_now(std::string(spec.at("now").as_string()));
    for (const auto& item : spec.at("cases").as_array()) {
      const json::object& test_case = item.as_object();
      INFO(std::string(name) << " / " << test_case.at("name").as_string().c_str());
      REQUIRE(test_case.contains("expected"));
      troupe::ChatTemplateOptions options = base;
      options.add_generation_prompt = test_case.at("add_generation_prompt").as_bool();
      if (test_case.at("tools").is_array()) options.tools = test_case.at("tools").as_array();
      const json::array conversation = troupe::normalize_messages(test_case.at("api_messages").as_array());
      CHECK(chat_template.render(conversation, options) == std::string(test_case.at("expected").as_string()));
      ++matched;
    }
  }
  CHECK(matched == 50);
}
