#include "pipeline/structured_output/compiled_grammar.hpp"

#include <algorithm>

#include "pipeline/structured_output/state_space.hpp"

namespace troupe::structured_output {

namespace {

// Nodes the matcher can stand at: reachable from the root's start and with edges left (a node
// without edges is final and normalization pops it at once).
std::vector<int32_t> positions_of(const Grammar& g) {
  std::vector<char> seen(g.nodes.size(), 0);
  std::vector<int32_t> work{g.rules[static_cast<std::size_t>(g.root)].start};
  seen[static_cast<std::size_t>(work[0])] = 1;
  std::vector<int32_t> out;
  while (!work.empty()) {
    const int32_t n = work.back();
    work.pop_back();
    const GrammarNode& node = g.nodes[static_cast<std::size_t>(n)];
    if (node.has_edges()) out.push_back(n);
    auto visit = [&](int32_t m) {
      if (!seen[static_cast<std::size_t>(m)]) {
        seen[static_cast<std::size_t>(m)] = 1;
        work.push_back(m);
      }
    };
    for (const ByteEdge& e : node.bytes) visit(e.target);
    for (const CallEdge& c : node.calls) {
      visit(c.target);
      visit(g.rules[static_cast<std::size_t>(c.rule)].start);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

uint16_t common_prefix(std::string_view a, std::string_view b) {
  std::size_t n = 0;
  while (n < a.size() && n < b.size() && n < 0xFFFF && a[n] == b[n]) ++n;
  return static_cast<uint16_t>(n);
}

// Classifies every token of the trie for a matcher standing at `node` over an unknown stack.
// Bounds the compile time of one constraint (about 2 s on the development machine): the masks cost
// a walk of the vocabulary trie per automaton position, pruned by the bytes each position takes.
// The JSON schemas of the tests take under 2 million with real vocabularies.
constexpr std::size_t kMaxTrieNodesVisited = 20'000'000;

PositionMask analyse(const Grammar& g, const TokenVocabulary& vocab, StateSpace& space, int32_t node,
                     CompileStats& stats) {
  const ByteSet& follow = g.rule_of(node).follow;
  const ByteSet& first = g.nodes[static_cast<std::size_t>(node)].first;
  const std::size_t n = vocab.node_count();
  std::vector<StateSpace::StateId> states(static_cast<std::size_t>(vocab.max_depth()) + 1);
  std::vector<char> escaped(states.size(), 0);
  states[0] = space.open_state(node);
  std::vector<int32_t> accepted;
  std::vector<int32_t> uncertain;
  for (std::size_t i = 0; i < n;) {
    if (++stats.trie_nodes_visited > kMaxTrieNodesVisited) {
      throw GrammarError("the grammar is too complex to compile against this vocabulary (over " +
                         std::to_string(kMaxTrieNodesVisited) + " vocabulary trie steps); simplify the pattern or schema");
    }
    const auto d = static_cast<std::size_t>(vocab.node_depth(i));
    // A first byte the node cannot take rejects the whole subtree (the rule cannot complete
    // before the first byte: that case belongs to the popped stack of the same state).
    if (d == 1 && !first[vocab.node_byte(i)]) {
      i = static_cast<std::size_t>(vocab.subtree_end(i));
      continue;
    }
    const StateSpace::StateId prev = states[d - 1];
    const uint8_t b = vocab.node_byte(i);
    // The rule may have completed before this byte, which a caller may then take.
    const bool escape = escaped[d - 1] || (follow[b] && space.contains(prev, StateSpace::kOpen));
    const StateSpace::StateId next = space.step(prev, b);
    if (next == StateSpace::kDead) {
      if (escape) {
        const auto ids = vocab.subtree_tokens(i);
        uncertain.insert(uncertain.end(), ids.begin(), ids.end());
      }
      i = static_cast<std::size_t>(vocab.subtree_end(i));
      continue;
    }
    const auto ids = vocab.node_tokens(i);
    accepted.insert(accepted.end(), ids.begin(), ids.end());
    states[d] = next;
    escaped[d] = escape ? 1 : 0;
    ++i;
  }
  PositionMask mask;
  stats.accepted_tokens += accepted.size();
  stats.uncertain_tokens += uncertain.size();
  if (static_cast<int64_t>(accepted.size()) * 32 > vocab.mask_size()) {
    mask.accepted_bits.assign(static_cast<std::size_t>((vocab.mask_size() + 63) / 64), 0);
    for (int32_t id : accepted) mask.accepted_bits[static_cast<std::size_t>(id) >> 6] |= uint64_t{1} << (id & 63);
  } else {
    mask.accepted_ids = std::move(accepted);
  }
  mask.uncertain_common.reserve(uncertain.size());
  std::string_view previous;
  for (int32_t id : uncertain) {
    mask.uncertain_common.push_back(common_prefix(previous, vocab.bytes(id)));
    previous = vocab.bytes(id);
  }
  mask.uncertain = std::move(uncertain);
  stats.bytes += mask.accepted_bits.size() * 8 + mask.accepted_ids.size() * 4 + mask.uncertain.size() * 6;
  return mask;
}

}  // namespace

CompiledGrammar::CompiledGrammar(Grammar grammar, std::shared_ptr<const TokenVocabulary> vocabulary)
    : grammar_(std::move(grammar)), vocabulary_(std::move(vocabulary)) {
  const auto start = std::chrono::steady_clock::now();
  const std::vector<int32_t> nodes = positions_of(grammar_);
  index_.assign(grammar_.nodes.size(), -1);
  positions_.reserve(nodes.size());
  StateSpace space(grammar_);
  for (int32_t node : nodes) {
    index_[static_cast<std::size_t>(node)] = static_cast<int32_t>(positions_.size());
    positions_.push_back(analyse(grammar_, *vocabulary_, space, node, stats_));
  }
  stats_.positions = positions_.size();
  stats_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace troupe::structured_output
