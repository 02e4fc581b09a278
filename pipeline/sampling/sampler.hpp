#pragma once
// Turning one row of logits into a token id: greedy, or temperature sampling restricted by top-k,
// top-p (nucleus) and min-p, drawn from a per-request random stream so a given seed reproduces.
// The per-sequence sampler of the serving path, with penalties and history, is SequenceSampler
// (sequence_sampler.hpp); Sampler is the history-free one the `generate` CLI uses.
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <span>

namespace troupe {

namespace structured_output {
class CompiledGrammar;
}
struct LogitRules;

// Temperatures below this are greedy (dividing by them would overflow the softmax).
inline constexpr double kGreedyTemperature = 1e-5;
// The most top logprobs a request may ask for per token (OpenAI's limit).
inline constexpr int kMaxTopLogprobs = 20;

struct SamplingParams {
  double temperature = 0.0;  // < kGreedyTemperature: greedy (argmax of the penalized logits)
  int64_t top_k = 0;         // keep tokens whose logit is at least the k-th largest; <= 0: no limit
  double top_p = 1.0;        // keep the smallest set of tokens whose probability reaches top_p
  double min_p = 0.0;        // drop tokens below min_p × the top token's probability
  // Hugging Face / vLLM repetition penalty over tokens of the prompt and of the output: a positive
  // logit is divided by it, a negative one multiplied. 1.0: off.
  double repetition_penalty = 1.0;
  // OpenAI penalties over output tokens only: logit −= frequency·count + presence·[count > 0].
  double presence_penalty = 0.0;
  double frequency_penalty = 0.0;
  // Seed of the request's random stream; choice i of an n > 1 request draws from seed + i
  // (choice_sampling). Unset: seeded from std::random_device.
  std::optional<uint64_t> seed;
  // Log-probabilities per generated token: the chosen token's plus this many most likely ones
  // (0 to kMaxTopLogprobs). Unset: none computed.
  std::optional<int> logprobs;
  // Log-probabilities of the prompt's tokens, from its second on (the first has no context): each
  // token's plus this many most likely ones. Set for completions with echo and logprobs, as vLLM
  // does. The scheduler then computes the whole prompt (no prefix-cache hits), every row's logits.
  std::optional<int> prompt_logprobs;
  // Structured output: the grammar the sampled text must follow (response_format, vLLM's
  // structured_outputs, a forced tool call). The executor keeps a matcher per sequence and masks
  // every disallowed token before sampling. Set by the request actor once the tokenizer actor has
  // compiled the request's constraint; null: unconstrained.
  std::shared_ptr<const structured_output::CompiledGrammar> grammar;
  // With a grammar, a reasoning model's end-of-reasoning token (grammar_start_token,
  // pipeline/tool_calls/thinking_parser.hpp): the grammar applies to the tokens after the sequence
  // samples it, as vLLM starts structured output after the reasoning. Unset: from the first token.
  std::optional<int32_t> grammar_after;
  // logit_bias, allowed_token_ids and bad_words (pipeline/sampling/logit_rules.hpp), applied by
  // SequenceSampler before the penalties; shared by the request's choices. Null: none.
  std::shared_ptr<const LogitRules> logit_rules;

  bool greedy() const { return temperature < kGreedyTemperature; }
};

// Throws std::invalid_argument naming the first field out of range (temperature < 0, top_p not in
// (0, 1], min_p not in [0, 1], repetition_penalty <= 0, penalties outside [-2, 2], logprobs not in
// [0, kMaxTopLogprobs]).
void validate_sampling_params(const SamplingParams& params);

// The parameters of choice `choice` of a request: the same, with the seed (if any) offset by the
// choice index so that choices differ from each other yet each reproduces.
SamplingParams choice_sampling(const SamplingParams& params, int choice);

// Index of the largest value; the lowest index wins ties, as torch.argmax does.
int32_t argmax(std::span<const float> logits);

// A uniform double in [0, 1) from the top 53 bits of one engine output. Unlike
// std::uniform_real_distribution its result is the same on every standard library.
double unit_uniform(std::mt19937_64& rng);

// Seed for a request that gave none.
uint64_t random_seed();

class Sampler {
 public:
  explicit Sampler(const SamplingParams& params);
  int32_t sample(std::span<const float> logits);

 private:
  SamplingParams params_;
  std::mt19937_64 rng_;
};

}  // namespace troupe
