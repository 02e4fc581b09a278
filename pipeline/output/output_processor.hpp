#pragma once
// The text side of one choice: generated token ids in, ChoiceDeltas out. Tokens are detokenized
// incrementally (whole UTF-8 characters only), stop strings are matched across token boundaries
// and never emitted (StopStringMatcher), and logprobs get their token strings. The scheduler ends a
// sequence on token-level criteria (eos, stop ids, length); a stop string ends it here, and the
// caller must then abort the sequence in the scheduler.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "pipeline/output/stop_string_matcher.hpp"
#include "pipeline/request/generation_event.hpp"
#include "pipeline/request/generation_request.hpp"
#include "pipeline/sampling/token_logprobs.hpp"
#include "pipeline/tokenizer/incremental_detokenizer.hpp"
#include "pipeline/tokenizer/tokenizer.hpp"

namespace troupe {

struct OutputOptions {
  int index = 0;                        // the choice index reported in every delta
  std::vector<std::string> stop;        // stop strings (empty ones ignored)
  bool include_stop_str_in_output = false;
  std::vector<int32_t> stop_token_ids;  // a finish on one of these reports it as stop_reason
  int64_t min_tokens = 0;               // stop strings count only once more tokens than this exist
  bool skip_special_tokens = true;       // special tokens' text left out (vLLM's default)
  bool logprobs = false;                // turn the TokenLogprobs given to push into delta logprobs
  std::string echo;                     // text put before the first delta's text (completions echo)
  // The prompt's tokens, when their logprobs are computed (given by add_prompt_logprobs; the first
  // token has none): for an echo with logprobs and for prompt_logprobs.
  std::vector<int32_t> prompt_ids;
  // Echo with logprobs: the prompt's entries lead the first delta's logprobs, with this many
  // alternatives each.
  std::optional<int> echo_top_n;
  // vLLM's prompt_logprobs: top-N per prompt token, on the finishing delta.
  std::optional<int> prompt_logprobs;
};

// The options of choice `index` of `request`, a choice of its prompt `prompt` (0 unless the request
// is a batch of prompts). Echo text is the prompt as given, or the decoded prompt ids when the
// prompt came as ids; chat requests never echo.
OutputOptions output_options_for(const GenerationRequest& request, int index, const Tokenizer& tokenizer,
                                 int prompt = 0);

// The token string reported with a logprob: the token decoded alone, special tokens included.
// A token holding part of a UTF-8 character reads as U+FFFD.
std::string logprob_token_text(const Tokenizer& tokenizer, int32_t token);

struct OutputUpdate {
  ChoiceDelta delta;
  bool abort_sequence = false;  // a stop string finished the choice: drop its sequence in the scheduler
};

class OutputProcessor {
 public:
  OutputProcessor(Tokenizer tokenizer, OutputOptions options);

  // Feeds newly generated tokens (with their logprobs, parallel to them, or an empty span for none;
  // any other length throws std::invalid_argument) and the
  // scheduler's finish, if this update carries one (`stop_token`: the eos / stop id behind it, the
  // update's last token, whose text is left out unless include_stop_str_in_output, as in vLLM).
  // Tokens after a stop string are dropped from the delta. Once finished, further calls return an
  // empty delta: a pipelined scheduler may still deliver a token it had planned.
  OutputUpdate push(std::span<const int32_t> tokens, std::span<const std::optional<TokenLogprobs>> logprobs = {},
                    std::optional<FinishReason> finish = std::nullopt, std::optional<int32_t> stop_token = std::nullopt);

  // Logprobs of prompt tokens first_position, first_position + 1, ... (>= 1), for the echo. A
  // position given before is ignored (a chunk recomputed after a preemption); so is anything after
  // the first push.
  void add_prompt_logprobs(int64_t first_position, std::span<const TokenLogprobs> tokens);

  bool finished() const { return finished_; }
  const std::string& text() const { return text_; }  // all text emitted so far, echo included
  int64_t num_tokens() const { return num_tokens_; }  // tokens accepted so far

 private:
  TokenLogprob to_token_logprob(const TokenLogprobs& raw, std::size_t top_n) const;
  PromptLogprobs prompt_logprobs_entries() const;
  // The echoed prompt's logprob entries: one per prompt token, null for the first (and for any
  // position whose logprobs never came).
  std::vector<TokenLogprob> echo_logprobs() const;

  Tokenizer tokenizer_;
  OutputOptions options_;
  IncrementalDetokenizer detokenizer_;
  StopStringMatcher matcher_;
  std::string text_;
  int64_t num_tokens_ = 0;
  std::vector<TokenLogprobs> prompt_logprobs_;  // prompt positions 1, 2, ... received so far
  bool echoed_ = false;
  bool finished_ = false;
};

}  // namespace troupe
