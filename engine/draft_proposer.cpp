#include "engine/draft_proposer.hpp"

#include <algorithm>
#include <string>

#include "common/error.hpp"
#include "pipeline/sampling/sampler.hpp"

namespace troupe {

DraftModelProposer::DraftModelProposer(std::shared_ptr<Backend> draft, const Backend& target) : draft_(std::move(draft)) {
  check_compatible(*draft_, target);
}

void DraftModelProposer::check_compatible(const Backend& draft, const Backend& target) {
  const ModelSpec& d = draft.spec();
  const ModelSpec& t = target.spec();
  // vLLM checks the vocabulary size; a draft whose ids mean other tokens would only guess wrong,
  // but one with fewer ids could not even be fed the target's tokens.
  if (d.vocab_size != t.vocab_size) {
    throw ConfigError("--speculative-config: the draft model's vocabulary has " + std::to_string(d.vocab_size) +
                      " tokens, the target's " + std::to_string(t.vocab_size) +
                      ": a draft model must share the target's tokenizer");
  }
  if (draft.kv_block_size() != target.kv_block_size() || draft.kv_num_blocks() < target.kv_num_blocks()) {
    throw ConfigError("--speculative-config: the draft model's KV cache (" + std::to_string(draft.kv_num_blocks()) +
                      " blocks of " + std::to_string(draft.kv_block_size()) + ") cannot mirror the target's (" +
                      std::to_string(target.kv_num_blocks()) + " of " + std::to_string(target.kv_block_size()) + ")");
  }
  if (d.has_sequence_state()) {
    throw ConfigError("--speculative-config: a draft model with per-sequence recurrent state (" +
                      std::string(architecture_name(d.arch)) + ") cannot take its rejected guesses back");
  }
  if (d.max_position < t.max_position) {
    throw ConfigError("--speculative-config: the draft model's context (" + std::to_string(d.max_position) +
                      " positions) is shorter than the target's (" + std::to_string(t.max_position) + ")");
  }
}

void DraftModelProposer::propose(std::span<DraftRequest> requests) {
  if (requests.empty()) return;
  // Catch up: each sequence's positions from the first the draft got wrong (or never wrote) through
  // the input, in one chunk; its last row's logits give the first guess.
  batch_.sequences.resize(requests.size());
  std::size_t longest = 0;
  for (std::size_t i = 0; i < requests.size(); ++i) {
    const DraftRequest& r = requests[i];
    std::vector<int32_t>& written = written_[r.id];
    const auto common = static_cast<std::size_t>(
        std::mismatch(written.begin(), written.end(), r.history.begin(), r.history.end()).first - written.begin());
    // The input's position is always computed again: its logits are the first guess's.
    const std::size_t from = std::min(common, r.history.size() - 1);
    SequenceStep& entry = batch_.sequences[i];
    entry.tokens.assign(r.history.begin() + static_cast<std::ptrdiff_t>(from), r.history.end());
    entry.num_cached = static_cast<int64_t>(from);
    entry.block_table = *r.block_table;
    entry.all_logits = false;
    written.assign(r.history.begin(), r.history.end());
    longest = std::max(longest, r.guesses.size());
  }
  for (std::size_t step = 0; step < longest; ++step) {
    if (step > 0) {
      // One token each: the previous guess, at the position after the last one written.
      std::size_t k = 0;
      for (std::size_t i = 0; i < requests.size(); ++i) {
        if (requests[i].guesses.size() <= step) continue;
        const std::vector<int32_t>& written = written_[requests[i].id];
        SequenceStep& entry = batch_.sequences[k++];
        entry.tokens = {written.back()};
        entry.num_cached = static_cast<int64_t>(written.size()) - 1;
        entry.block_table = *requests[i].block_table;
      }
      batch_.sequences.resize(k);
    }
    draft_->forward(batch_, logits_);
    std::size_t k = 0;
    for (std::size_t i = 0; i < requests.size(); ++i) {
      if (requests[i].guesses.size() <= step) continue;
      const int32_t guess =
          argmax({logits_.row(logits_.first_row[k++]), static_cast<std::size_t>(logits_.vocab)});
      requests[i].guesses[step] = guess;
      // The last guess is never fed to the draft: its KV is not written.
      if (step + 1 < requests[i].guesses.size()) written_[requests[i].id].push_back(guess);
    }
  }
}

}  // namespace troupe
