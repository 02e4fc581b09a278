#pragma once
// The grammar state of one sequence: which tokens may come next, and advancing by the token that
// was sampled. One per sequence (choice), owned by the executor thread; cheap to create, since the
// per-node masks live in the shared CompiledGrammar.
#include <memory>
#include <vector>

#include "pipeline/sampling/token_mask.hpp"
#include "pipeline/structured_output/compiled_grammar.hpp"
#include "pipeline/structured_output/state_space.hpp"

namespace troupe::structured_output {

class GrammarMatcher {
 public:
  explicit GrammarMatcher(std::shared_ptr<const CompiledGrammar> grammar);

  // Advances by `token`. Returns false, leaving the state unchanged, for a token the grammar does
  // not allow here. A stop id is allowed where the grammar can complete, and ends the matcher.
  bool accept_token(int32_t token);
  // Advances by raw bytes (tests, and text forced outside sampling). False if rejected.
  bool accept_bytes(std::string_view bytes);

  // Sets in `mask` (resized to the vocabulary's mask size) exactly the tokens accept_token would
  // take. After termination only the stop ids are set.
  void fill_next_token_mask(TokenBitmask& mask);

  // Whether accept_token(token) would succeed, without advancing: token by token, the slow way
  // (tests check fill_next_token_mask against it).
  bool allows_token(int32_t token);

  bool can_complete() const;                 // the output so far is a complete match
  bool terminated() const { return terminated_; }  // a stop id was accepted
  const CompiledGrammar& grammar() const { return *grammar_; }
  std::size_t state_count() const { return space_.state_count(); }  // configurations explored

 private:
  void test_uncertain(StateSpace::StackId stack, const PositionMask& position, TokenBitmask& mask);

  std::shared_ptr<const CompiledGrammar> grammar_;
  StateSpace space_;
  StateSpace::StateId state_;
  bool terminated_ = false;
  std::vector<StateSpace::StateId> walk_;  // states along the current uncertain token
  std::vector<StateSpace::StackId> tops_;  // scratch copy of the state's stacks
};

}  // namespace troupe::structured_output
