#pragma once
// Turns a streaming request's events into the JSON payloads of its Server-Sent Events, in order:
// one chunk per choice delta, an error body if the request fails midway, and — when
// stream_options.include_usage is set — a last chunk with empty choices and the usage. The HTTP
// layer frames each payload as "data: …\n\n" and ends the stream with "data: [DONE]\n\n".
#include <string>
#include <vector>

#include "pipeline/openai/response_identity.hpp"
#include "pipeline/request/generation_event.hpp"
#include "pipeline/request/generation_request.hpp"

namespace troupe {

class StreamEncoder {
 public:
  StreamEncoder(Endpoint endpoint, ResponseIdentity identity, int n, bool with_logprobs, bool include_usage);

  std::vector<std::string> encode(const GenerationEvent& event);

 private:
  std::string choice_chunk(const ChoiceDelta& delta);
  std::string usage_chunk(const GenerationEvent& event) const;

  Endpoint endpoint_;
  ResponseIdentity identity_;
  bool with_logprobs_;
  bool include_usage_;
  std::vector<bool> started_;          // per choice: its first chunk went out (chat adds the role there)
  std::vector<int64_t> text_offsets_;  // per choice: characters sent so far (completions logprobs)
  int64_t prompt_tokens_ = 0;
  int64_t completion_tokens_ = 0;
};

}  // namespace troupe
