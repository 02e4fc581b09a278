// The structured-output engine on arbitrary constraints and arbitrary generation paths. The input
// is a selector byte, a constraint text (a regex, a GBNF grammar or a JSON schema), then bytes that
// steer a walk through the grammar over a small vocabulary (every single byte, a few multi-byte
// tokens, id 0 the stop id). Properties checked:
// - compiling never fails other than with GrammarError (no crash, no other exception);
// - at every step the fast mask (per-node masks + uncertain tokens) equals the slow one (each
//   token stepped through the matcher), and it is never empty: every reachable state can go on
//   or complete;
// - the stop id is allowed exactly where the matcher can complete, and a token the mask allows
//   is always accepted; a token it rejects leaves the matcher unchanged.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "pipeline/structured_output/grammar_matcher.hpp"
#include "pipeline/structured_output/structured_output_grammar.hpp"

namespace {

using namespace troupe;
using namespace troupe::structured_output;

[[noreturn]] void violated(const char* what) {
  std::fprintf(stderr, "fuzz invariant violated: %s\n", what);
  std::abort();
}

const std::shared_ptr<const TokenVocabulary>& vocabulary() {
  static const auto v = [] {
    std::vector<std::string> tokens{""};  // id 0: the stop id
    for (int b = 0; b < 256; ++b) tokens.emplace_back(1, static_cast<char>(b));
    for (const char* t : {"\"", "\":", "\", \"", "{\"", "\"}", "true", "null", "12", "0.", "é", "🙂", "ab", "abc", " {", "},",
                          "]\n", "\\n", "\\u00", "-1", "e+", "::=", "a\"b"}) {
      tokens.emplace_back(t);
    }
    return std::make_shared<const TokenVocabulary>(std::move(tokens), std::vector<int32_t>{0});
  }();
  return v;
}

void walk(const std::shared_ptr<const CompiledGrammar>& grammar, const uint8_t* steer, size_t size) {
  const TokenVocabulary& vocab = grammar->vocabulary();
  GrammarMatcher m(grammar);
  TokenBitmask mask;
  for (size_t step = 0; step < 48; ++step) {
    m.fill_next_token_mask(mask);
    std::vector<int32_t> allowed;
    for (int32_t id = 0; id < vocab.mask_size(); ++id) {
      const bool fast = mask.test(id);
      if (fast != m.allows_token(id)) violated("fast mask differs from the matcher");
      if (fast) allowed.push_back(id);
    }
    if (allowed.empty()) violated("no token allowed in a reachable state");
    if (mask.test(0) != m.can_complete()) violated("stop id allowed where the grammar cannot complete, or the reverse");
    const uint8_t choice = step < size ? steer[step] : 0;
    // Now and then try a token the mask rejects: it must be refused without changing anything.
    if (choice % 7 == 3) {
      for (int32_t id = 1; id < vocab.mask_size(); ++id) {
        if (!mask.test(id)) {
          if (m.accept_token(id)) violated("a token outside the mask was accepted");
          break;
        }
      }
    }
    const int32_t token = allowed[choice % allowed.size()];
    if (!m.accept_token(token)) violated("a token inside the mask was refused");
    if (m.terminated()) return;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2 || size > 4096) return 0;
  // Layout: selector, constraint length, constraint text, steering bytes.
  const uint8_t selector = data[0];
  const size_t length = std::min<size_t>(data[1] * 4, size - 2);
  StructuredOutputRequest request;
  request.text.assign(reinterpret_cast<const char*>(data + 2), length);
  switch (selector % 5) {
    case 0: request.kind = StructuredOutputRequest::Kind::Regex; break;
    case 1: request.kind = StructuredOutputRequest::Kind::Grammar; break;
    case 2: request.kind = StructuredOutputRequest::Kind::JsonSchema; break;
    case 3:
      request.kind = StructuredOutputRequest::Kind::Choice;
      for (size_t start = 0; start <= request.text.size();) {
        const size_t bar = request.text.find('|', start);
        request.choices.push_back(request.text.substr(start, bar == std::string::npos ? std::string::npos : bar - start));
        if (bar == std::string::npos) break;
        start = bar + 1;
      }
      break;
    default: request.kind = StructuredOutputRequest::Kind::JsonObject; break;
  }
  request.disable_any_whitespace = (selector & 0x80) != 0;
  std::shared_ptr<const CompiledGrammar> grammar;
  try {
    grammar = std::make_shared<const CompiledGrammar>(grammar_for(request), vocabulary());
  } catch (const GrammarError&) {
    return 0;  // the input's own clear rejection
  } catch (const std::exception& e) {
    std::fprintf(stderr, "unexpected exception: %s\n", e.what());
    violated("compiling threw something other than GrammarError");
  }
  walk(grammar, data + 2 + length, size - 2 - length);
  return 0;
}
