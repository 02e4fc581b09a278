// Parity with Hugging Face: every conversation in tests/fixtures/chat_template/*.json(.xz) was rendered by
// transformers' apply_chat_template (tools/make_chat_template_fixtures.py); troupe must produce the same
// bytes, or fail where transformers failed.
#include <catch2/catch.hpp>

#include <filesystem>
#include <ctime>
#include <fstream>
#include <iomanip>
#include <set>
#include <sstream>

#include "pipeline/chat_template/chat_template.hpp"
#include "tests/support/fixtures.hpp"

namespace {

namespace json = boost::json;
const std::filesystem::path kFixtures = std::filesystem::path(TROUPE_FIXTURES_DIR) / "chat_template";

json::object load_fixture(const std::string& name) {
  return troupe::test::read_json(troupe::test::fixture("chat_template/" + name + ".json")).as_object();
}

std::tm parse_now(const std::string& iso) {
  std::tm tm{};
  std::istringstream in(iso);
  in >> std::get_time(&tm, "%Y-%m-%dT%H:%M:%S");
  REQUIRE_FALSE(in.fail());
  tm.tm_isdst = -1;
  std::mktime(&tm);  // fills in tm_wday and tm_yday for %a/%j
  return tm;
}

// Renders every case of one fixture file; returns how many matched an expected string.
int check_fixture(const std::string& name) {
  json::object fixture = load_fixture(name);
  troupe::ChatTemplate chat_template(std::string(fixture.at("template").as_string()));
  troupe::ChatTemplateOptions base;
  if (fixture.at("bos_token").is_string()) base.bos_token = std::string(fixture.at("bos_token").as_string());
  if (fixture.at("eos_token").is_string()) base.eos_token = std::string(fixture.at("eos_token").as_string());
  base.now = parse_now(std::string(fixture.at("now").as_string()));
  int matched = 0;
  for (const auto& entry : fixture.at("cases").as_array()) {
    const json::object& test_case = entry.as_object();
    INFO(name << " / " << test_case.at("name").as_string().c_str());
    troupe::ChatTemplateOptions options = base;
    options.add_generation_prompt = test_case.at("add_generation_prompt").as_bool();
    if (test_case.at("tools").is_array()) options.tools = test_case.at("tools").as_array();
    options.extra_context = test_case.at("extra_context").as_object();
    const json::array& messages = test_case.at("messages").as_array();
    if (const json::value* expected = test_case.if_contains("expected")) {
      CHECK(chat_template.render(messages, options) == std::string(expected->as_string()));
      ++matched;
      continue;
    }
    const json::object& error = test_case.at("error").as_object();
    try {
      std::string rendered = chat_template.render(messages, options);
      FAIL("rendered although transformers failed with: " << error.at("message").as_string().c_str());
    } catch (const troupe::ChatTemplateError& failure) {
      std::string message(error.at("message").as_string());
      if (error.at("kind").as_string() == "raise_exception") {
        CHECK(failure.kind() == troupe::ChatTemplateError::Kind::raised);
        CHECK(std::string(failure.what()) == message);
      } else {
        CHECK(failure.kind() == troupe::ChatTemplateError::Kind::render);
        CHECK_THAT(failure.what(), Catch::Matchers::Contains(message));
      }
    }
  }
  return matched;
}

const std::set<std::string> kTemplates = {"smollm2", "qwen2_5", "qwen3", "qwen3_gguf", "llama3_1",
                                          "llama3_2", "deepseek_r1_distill_qwen", "chatml",
                                          "mistral_v3_spm", "mistral_v3_tekken", "mistral_v7_tekken",
                                          "mistral_v11_tekken", "gpt_oss", "qwen3_coder", "glm4_6",
                                          "ministral3", "minimax_m2", "seed_oss", "qwen3_5", "lfm2_5",
                                          "granite3_3", "nemotron_nano_v2", "nemotron3_nano", "gemma4",
                                          "llama4", "kimi_k2", "kimi_k2_thinking"};

}  // namespace

TEST_CASE("every chat template fixture file is checked", "[chat_template][fixtures]") {
  std::set<std::string> on_disk;
  for (const auto& file : std::filesystem::directory_iterator(kFixtures)) {
    const std::string name = file.path().filename().string();
    for (const std::string suffix : {".json", ".json.xz"}) {
      if (name.ends_with(suffix)) on_disk.insert(name.substr(0, name.size() - suffix.size()));
    }
  }
  // api_tool_conversations.json is checked by api_tool_conversations_test.cpp.
  on_disk.erase("api_tool_conversations");
  CHECK(on_disk == kTemplates);
}

TEST_CASE("SmolLM2 template matches transformers", "[chat_template][fixtures]") {
  CHECK(check_fixture("smollm2") >= 20);
}

TEST_CASE("Qwen2.5 template matches transformers", "[chat_template][fixtures]") {
  CHECK(check_fixture("qwen2_5") >= 20);
}

TEST_CASE("Qwen3 template matches transformers", "[chat_template][fixtures]") {
  CHECK(check_fixture("qwen3") >= 20);
}

TEST_CASE("Qwen3 GGUF (unsloth) template matches transformers", "[chat_template][fixtures]") {
  CHECK(check_fixture("qwen3_gguf") >= 20);
}

TEST_CASE("Llama 3.1 template matches transformers", "[chat_template][fixtures]") {
  CHECK(check_fixture("llama3_1") >= 20);
}

