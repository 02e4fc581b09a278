#include "pipeline/output/output_processor.hpp"

#include <algorithm>
#include <stdexcept>

namespace troupe {

OutputOptions output_options_for(const GenerationRequest& request, int index, const Tokenizer& tokenizer, int prompt) {
  OutputOptions o;
  o.index = index;
  o.stop = request.stop.stop;
  o.include_stop_str_in_output = request.stop.include_stop_str_in_output;
  o.stop_token_ids = request.stop.stop_token_ids;
  o.min_tokens = request.stop.min_tokens;
  o.logprobs = request.logprobs.has_value();
  o.skip_special_tokens = request.skip_special_tokens;
  o.prompt_logprobs = request.prompt_logprobs;
  if (request.echo && request.endpoint == Endpoint::Completions) {
    o.echo_top_n = request.logprobs;
    const PromptInput input = request.prompt_at(prompt);
    o.echo = input.ids.empty() || !input.text.empty() ? input.text
                                                      : tokenizer.decode(input.ids, /*skip_special_tokens=*/false);
  }
  return o;
}

std::string logprob_token_text(const Tokenizer& tokenizer, int32_t token) {
  const int32_t ids[1] = {token};
  return tokenizer.decode(ids, /*skip_special_tokens=*/false);
}

OutputProcessor::OutputProcessor(Tokenizer tokenizer, OutputOptions options)
    : tokenizer_(tokenizer),
      options_(std::move(options)),
      detokenizer_(std::move(tokenizer), options_.skip_special_tokens),
      matcher_(options_.stop, options_.include_stop_str_in_output) {}

TokenLogprob OutputProcessor::to_token_logprob(const TokenLogprobs& raw, std::size_t top_n) const {
  TokenLogprob out;
  out.token_id = raw.token_id;
  out.token = logprob_token_text(tokenizer_, raw.token_id);
  out.logprob = raw.logprob;
  const std::size_t n = std::min(top_n, raw.top.size());
  out.top.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    out.top.push_back({raw.top[i].token_id, logprob_token_text(tokenizer_, raw.top[i].token_id), raw.top[i].logprob});
  }
  return out;
}

PromptLogprobs OutputProcessor::prompt_logprobs_entries() const {
  const std::size_t top_n = static_cast<std::size_t>(options_.prompt_logprobs.value_or(0));
  PromptLogprobs out(options_.prompt_ids.size());
  for (std::size_t p = 1; p < options_.prompt_ids.size() && p - 1 < prompt_logprobs_.size(); ++p) {
    const TokenLogprobs& raw = prompt_logprobs_[p - 1];
    std::vector<RankedLogprob>& entry = out[p];
    // The prompt's token first; a top token that is the same one keeps that place and takes its
    // rank in the top list, as vLLM's dict of them does.
    entry.push_back({raw.token_id, logprob_token_text(tokenizer_, raw.token_id), raw.logprob, raw.rank});
    for (std::size_t i = 0; i < std::min(top_n, raw.top.size()); ++i) {
      const TokenIdLogprob& t = raw.top[i];
      const auto rank = static_cast<int64_t>(i + 1);
      if (t.token_id == raw.token_id) {
        entry.front().rank = rank;
      } else {
        entry.push_back({t.token_id, logprob_token_text(tokenizer_, t.token_id), t.logprob, rank});
      }
    }
  }
  return out;
}

void OutputProcessor::add_prompt_logprobs(int64_t first_position, std::span<const TokenLogprobs> tokens) {
  if (echoed_ || first_position < 1) return;
  for (std::size_t k = 0; k < tokens.size(); ++k) {
    const int64_t position = first_position + static_cast<int64_t>(k);
    if (position == static_cast<int64_t>(prompt_logprobs_.size()) + 1) prompt_logprobs_.push_back(tokens[k]);
  }
}

std::vector<TokenLogprob> OutputProcessor::echo_logprobs() const {
  std::vector<TokenLogprob> out;
  if (!options_.echo_top_n) return out;
  out.reserve(options_.prompt_ids.size());
  for (std::size_t p = 0; p < options_.prompt_ids.size(); ++p) {
    if (p >= 1 && p - 1 < prompt_logprobs_.size()) {
      out.push_back(to_token_logprob(prompt_logprobs_[p - 1], static_cast<std::size_t>(*options_.echo_top_n)));
      continue;
    }
    TokenLogprob none;
    none.token_id = options_.prompt_ids[p];
    none.token = logprob_token_text(tokenizer_, none.token_id);
    none.has_logprob = false;
    out.push_back(std::move(none));
  }
  return out;
}

OutputUpdate OutputProcessor::push(std::span<const int32_t> tokens, std::span<const std::optional<TokenLogprobs>> logprobs,
                                   std::optional<FinishReason> finish, std::optional<int32_t> stop_token) {
  OutputUpdate update;
  update.delta.index = options_.index;
  if (finished_) return update;
  if (!logprobs.empty() && logprobs.size() != tokens.size()) {
    throw std::invalid_argument("OutputProcessor::push: " + std::to_string(tokens.size()) + " tokens but " +
                                std::to_string(logprobs.size()) + " logprob entries");
  }
  ChoiceDelta& delta = update.delta;
  if (!echoed_) {
    delta.text = options_.echo;
    if (options_.logprobs) delta.logprobs = echo_logprobs();
    echoed_ = true;
  }

  // The eos or stop id that ends the sequence (the update's last token) stays out of the text, as
  // in vLLM, unless include_stop_str_in_output: with special tokens skipped an eos was invisible
  // anyway, but a stop id may be an ordinary token, and with skip_special_tokens false eos is not.
  const bool drop_stop_token = finish && stop_token && !tokens.empty() && tokens.back() == *stop_token &&
                               !options_.include_stop_str_in_output;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    ++num_tokens_;
    delta.token_ids.push_back(tokens[i]);
    if (options_.logprobs && i < logprobs.size() && logprobs[i]) {
      delta.logprobs.push_back(to_token_logprob(*logprobs[i], logprobs[i]->top.size()));
    }
    if (drop_stop_token && i + 1 == tokens.size()) break;
    auto step = matcher_.push(detokenizer_.push(tokens[i]), num_tokens_ > options_.min_tokens);
    delta.text += step.text;
    if (step.stop) {
      delta.finish = FinishReason::Stop;
      delta.stop_reason = std::move(step.stop);
      update.abort_sequence = true;
      break;
    }
  }

  if (!delta.finish && finish) {
    // The end of the stream: an unfinished character comes out as U+FFFD (and is still checked
    // against the stop strings), then whatever was held back for a stop string that never completed.
    auto step = matcher_.push(detokenizer_.finish(), num_tokens_ > options_.min_tokens);
    delta.text += step.text;
    if (step.stop) {
      delta.finish = FinishReason::Stop;
      delta.stop_reason = std::move(step.stop);
    } else {
      delta.text += matcher_.flush();
      delta.finish = *finish;
      const auto& ids = options_.stop_token_ids;
      if (stop_token && std::find(ids.begin(), ids.end(), *stop_token) != ids.end()) {
        delta.stop_reason = *stop_token;
      }
    }
  }
  finished_ = delta.finish.has_value();
  if (finished_ && options_.prompt_logprobs) delta.prompt_logprobs = prompt_logprobs_entries();
  text_ += delta.text;
  return update;
}

}  // namespace troupe
