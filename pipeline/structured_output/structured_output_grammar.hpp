#pragma once
// The grammar of a request's structured-output constraint, and the compiler that prepares it for
// the model's vocabulary with a cache keyed by the constraint.
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "pipeline/request/structured_output_request.hpp"
#include "pipeline/structured_output/compiled_grammar.hpp"
#include "pipeline/structured_output/grammar.hpp"
#include "pipeline/tokenizer/tokenizer.hpp"

namespace troupe::structured_output {

// Throws GrammarError with a message for the API client. Cheap (no vocabulary involved): the API
// layer calls it to reject a bad constraint before the request is queued.
Grammar grammar_for(const StructuredOutputRequest& request);

// Compiles constraints against one tokenizer. Thread-safe: tokenizer actors share one. The
// vocabulary trie is built on first use; compiled grammars are kept for the most recent
// `capacity` distinct constraints (tool schemas repeat request after request).
class GrammarCompiler {
 public:
  // `stop_ids`: the model's end-of-sequence ids (added to the tokenizer's own).
  GrammarCompiler(Tokenizer tokenizer, std::vector<int32_t> stop_ids, std::size_t capacity = 64);

  // Throws GrammarError.
  std::shared_ptr<const CompiledGrammar> compile(const StructuredOutputRequest& request);
  std::shared_ptr<const TokenVocabulary> vocabulary();

  std::size_t cache_hits() const;
  std::size_t cache_size() const;

 private:
  Tokenizer tokenizer_;
  std::vector<int32_t> stop_ids_;
  std::size_t capacity_;
  std::once_flag vocabulary_once_;
  std::shared_ptr<const TokenVocabulary> vocabulary_;
  mutable std::mutex mutex_;
  std::list<std::string> recency_;  // most recent first
  struct Entry {
    std::shared_ptr<const CompiledGrammar> grammar;
    std::list<std::string>::iterator position;
  };
  std::unordered_map<std::string, Entry> cache_;
  std::size_t hits_ = 0;
};

}  // namespace troupe::structured_output
