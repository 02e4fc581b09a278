#pragma once
// A byte-level context-free grammar in the form the matcher runs: each rule is a deterministic
// automaton over bytes whose edges either consume one byte (a range) or call another rule (a
// recursive transition network). Calling pushes a return address; reaching a final node of the
// callee may pop back to it. Built by GrammarBuilder; immutable afterwards.
//
// Invariants established by the builder: every node can reach a final node of its rule (no dead
// ends), every called rule matches at least one string, no rule can reach itself without
// consuming a byte (no left recursion), and byte edges of a node are disjoint and sorted.
#include <array>
#include <bitset>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace troupe::structured_output {

// A grammar, schema or regular expression that cannot be compiled (unsupported keyword, syntax
// error, a language with no string in it, too large). The message is written for the API client.
class GrammarError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

using ByteSet = std::bitset<256>;

struct ByteEdge {
  uint8_t lo = 0;  // inclusive range of bytes
  uint8_t hi = 0;
  int32_t target = 0;  // node id
};

struct CallEdge {
  int32_t rule = 0;    // callee
  int32_t target = 0;  // node of the caller to continue at once the callee completes
};

struct GrammarNode {
  int32_t rule = 0;
  bool final = false;    // the rule may complete here
  bool can_end = false;  // final, or final after calls of rules that match the empty string
  ByteSet first;         // bytes that can be consumed here without the rule completing first
  std::vector<ByteEdge> bytes;
  std::vector<CallEdge> calls;
  bool has_edges() const { return !bytes.empty() || !calls.empty(); }
};

struct GrammarRule {
  std::string name;
  int32_t start = 0;      // node id
  bool nullable = false;  // matches the empty string
  ByteSet first;          // bytes a non-empty match can start with
  ByteSet follow;         // bytes that may come right after the rule completes, in any caller
};

class Grammar {
 public:
  std::vector<GrammarRule> rules;
  std::vector<GrammarNode> nodes;  // all rules' nodes; node.rule says whose
  int32_t root = 0;

  // Node reached from `node` by consuming `byte`, or -1.
  int32_t byte_target(int32_t node, uint8_t byte) const {
    for (const ByteEdge& e : nodes[static_cast<std::size_t>(node)].bytes) {
      if (byte < e.lo) return -1;
      if (byte <= e.hi) return e.target;
    }
    return -1;
  }
  const GrammarRule& rule_of(int32_t node) const { return rules[static_cast<std::size_t>(nodes[static_cast<std::size_t>(node)].rule)]; }

  // Readable listing of the automata, for tests and debugging.
  std::string dump() const;
};

}  // namespace troupe::structured_output
