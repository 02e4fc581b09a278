#pragma once
// Turns a streaming request's events into the JSON payloads of its Server-Sent Events, in vLLM's
// shapes and order:
//   - chat: each choice first gets a chunk with only the role ({"role": "assistant", "content": ""});
//   - then one chunk per choice delta: text, or (with a tool parser) content and tool-call deltas;
//     a delta with nothing to say is not sent unless it finishes the choice or carries logprobs;
//   - with stream_options.include_usage: "usage": null on every chunk, then a last chunk with
//     empty choices, the usage and the system_fingerprint; with continuous_usage_stats as well,
//     every chunk carries the usage so far instead of null;
//   - without include_usage, a choice's finishing chunk carries the system_fingerprint;
//   - with return_token_ids (vLLM's): the chat role chunks carry the prompt's "prompt_token_ids"
//     (top level), a completions choice's first chunk its prompt's (in the choice), and every
//     content chunk its delta's "token_ids", so a delta of tokens without text still gets a chunk;
//   - an error body if the request fails midway.
// The HTTP layer frames each payload as "data: …\n\n" and ends the stream with "data: [DONE]\n\n".
#include <memory>
#include <string>
#include <vector>

#include "pipeline/openai/response_options.hpp"
#include "pipeline/request/generation_event.hpp"
#include "pipeline/tool_calls/tool_call_parser.hpp"

namespace troupe {

class StreamEncoder {
 public:
  explicit StreamEncoder(ResponseOptions options);

  std::vector<std::string> encode(const GenerationEvent& event);

 private:
  struct ChoiceState {
    std::unique_ptr<ToolCallParser> tool_parser;  // null: plain text
    int64_t text_offset = 0;        // completions logprobs: characters sent so far
    int64_t completion_tokens = 0;
    bool finished = false;
    bool prompt_ids_sent = false;   // completions with return_token_ids: the first chunk carries them
  };

  void role_chunks(std::vector<std::string>& payloads);
  void choice_chunks(const ChoiceDelta& delta, ChoiceState& state, std::vector<std::string>& payloads);
  std::string chat_chunk(const ChoiceDelta& delta, ChoiceState& state, const MessageDelta& message, bool with_logprobs,
                         bool finishing);
  std::string usage_chunk(const GenerationEvent& event) const;
  // Adds "usage" (null, or the running usage of one choice) and the fingerprint as vLLM does.
  void finish_chunk(boost::json::object& chunk, int64_t choice_completion_tokens, bool finishing) const;

  ResponseOptions options_;
  std::vector<ChoiceState> choices_;
  bool started_ = false;
  int64_t prompt_tokens_ = 0;
  int64_t completion_tokens_ = 0;
  std::vector<std::vector<int32_t>> prompt_token_ids_;  // with return_token_ids, from the first event
};

}  // namespace troupe
