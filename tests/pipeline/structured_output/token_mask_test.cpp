// Token masks on real vocabularies: the fast mask (per-node accepted sets + uncertain tokens tested
// against the stack) equals the slow one (every token stepped through the matcher), at every step
// of sampled generations; stop ids only where the grammar completes.
#include <catch2/catch.hpp>

#include <boost/json.hpp>
#include <random>

#include "tests/pipeline/structured_output/grammar_test_support.hpp"

using namespace troupe;
using namespace troupe::test;
using structured_output::GrammarMatcher;
using structured_output::TokenVocabulary;

namespace {

constexpr const char* kToolSchema = R"({
  "type": "object",
  "properties": {
    "city": {"type": "string", "maxLength": 12},
    "unit": {"enum": ["celsius", "fahrenheit"]},
    "days": {"type": "integer", "minimum": 1, "maximum": 14},
    "hourly": {"type": "boolean"},
    "tags": {"type": "array", "items": {"type": "string", "maxLength": 6}, "maxItems": 3},
    "where": {"type": "object", "properties": {"lat": {"type": "number"}, "lon": {"type": "number"}}, "required": ["lat", "lon"]}
  },
  "required": ["city", "unit"]
})";

// Compares the fast mask with the slow one for every token of the vocabulary.
void check_mask(GrammarMatcher& m, const TokenVocabulary& vocab, TokenBitmask& mask, const std::string& text = {}) {
  m.fill_next_token_mask(mask);
  int64_t mismatches = 0;
  for (int32_t id = 0; id < vocab.mask_size(); ++id) {
    const bool fast = mask.test(id);
    const bool slow = m.allows_token(id);
    if (fast != slow) {
      if (++mismatches <= 5) FAIL_CHECK("after '" << text << "': token " << id << " '" << vocab.bytes(id) << "': mask " << fast << ", matcher " << slow);
    }
  }
  CHECK(mismatches == 0);
}

// Samples tokens uniformly among the allowed ones until the grammar terminates or `max_tokens`;
// checks the mask at each step. Returns the text.
std::string generate(const std::shared_ptr<const structured_output::CompiledGrammar>& g, uint64_t seed, int max_tokens,
                     bool check_every_step) {
  const TokenVocabulary& vocab = g->vocabulary();
  GrammarMatcher m(g);
  TokenBitmask mask;
  std::mt19937_64 rng(seed);
  std::string text;
  for (int step = 0; step < max_tokens; ++step) {
    if (check_every_step && step < 60) check_mask(m, vocab, mask, text);
    else m.fill_next_token_mask(mask);
    std::vector<int32_t> allowed;
    for (int32_t id = 0; id < vocab.mask_size(); ++id) {
      if (mask.test(id)) allowed.push_back(id);
    }
    REQUIRE_FALSE(allowed.empty());
    // Prefer finishing when allowed, so that documents end; otherwise a uniform choice, biased to
    // short tokens now and then so that strings close.
    // Whitespace-only tokens are plentiful in the allowed sets: mostly skip them so documents end.
    std::vector<int32_t> solid;
    for (int32_t id : allowed) {
      if (vocab.bytes(id).find_first_not_of(" \t\n\r") != std::string_view::npos) solid.push_back(id);
    }
    const auto& pool = solid.empty() || rng() % 8 == 0 ? allowed : solid;
    int32_t token = pool[std::uniform_int_distribution<std::size_t>(0, pool.size() - 1)(rng)];
    const bool can_stop = m.can_complete();
    if (can_stop && rng() % 2 == 0) token = vocab.stop_ids().front();
    if (!can_stop && rng() % 3 == 0) {
      for (int32_t id : allowed) {
        if (vocab.bytes(id).size() == 1) {
          token = id;
          if (rng() % 4 == 0) break;
        }
      }
    }
    REQUIRE(m.accept_token(token));
    if (m.terminated()) return text;
    text += vocab.bytes(token);
  }
  return text;
}

