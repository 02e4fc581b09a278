// The OpenAI request parsers on arbitrary bodies: /v1/chat/completions, /v1/completions, /tokenize,
// /detokenize. Every input either parses or is refused with an ApiException carrying a 4xx error
// (what the server answers); any other exception would be a 500 for a client's mistake.
#include "fuzz/fuzz_support.hpp"
#include "pipeline/openai/api_exception.hpp"
#include "pipeline/openai/chat_request.hpp"
#include "pipeline/openai/completion_request.hpp"
#include "pipeline/openai/tokenize_api.hpp"

namespace {

using troupe::ApiException;
using troupe::fuzz::violated;

template <typename Parse>
void parse_or_refuse(const char* route, Parse parse) {
  try {
    parse();
  } catch (const ApiException& e) {
    const int status = e.error().status;
    if (status < 400 || status >= 500) violated(route, "refused with a non-4xx status");
    if (e.error().message.empty()) violated(route, "refused without a message");
  } catch (const std::exception& e) {
    violated(route, e.what());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  const troupe::ApiContext context{"fuzz-model", 2048};
  parse_or_refuse("chat", [&] { troupe::parse_chat_request(body, context); });
  parse_or_refuse("completions", [&] { troupe::parse_completion_request(body, context); });
  parse_or_refuse("tokenize", [&] { troupe::parse_tokenize_request(body, context); });
  parse_or_refuse("detokenize", [&] { troupe::parse_detokenize_request(body, context); });
  return 0;
}
