#pragma once
// A grammar prepared for one vocabulary: for every node the matcher can stand at, which tokens it
// accepts no matter what the stack below holds. Computed once per grammar (off the executor
// thread) by walking the token trie from each node with an unknown context under it:
//
//  - accepted: the token is consumed without the node's rule completing first (or it completes
//    exactly at the token's end), so the stack below never matters;
//  - uncertain: the rule completes part-way through the token and a byte that may follow the rule
//    (its FOLLOW set) comes next: only the real stack can tell, so the matcher tests these against
//    it at run time;
//  - everything else is rejected, and a rejected prefix prunes its whole trie subtree.
//
// This is the context-independent mask cache: at run time a mask is the union of the accepted
// sets of the state's stack tops plus the few uncertain tokens that pass, and the stop ids where
// the grammar can complete.
#include <chrono>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "pipeline/structured_output/grammar.hpp"
#include "pipeline/structured_output/token_vocabulary.hpp"

namespace troupe::structured_output {

struct PositionMask {
  std::vector<uint64_t> accepted_bits;  // a bit per id, when many are accepted
  std::vector<int32_t> accepted_ids;    // otherwise the ids
  std::vector<int32_t> uncertain;       // ids in trie order (sorted by bytes)
  std::vector<uint16_t> uncertain_common;  // bytes each shares with the previous uncertain id
};

struct CompileStats {
  std::size_t positions = 0;
  std::size_t trie_nodes_visited = 0;
  std::size_t accepted_tokens = 0;   // summed over positions
  std::size_t uncertain_tokens = 0;  // summed over positions
  std::size_t bytes = 0;             // memory held by the position masks
  double seconds = 0.0;
};

class CompiledGrammar {
 public:
  CompiledGrammar(Grammar grammar, std::shared_ptr<const TokenVocabulary> vocabulary);

  const Grammar& grammar() const { return grammar_; }
  const TokenVocabulary& vocabulary() const { return *vocabulary_; }
  // The mask of a node the matcher can stand at (a node with edges reachable from the root).
  const PositionMask& position(int32_t node) const { return positions_[static_cast<std::size_t>(index_[static_cast<std::size_t>(node)])]; }
  const CompileStats& stats() const { return stats_; }

 private:
  Grammar grammar_;
  std::shared_ptr<const TokenVocabulary> vocabulary_;
  std::vector<int32_t> index_;  // node -> index into positions_, -1 if not a position
  std::vector<PositionMask> positions_;
  CompileStats stats_;
};

}  // namespace troupe::structured_output
