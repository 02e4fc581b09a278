#pragma once
// The configurations a grammar's pushdown matcher can be in, built lazily and memoized.
//
// A stack is a persistent linked list of nodes (the top is the node the matcher is at; each
// entry below is the node its caller continues at), hash-consed so that equal stacks share one
// id. A state is a sorted set of stacks: the grammar may be ambiguous for a while (an anyOf whose
// branches start alike), so the matcher follows every possibility at once. States are interned
// and byte transitions between them memoized, so after warm-up a step is one hash lookup: in
// effect a DFA over the pushdown automaton's configurations, built as it is explored.
//
// States are normalized: a stack whose top node can end its rule (final, or final after calls of
// rules that match the empty string) also appears popped (its caller continuing), and a top with
// no edges left is dropped, so the tops of a state's stacks are
// exactly the places the next byte can be consumed from (besides the completion markers).
#include <cstdint>
#include <span>
#include <unordered_map>
#include <vector>

#include "pipeline/structured_output/grammar.hpp"

namespace troupe::structured_output {

class StateSpace {
 public:
  using StackId = int32_t;
  using StateId = int32_t;
  // The empty stack under the root rule: the whole grammar has completed.
  static constexpr StackId kComplete = 0;
  // The unknown context under an analysed node: the node's rule has completed and what follows
  // depends on a caller that the context-independent analysis does not know.
  static constexpr StackId kOpen = 1;
  static constexpr StateId kDead = -1;

  explicit StateSpace(const Grammar& grammar);

  // The state before any byte: the root rule at its start (with kComplete when it is nullable).
  StateId root_state();
  // A state with the single stack [node] over the unknown context kOpen, not normalized: the
  // completion of node's rule before any byte is left out (the analysis counts it elsewhere).
  StateId open_state(int32_t node);
  // A state holding just this stack, as it stands (used to test tokens against one stack).
  StateId single_stack_state(StackId stack);

  // The state after consuming `byte`, or kDead.
  StateId step(StateId state, uint8_t byte);

  std::span<const StackId> stacks(StateId state) const {
    const auto& s = states_[static_cast<std::size_t>(state)];
    return {stack_ids_.data() + s.begin, s.size};
  }
  int32_t top_node(StackId stack) const { return frames_[static_cast<std::size_t>(stack)].node; }
  bool contains(StateId state, StackId stack) const;

  std::size_t state_count() const { return states_.size(); }
  std::size_t stack_count() const { return frames_.size(); }

 private:
  struct Frame {
    int32_t node;
    StackId parent;
  };
  struct StateRecord {
    uint32_t begin;
    uint32_t size;
  };
  struct VectorHash {
    std::size_t operator()(const std::vector<StackId>& v) const;
  };

  StackId push(int32_t node, StackId parent);
  void consume(StackId stack, uint8_t byte, bool fresh, std::vector<StackId>& out);
  void normalize(StackId stack, std::vector<StackId>& out);
  StateId intern(std::vector<StackId>& stacks);

  const Grammar& grammar_;
  std::vector<Frame> frames_;
  std::unordered_map<uint64_t, StackId> frame_ids_;  // (node, parent) -> stack id
  std::vector<StackId> stack_ids_;                   // the states' stacks, back to back
  std::vector<StateRecord> states_;
  std::unordered_map<std::vector<StackId>, StateId, VectorHash> state_ids_;
  std::unordered_map<uint64_t, StateId> transitions_;  // (state << 8 | byte) -> state
  std::vector<StackId> scratch_;
};

}  // namespace troupe::structured_output
