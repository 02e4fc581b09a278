#include "pipeline/structured_output/grammar_matcher.hpp"

#include <algorithm>
#include <limits>

namespace troupe::structured_output {

GrammarMatcher::GrammarMatcher(std::shared_ptr<const CompiledGrammar> grammar)
    : grammar_(std::move(grammar)), space_(grammar_->grammar()), state_(space_.root_state()) {
  walk_.resize(static_cast<std::size_t>(grammar_->vocabulary().max_depth()) + 1);
}

bool GrammarMatcher::can_complete() const { return !terminated_ && space_.contains(state_, StateSpace::kComplete); }

bool GrammarMatcher::accept_token(int32_t token) {
  if (terminated_) return false;
  const TokenVocabulary& vocab = grammar_->vocabulary();
  const auto& stops = vocab.stop_ids();
  if (std::binary_search(stops.begin(), stops.end(), token)) {
    if (!can_complete()) return false;
    terminated_ = true;
    return true;
  }
  if (token < 0 || token >= vocab.token_count() || vocab.rank(token) < 0) return false;
  return accept_bytes(vocab.bytes(token));
}

bool GrammarMatcher::allows_token(int32_t token) {
  if (terminated_) return false;
  const TokenVocabulary& vocab = grammar_->vocabulary();
  const auto& stops = vocab.stop_ids();
  if (std::binary_search(stops.begin(), stops.end(), token)) return can_complete();
  if (token < 0 || token >= vocab.token_count() || vocab.rank(token) < 0) return false;
  StateSpace::StateId s = state_;
  for (char c : vocab.bytes(token)) {
    s = space_.step(s, static_cast<uint8_t>(c));
    if (s == StateSpace::kDead) return false;
  }
  return true;
}

bool GrammarMatcher::accept_bytes(std::string_view bytes) {
  if (terminated_) return false;
  StateSpace::StateId s = state_;
  for (char c : bytes) {
    s = space_.step(s, static_cast<uint8_t>(c));
    if (s == StateSpace::kDead) return false;
  }
  state_ = s;
  return true;
}

void GrammarMatcher::fill_next_token_mask(TokenBitmask& mask) {
  const TokenVocabulary& vocab = grammar_->vocabulary();
  if (mask.size() != vocab.mask_size()) mask.resize(vocab.mask_size());
  mask.clear();
  bool complete = false;
  if (!terminated_) {
    const auto stacks = space_.stacks(state_);
    tops_.assign(stacks.begin(), stacks.end());  // the walks below may grow the state space
    for (StateSpace::StackId stack : tops_) {
      if (stack == StateSpace::kComplete) {
        complete = true;
        continue;
      }
      const PositionMask& position = grammar_->position(space_.top_node(stack));
      if (!position.accepted_bits.empty()) {
        mask.unite(position.accepted_bits);
      } else {
        for (int32_t id : position.accepted_ids) mask.set(id);
      }
      if (!position.uncertain.empty()) test_uncertain(stack, position, mask);
    }
  }
  if (complete || terminated_) {
    for (int32_t id : vocab.stop_ids()) mask.set(id);
  }
}

// Runs the uncertain tokens of one stack top through the real stack, in trie order so that a
// shared prefix is stepped once and a prefix that dies rejects every token that starts with it.
void GrammarMatcher::test_uncertain(StateSpace::StackId stack, const PositionMask& position, TokenBitmask& mask) {
  const TokenVocabulary& vocab = grammar_->vocabulary();
  walk_[0] = space_.single_stack_state(stack);
  std::size_t valid = 0;  // walk_[0..valid] hold the states after that many bytes of the last token stepped
  std::size_t dead = std::numeric_limits<std::size_t>::max();  // length of the last prefix that died
  for (std::size_t k = 0; k < position.uncertain.size(); ++k) {
    const int32_t id = position.uncertain[k];
    const std::size_t common = position.uncertain_common[k];
    valid = std::min(valid, common);
    if (common >= dead) continue;  // starts with the prefix that died
    dead = std::numeric_limits<std::size_t>::max();
    if (mask.test(id)) continue;
    const std::string_view bytes = vocab.bytes(id);
    StateSpace::StateId s = walk_[valid];
    std::size_t j = valid;
    for (; j < bytes.size(); ++j) {
      s = space_.step(s, static_cast<uint8_t>(bytes[j]));
      if (s == StateSpace::kDead) break;
      walk_[j + 1] = s;
    }
    if (s == StateSpace::kDead) {
      dead = j + 1;
      valid = j;
      continue;
    }
    valid = bytes.size();
    mask.set(id);
  }
}

}  // namespace troupe::structured_output
