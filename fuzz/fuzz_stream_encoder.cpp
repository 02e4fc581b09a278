// The SSE stream encoder on arbitrary sequences of engine events (chat and completions, n choices,
// text deltas, logprobs, finish reasons, usage, errors; chat text through the hermes and
// llama3_json tool-call parsers, whose input is whatever the model writes). Every payload must be one line of valid
// UTF-8 JSON (a raw newline would end the SSE event early; invalid UTF-8 breaks clients), and the
// encoder may refuse only a delta for a choice index that does not exist (std::out_of_range, which
// the server turns into an error event). The engine's strings are valid UTF-8 (the detokenizer
// repairs bytes), so fuzzed strings are repaired the same way before use.
#include <boost/json.hpp>

#include "fuzz/fuzz_support.hpp"
#include "pipeline/openai/response_options.hpp"
#include "pipeline/openai/stream_encoder.hpp"
#include "pipeline/tokenizer/utf8.hpp"

namespace {

using namespace troupe;
using troupe::fuzz::Input;
using troupe::fuzz::violated;

std::string text(Input& in, std::size_t max = 24) { return utf8::to_valid_lossy(in.string(max)); }

float logprob(Input& in) {
  const uint8_t b = in.byte();
  if (b == 255) return -std::numeric_limits<float>::infinity();
  if (b == 254) return std::numeric_limits<float>::quiet_NaN();
  return -static_cast<float>(b) / 8.0f;
}

GenerationEvent event(Input& in, int n) {
  GenerationEvent ev;
  const uint8_t kind = in.byte();
  if (kind % 16 == 0) {
    ApiError error;
    error.status = 400 + in.byte() % 200;
    error.message = text(in, 64);
    if (in.byte() & 1) error.param = text(in);
    ev.error = error;
    ev.done = true;
    return ev;
  }
  const int deltas = in.byte() % 4;
  for (int d = 0; d < deltas; ++d) {
    ChoiceDelta delta;
    // Mostly valid indices; sometimes one past the end (the contract breach the encoder reports).
    delta.index = in.byte() % (n + 1);
    delta.text = text(in);
    const int tokens = in.byte() % 3;
    for (int t = 0; t < tokens; ++t) {
      delta.token_ids.push_back(static_cast<int32_t>(in.u32() % 50000));
      if (in.byte() & 1) {
        TokenLogprob lp;
        lp.token_id = delta.token_ids.back();
        lp.token = text(in, 8);
        lp.logprob = logprob(in);
        const int top = in.byte() % 3;
        for (int k = 0; k < top; ++k) lp.top.push_back({static_cast<int32_t>(k), text(in, 8), logprob(in)});
        delta.logprobs.push_back(std::move(lp));
      }
    }
    const uint8_t finish = in.byte() % 6;
    if (finish < 4) delta.finish = static_cast<FinishReason>(finish);
    if (in.byte() % 4 == 0) delta.stop_reason = text(in, 8);
    if (in.byte() % 8 == 0) delta.stop_reason = static_cast<int32_t>(in.byte());
    ev.choices.push_back(std::move(delta));
  }
  ev.done = (kind & 0x80) != 0;
  if (ev.done && (kind & 0x40)) ev.usage = Usage{in.u32() % 100000, in.u32() % 100000, in.u32() % 100000};
  ev.prompt_tokens = in.byte();
  return ev;
}

void check_payload(const std::string& payload) {
  if (payload.find('\n') != std::string::npos || payload.find('\r') != std::string::npos) {
    violated("an SSE payload contains a line break", payload);
  }
  if (!utf8::is_valid(payload)) violated("an SSE payload is not valid UTF-8", payload);
  boost::system::error_code ec;
  (void)boost::json::parse(payload, ec);
  if (ec) violated("an SSE payload is not valid JSON", payload);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Input in(data, size);
  const uint8_t setup = in.byte();
  const uint8_t more = in.byte();
  ResponseOptions options;
  options.endpoint = (setup & 1) ? Endpoint::ChatCompletions : Endpoint::Completions;
  const int n = 1 + (setup >> 1) % 4;
  options.choices = n;
  options.identity = ResponseIdentity{"cmpl-" + text(in, 8), 1700000000, text(in, 16), (more & 1) ? text(in, 8) : ""};
  options.with_logprobs = (setup & 0x20) != 0;
  options.include_usage = (setup & 0x40) != 0;
  options.continuous_usage = options.include_usage && (more & 2) != 0;
  if (options.endpoint == Endpoint::ChatCompletions && (more & 4) != 0) {
    options.tool_calls.kind = static_cast<ToolCallMode::Kind>(1 + (more >> 3) % 3);  // Auto, Required, Named
    options.tool_calls.format = (more & 0x40) ? ((more & 0x20) ? ToolCallFormat::Mistral : ToolCallFormat::Llama3Json)
                                              : ToolCallFormat::Hermes;
    options.tool_calls.function_name = "get_weather";
    options.parallel_tool_calls = (more & 0x80) == 0;
  }
  StreamEncoder encoder(options);
  for (int events = 0; !in.empty() && events < 64; ++events) {
    const GenerationEvent ev = event(in, n);
    std::vector<std::string> payloads;
    try {
      payloads = encoder.encode(ev);
    } catch (const std::out_of_range&) {
      bool bad_index = false;
      for (const ChoiceDelta& d : ev.choices) bad_index = bad_index || d.index >= n;
      if (!bad_index) violated("the encoder refused an event whose choice indices are all valid");
      return 0;  // the server ends the stream here
    } catch (const std::exception& e) {
      violated("the encoder threw", e.what());
    }
    for (const std::string& payload : payloads) check_payload(payload);
    if (ev.done) break;
  }
  return 0;
}