TEST_CASE("Llama 3.2 template matches transformers", "[chat_template][fixtures]") {
  CHECK(check_fixture("llama3_2") >= 20);
}

TEST_CASE("DeepSeek-R1-Distill-Qwen template matches transformers", "[chat_template][fixtures]") {
  CHECK(check_fixture("deepseek_r1_distill_qwen") >= 20);
}

TEST_CASE("built-in ChatML template matches transformers and the committed source", "[chat_template][fixtures]") {
  CHECK(check_fixture("chatml") >= 20);
  json::object fixture = load_fixture("chatml");
  CHECK(troupe::ChatTemplate::chatml().source() == std::string(fixture.at("template").as_string()));
}

// Mistral's templates as mistral-common generates them per tokenizer version (Mistral 7B v0.3,
// NeMo, Small 3, Devstral / Magistral): strict role alternation and tool-call ids raise.
TEST_CASE("Mistral templates (tokenizer v3 SentencePiece and Tekken, v7, v11) match transformers",
          "[chat_template][fixtures]") {
  for (const std::string name : {"mistral_v3_spm", "mistral_v3_tekken", "mistral_v7_tekken", "mistral_v11_tekken"}) {
    INFO(name);
    CHECK(check_fixture(name) >= 20);
  }
}

// gpt-oss's harmony format: a system message it writes itself (knowledge cutoff, the date from
// strftime_now, reasoning effort), developer instructions, tools as a TypeScript-like namespace,
// assistant turns on the analysis / final / commentary channels.
TEST_CASE("gpt-oss template (harmony) matches transformers", "[chat_template][fixtures]") {
  CHECK(check_fixture("gpt_oss") >= 20);
}

// Qwen3-Coder: tools described in XML, past calls written back as <function=...><parameter=...>.
TEST_CASE("Qwen3-Coder template matches transformers", "[chat_template][fixtures]") {
  CHECK(check_fixture("qwen3_coder") >= 20);
}

// GLM-4.6 (GLM-4.5's format): [gMASK]<sop>, tools as JSON lines, past calls written back as
// <arg_key>/<arg_value> pairs, reasoning as <think>, tool results as <|observation|>.
TEST_CASE("GLM-4.6 template matches transformers", "[chat_template][fixtures]") {
  CHECK(check_fixture("glm4_6") >= 20);
}

// Ministral 3 Reasoning: a default [SYSTEM_PROMPT] asking for [THINK] reasoning when none is given,
// tools as [AVAILABLE_TOOLS] JSON, past calls written back as [TOOL_CALLS]name[ARGS]{...}.
TEST_CASE("Ministral 3 template matches transformers", "[chat_template][fixtures]") {
  CHECK(check_fixture("ministral3") >= 20);
}

// MiniMax-M2: ]~!b[ then ]~b]role turns, tools as JSON in <tools>, past calls written back as <minimax:tool_call>
// blocks of <invoke>s, the reply opened inside <think>.
TEST_CASE("MiniMax-M2 template matches transformers", "[chat_template][fixtures]") {
  CHECK(check_fixture("minimax_m2") >= 20);
}

// Seed-OSS: a thinking budget and its reflections, tools described in its own system text (sorted
// with dictsort), past calls written back as <seed:tool_call> blocks.
TEST_CASE("Seed-OSS template matches transformers", "[chat_template][fixtures]") {
  CHECK(check_fixture("seed_oss") >= 20);
}

// Qwen3.5: Qwen3-Coder's <tool_call><function=…> calls and tool list, <think> written back around past
// reasoning and opened by the generation prompt.
TEST_CASE("Qwen3.5 template matches transformers", "[chat_template][fixtures]") {
  CHECK(check_fixture("qwen3_5") >= 20);
}

// LFM2.5: ChatML turns opened by <|startoftext|>, the tools listed as JSON in the system turn.
TEST_CASE("LFM2.5 template matches transformers", "[chat_template][fixtures]") {
  CHECK(check_fixture("lfm2_5") >= 20);
}

// Granite 3.3: <|start_of_role|> turns, a dated default system turn, tools in an available_tools turn.
TEST_CASE("Granite 3.3 template matches transformers", "[chat_template][fixtures]") {
  CHECK(check_fixture("granite3_3") >= 20);
}

// Nemotron Nano 2: <SPECIAL_1x> turns, /think and /no_think read from the system and user turns,
// <TOOLCALL> lists; Nemotron 3 Nano: ChatML, Qwen3-Coder's calls, enable_thinking.
TEST_CASE("Nemotron Nano 2 and Nemotron 3 Nano templates match transformers", "[chat_template][fixtures]") {
  CHECK(check_fixture("nemotron_nano_v2") >= 20);
  CHECK(check_fixture("nemotron3_nano") >= 20);
}

// Gemma 4: <|turn> turns, tools declared in Gemma's notation (<|"|> for quotes), <|tool_call> calls,
// reasoning in a <|channel>thought channel (an empty one after the prompt unless enable_thinking).
TEST_CASE("Gemma 4 template matches transformers", "[chat_template][fixtures]") {
  CHECK(check_fixture("gemma4") >= 20);
}

TEST_CASE("Llama 4 template matches transformers", "[chat_template][fixtures]") {
  CHECK(check_fixture("llama4") >= 50);
}

TEST_CASE("Kimi K2 and K2 Thinking templates match transformers", "[chat_template][fixtures]") {
  CHECK(check_fixture("kimi_k2") >= 40);
  CHECK(check_fixture("kimi_k2_thinking") >= 40);
}
