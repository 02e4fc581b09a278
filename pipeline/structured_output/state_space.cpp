#include "pipeline/structured_output/state_space.hpp"

#include <algorithm>

namespace troupe::structured_output {

StateSpace::StateSpace(const Grammar& grammar) : grammar_(grammar) {
  frames_.push_back({-1, -1});  // kComplete
  frames_.push_back({-1, -1});  // kOpen
}

std::size_t StateSpace::VectorHash::operator()(const std::vector<StackId>& v) const {
  uint64_t h = 0x9E3779B97F4A7C15ull ^ v.size();
  for (StackId s : v) h = (h ^ static_cast<uint64_t>(s)) * 0x100000001B3ull + (h >> 29);
  return static_cast<std::size_t>(h);
}

StateSpace::StackId StateSpace::push(int32_t node, StackId parent) {
  const uint64_t key = (static_cast<uint64_t>(static_cast<uint32_t>(node)) << 32) | static_cast<uint32_t>(parent);
  const auto [it, inserted] = frame_ids_.try_emplace(key, static_cast<StackId>(frames_.size()));
  if (inserted) frames_.push_back({node, parent});
  return it->second;
}

bool StateSpace::contains(StateId state, StackId stack) const {
  const auto s = stacks(state);
  return std::binary_search(s.begin(), s.end(), stack);
}

void StateSpace::normalize(StackId stack, std::vector<StackId>& out) {
  for (;;) {
    const Frame f = frames_[static_cast<std::size_t>(stack)];
    const GrammarNode& node = grammar_.nodes[static_cast<std::size_t>(f.node)];
    if (node.has_edges()) out.push_back(stack);
    if (!node.can_end) return;
    if (f.parent == kComplete || f.parent == kOpen) {
      out.push_back(f.parent);
      return;
    }
    stack = f.parent;
  }
}

// Appends the normalized stacks that result from consuming `byte` at the top of `stack`. A
// `fresh` stack was just pushed by a call and has not been normalized, so a nullable callee may
// also complete before the byte.
void StateSpace::consume(StackId stack, uint8_t byte, bool fresh, std::vector<StackId>& out) {
  if (stack == kComplete || stack == kOpen) return;
  const Frame f = frames_[static_cast<std::size_t>(stack)];
  const GrammarNode& node = grammar_.nodes[static_cast<std::size_t>(f.node)];
  if (const int32_t t = grammar_.byte_target(f.node, byte); t >= 0) normalize(push(t, f.parent), out);
  for (const CallEdge& c : node.calls) {
    const GrammarRule& callee = grammar_.rules[static_cast<std::size_t>(c.rule)];
    if (!callee.first[byte] && !callee.nullable) continue;
    // The callee's frame is fresh: when it can complete at once, the byte goes to `ret`.
    consume(push(callee.start, push(c.target, f.parent)), byte, true, out);
  }
  if (fresh && node.final) consume(f.parent, byte, true, out);
}

StateSpace::StateId StateSpace::intern(std::vector<StackId>& stacks) {
  std::sort(stacks.begin(), stacks.end());
  stacks.erase(std::unique(stacks.begin(), stacks.end()), stacks.end());
  if (stacks.empty()) return kDead;
  const auto it = state_ids_.find(stacks);
  if (it != state_ids_.end()) return it->second;
  const auto id = static_cast<StateId>(states_.size());
  states_.push_back({static_cast<uint32_t>(stack_ids_.size()), static_cast<uint32_t>(stacks.size())});
  stack_ids_.insert(stack_ids_.end(), stacks.begin(), stacks.end());
  state_ids_.emplace(stacks, id);
  return id;
}

StateSpace::StateId StateSpace::root_state() {
  std::vector<StackId> stacks;
  normalize(push(grammar_.rules[static_cast<std::size_t>(grammar_.root)].start, kComplete), stacks);
  // A root start with no edges that is final normalizes to kComplete alone.
  return intern(stacks);
}

StateSpace::StateId StateSpace::open_state(int32_t node) {
  std::vector<StackId> stacks{push(node, kOpen)};
  return intern(stacks);
}

StateSpace::StateId StateSpace::single_stack_state(StackId stack) {
  std::vector<StackId> stacks{stack};
  return intern(stacks);
}

StateSpace::StateId StateSpace::step(StateId state, uint8_t byte) {
  const uint64_t key = (static_cast<uint64_t>(state) << 8) | byte;
  if (const auto it = transitions_.find(key); it != transitions_.end()) return it->second;
  scratch_.clear();
  const auto s = stacks(state);
  // `s` points into stack_ids_, which intern() below may grow: copy the ids first.
  std::vector<StackId> sources(s.begin(), s.end());
  for (StackId stack : sources) consume(stack, byte, false, scratch_);
  const StateId next = intern(scratch_);
  transitions_.emplace(key, next);
  return next;
}

}  // namespace troupe::structured_output