std::shared_ptr<const TokenVocabulary> with_stop(const Tokenizer& t) {
  return std::make_shared<const TokenVocabulary>(structured_output::vocabulary_from_tokenizer(t, t.eos_ids()));
}

}  // namespace

TEST_CASE("token mask: SmolLM2 vocabulary, tool schema: fast mask equals the matcher at every step") {
  const auto vocab = with_stop(smollm2_tokenizer());
  REQUIRE_FALSE(vocab->stop_ids().empty());
  const auto g = compile(schema_request(kToolSchema), vocab);
  for (uint64_t seed = 1; seed <= 3; ++seed) {
    const std::string text = generate(g, seed, 400, true);
    CAPTURE(text);
    CHECK(boost::json::parse(text).is_object());
  }
}

TEST_CASE("token mask: Qwen2.5 vocabulary (151k), json_object and regex") {
  const auto vocab = with_stop(qwen_tokenizer());
  StructuredOutputRequest any;
  any.kind = StructuredOutputRequest::Kind::JsonObject;
  const auto g = compile(any, vocab);
  const std::string text = generate(g, 7, 40, true);
  CAPTURE(text);
  const auto r = compile(regex_request(R"((Mon|Tue|Wed)day [0-2]\d:[0-5]\d, "[a-z ]{1,8}")"), vocab);
  const std::string t2 = generate(r, 3, 30, true);
  CAPTURE(t2);
  CHECK(matches(r, t2));
}

TEST_CASE("token mask: stop ids only where the document is complete; special tokens never") {
  const Tokenizer& tok = smollm2_tokenizer();
  const auto vocab = with_stop(tok);
  const auto g = compile(schema_request(R"({"type":"object","properties":{"a":{"type":"integer"}},"required":["a"]})"), vocab);
  GrammarMatcher m(g);
  TokenBitmask mask;
  const int32_t stop = vocab->stop_ids().front();
  m.fill_next_token_mask(mask);
  CHECK_FALSE(mask.test(stop));
  for (int32_t id = 0; id < tok.vocab_size(); ++id) {
    if (tok.is_special(id)) CHECK_FALSE(mask.test(id));
  }
  REQUIRE(m.accept_bytes(R"({"a": 12)"));
  m.fill_next_token_mask(mask);
  CHECK_FALSE(mask.test(stop));
  REQUIRE(m.accept_bytes("}"));
  m.fill_next_token_mask(mask);
  CHECK(mask.test(stop));
  CHECK(mask.count() == static_cast<int64_t>(vocab->stop_ids().size()));  // the document is closed: stop only
  CHECK(m.accept_token(stop));
  CHECK(m.terminated());
  m.fill_next_token_mask(mask);
  CHECK(mask.test(stop));
  CHECK_FALSE(m.accept_token(tok.token_id("a").value()));
}

TEST_CASE("token mask: rejected tokens leave the state unchanged") {
  const auto vocab = with_stop(smollm2_tokenizer());
  const auto g = compile(regex_request("ab+c"), vocab);
  GrammarMatcher m(g);
  CHECK_FALSE(m.accept_token(smollm2_tokenizer().token_id("c").value()));
  CHECK(m.accept_bytes("ab"));
  CHECK_FALSE(m.accept_bytes("bx"));
  CHECK(m.accept_bytes("bbc"));
  CHECK(m.can_complete());
}

TEST_CASE("token mask: GrammarCompiler caches by constraint") {
  structured_output::GrammarCompiler compiler(smollm2_tokenizer(), {});
  const auto a = compiler.compile(schema_request(kToolSchema));
  const auto b = compiler.compile(schema_request(kToolSchema));
  CHECK(a == b);
  CHECK(compiler.cache_hits() == 1);
  auto other = schema_request(kToolSchema);
  other.disable_any_whitespace = true;
  CHECK(compiler.compile(other) != a);
  CHECK(compiler.cache_size() == 2);
  CHECK_THROWS_AS(compiler.compile(schema_request(R"({"not":{}})")), structured_output::GrammarError);
}
