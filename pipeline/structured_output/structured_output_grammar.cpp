#include "pipeline/structured_output/structured_output_grammar.hpp"

#include "pipeline/structured_output/ebnf_grammar.hpp"
#include "pipeline/structured_output/grammar_builder.hpp"
#include "pipeline/structured_output/json_schema_grammar.hpp"
#include "pipeline/structured_output/regex_compiler.hpp"

namespace troupe::structured_output {

Grammar grammar_for(const StructuredOutputRequest& request) {
  JsonGrammarOptions json_options;
  json_options.any_whitespace = !request.disable_any_whitespace;
  json_options.whitespace_pattern = request.whitespace_pattern;
  switch (request.kind) {
    case StructuredOutputRequest::Kind::JsonObject:
      return json_object_grammar(json_options);
    case StructuredOutputRequest::Kind::JsonSchema:
      return json_schema_grammar(request.text, json_options);
    case StructuredOutputRequest::Kind::Regex: {
      GrammarBuilder b;
      const auto root = b.rule("root", compile_regex(b, request.text, RegexTarget::Text));
      return b.build(root);
    }
    case StructuredOutputRequest::Kind::Choice: {
      if (request.choices.empty()) throw GrammarError("the choice list is empty");
      GrammarBuilder b;
      std::vector<GrammarBuilder::Expr> options;
      for (const std::string& c : request.choices) options.push_back(b.literal(c));
      const auto root = b.rule("root", b.alt(std::move(options)));
      return b.build(root);
    }
    case StructuredOutputRequest::Kind::Grammar:
      return ebnf_grammar(request.text);
  }
  throw GrammarError("unknown structured output kind");
}

GrammarCompiler::GrammarCompiler(Tokenizer tokenizer, std::vector<int32_t> stop_ids, std::size_t capacity)
    : tokenizer_(std::move(tokenizer)), stop_ids_(std::move(stop_ids)), capacity_(std::max<std::size_t>(capacity, 1)) {}

std::shared_ptr<const TokenVocabulary> GrammarCompiler::vocabulary() {
  std::call_once(vocabulary_once_, [this] {
    vocabulary_ = std::make_shared<const TokenVocabulary>(vocabulary_from_tokenizer(tokenizer_, stop_ids_));
  });
  return vocabulary_;
}

std::shared_ptr<const CompiledGrammar> GrammarCompiler::compile(const StructuredOutputRequest& request) {
  const std::string key = request.cache_key();
  {
    std::lock_guard lock(mutex_);
    if (const auto it = cache_.find(key); it != cache_.end()) {
      recency_.splice(recency_.begin(), recency_, it->second.position);
      ++hits_;
      return it->second.grammar;
    }
  }
  // Compiled outside the lock: two actors may compile the same constraint at once; one result wins.
  auto compiled = std::make_shared<const CompiledGrammar>(grammar_for(request), vocabulary());
  std::lock_guard lock(mutex_);
  if (const auto it = cache_.find(key); it != cache_.end()) return it->second.grammar;
  recency_.push_front(key);
  cache_.emplace(key, Entry{compiled, recency_.begin()});
  while (cache_.size() > capacity_) {
    cache_.erase(recency_.back());
    recency_.pop_back();
  }
  return compiled;
}

std::size_t GrammarCompiler::cache_hits() const {
  std::lock_guard lock(mutex_);
  return hits_;
}

std::size_t GrammarCompiler::cache_size() const {
  std::lock_guard lock(mutex_);
  return cache_.size();
}

}  // namespace troupe::structured_output
