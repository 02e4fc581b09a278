#pragma once
// Helpers for the structured-output tests: real tokenizers from the committed fixtures, a small
// synthetic vocabulary, and matchers over a grammar.
#include <memory>
#include <string>
#include <vector>

#include "model/gguf_file.hpp"
#include "pipeline/structured_output/compiled_grammar.hpp"
#include "pipeline/structured_output/grammar_matcher.hpp"
#include "pipeline/structured_output/structured_output_grammar.hpp"
#include "pipeline/tokenizer/gguf_tokenizer.hpp"
#include "pipeline/tokenizer/tokenizer.hpp"
#include "tests/support/fixtures.hpp"

namespace troupe::test {

// SmolLM2's tokenizer (49,152 ids) and the Qwen2.5 vocabulary of DeepSeek-R1-Distill-Qwen
// (151,665 ids), both committed under tests/fixtures/tokenizer.
inline const Tokenizer& smollm2_tokenizer() {
  static const Tokenizer t = Tokenizer::from_tokenizer_json(fixture("tokenizer/smollm2/tokenizer.json"));
  return t;
}
inline const Tokenizer& qwen_tokenizer() {
  static const Tokenizer t = tokenizer_from_gguf(GgufFile(fixture("tokenizer/deepseek-qwen/tokenizer.gguf")));
  return t;
}

inline std::shared_ptr<const structured_output::TokenVocabulary> vocabulary_of(const Tokenizer& t) {
  return std::make_shared<const structured_output::TokenVocabulary>(structured_output::vocabulary_from_tokenizer(t, {}));
}
inline const std::shared_ptr<const structured_output::TokenVocabulary>& smollm2_vocabulary() {
  static const auto v = vocabulary_of(smollm2_tokenizer());
  return v;
}
inline const std::shared_ptr<const structured_output::TokenVocabulary>& qwen_vocabulary() {
  static const auto v = vocabulary_of(qwen_tokenizer());
  return v;
}

// Every single byte plus a few multi-byte tokens; id 0 is the stop id.
inline std::shared_ptr<const structured_output::TokenVocabulary> byte_vocabulary(std::vector<std::string> extra = {}) {
  std::vector<std::string> tokens{""};
  for (int b = 0; b < 256; ++b) tokens.emplace_back(1, static_cast<char>(b));
  for (auto& e : extra) tokens.push_back(std::move(e));
  return std::make_shared<const structured_output::TokenVocabulary>(std::move(tokens), std::vector<int32_t>{0});
}

inline StructuredOutputRequest schema_request(std::string schema) {
  StructuredOutputRequest r;
  r.kind = StructuredOutputRequest::Kind::JsonSchema;
  r.text = std::move(schema);
  return r;
}
inline StructuredOutputRequest regex_request(std::string regex) {
  StructuredOutputRequest r;
  r.kind = StructuredOutputRequest::Kind::Regex;
  r.text = std::move(regex);
  return r;
}

inline std::shared_ptr<const structured_output::CompiledGrammar> compile(
    const StructuredOutputRequest& request, std::shared_ptr<const structured_output::TokenVocabulary> vocab) {
  return std::make_shared<const structured_output::CompiledGrammar>(structured_output::grammar_for(request), std::move(vocab));
}

// Whether the grammar matches `text` exactly (all of it, and complete there).
inline bool matches(const std::shared_ptr<const structured_output::CompiledGrammar>& g, std::string_view text) {
  structured_output::GrammarMatcher m(g);
  return m.accept_bytes(text) && m.can_complete();
}
// Whether `text` can be extended to a match.
inline bool is_prefix(const std::shared_ptr<const structured_output::CompiledGrammar>& g, std::string_view text) {
  structured_output::GrammarMatcher m(g);
  return m.accept_bytes(text);
}

}  // namespace troupe::test
