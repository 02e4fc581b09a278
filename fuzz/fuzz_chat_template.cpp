// The chat-template interpreter: the parser on arbitrary template source, and the renderer with a
// real template (SmolLM2's, the default model's) on arbitrary message arrays. A template either
// parses or is refused with ChatTemplateError; rendering either succeeds or raises
// ChatTemplateError (the template's own raise_exception, an unsupported construct) — nothing else.
// Input: first byte picks the mode; the rest is the template source, or the messages JSON.
#include <boost/json.hpp>

#include "fuzz/fuzz_support.hpp"
#include "tests/support/fixtures.hpp"
#include "pipeline/chat_template/chat_template.hpp"
#include "pipeline/openai/api_exception.hpp"
#include "pipeline/openai/chat_messages.hpp"

namespace {

using troupe::ChatTemplate;
using troupe::ChatTemplateError;
using troupe::fuzz::violated;

// SmolLM2-135M-Instruct's template (the default model's), from the committed fixture.
const ChatTemplate& smollm2_template() {
  static const ChatTemplate t = [] {
    const boost::json::value fixture = troupe::test::read_json(troupe::test::fixture("chat_template/smollm2.json"));
    return ChatTemplate(std::string(fixture.at("template").as_string()));
  }();
  return t;
}

const boost::json::array& sample_messages() {
  static const boost::json::array m = boost::json::parse(
      R"([{"role":"system","content":"Be brief."},{"role":"user","content":"Hi <b>there</b> \u00e9"},
          {"role":"assistant","content":"Hello!","tool_calls":[{"type":"function","function":{"name":"f","arguments":"{}"}}]},
          {"role":"user","content":[{"type":"text","text":"part"}]}])").as_array();
  return m;
}

troupe::ChatTemplateOptions options(bool generation_prompt) {
  troupe::ChatTemplateOptions o;
  o.add_generation_prompt = generation_prompt;
  o.bos_token = "<s>";
  o.eos_token = "</s>";
  std::tm fixed{};
  fixed.tm_year = 124;
  fixed.tm_mday = 1;
  o.now = fixed;
  return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  troupe::fuzz::Input in(data, size);
  const uint8_t mode = in.byte();
  const std::string_view rest = in.rest();
  try {
    if ((mode & 1) == 0) {
      const ChatTemplate parsed{std::string(rest)};
      try {
        (void)parsed.render(sample_messages(), options((mode & 2) != 0));
      } catch (const ChatTemplateError&) {
      }
    } else {
      boost::system::error_code ec;
      boost::json::value messages = boost::json::parse(rest, ec);
      if (ec || !messages.is_array()) return 0;
      // As the server does: the request's messages are normalized (and refused with a 400 when
      // malformed) before the template sees them.
      boost::json::array normalized;
      try {
        normalized = troupe::normalize_messages(messages.as_array());
      } catch (const troupe::ApiException&) {
        return 0;
      }
      try {
        (void)smollm2_template().render(normalized, options((mode & 2) != 0));
      } catch (const ChatTemplateError&) {
      }
    }
  } catch (const ChatTemplateError&) {
  } catch (const std::exception& e) {
    violated("chat template threw", e.what());
  }
  return 0;
}
