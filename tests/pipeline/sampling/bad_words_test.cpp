// bad_words become token sequences as vLLM's update_from_tokenizer makes them, with SmolLM2's real
// tokenizer: the word as written and after a space, leading whitespace stripped first.
#include <catch2/catch.hpp>

#include "pipeline/sampling/bad_words.hpp"
#include "tests/support/fixtures.hpp"

using namespace troupe;

namespace {

const Tokenizer& smollm2() {
  static const Tokenizer t = Tokenizer::from_tokenizer_json(test::fixture("tokenizer/smollm2/tokenizer.json"));
  return t;
}

std::vector<std::vector<int32_t>> of(std::vector<std::string> words) { return bad_words_token_ids(smollm2(), words); }

}  // namespace

TEST_CASE("bad words: each word as written and after a space", "[sampling]") {
  const Tokenizer& t = smollm2();
  // " Paris" is one token of its own, other than "Paris": both forms are banned.
  const auto paris = of({"Paris"});
  REQUIRE(paris.size() == 2);
  CHECK(paris[0] == t.encode("Paris", false));
  CHECK(paris[1] == t.encode(" Paris", false));
  CHECK(paris[0] != paris[1]);
  // Leading whitespace is stripped first (Python's lstrip), so "  Paris" is the same word.
  CHECK(of({"  \tParis"}) == paris);
  // Several words keep their order, two sequences each at most.
  const auto two = of({"Paris", "London"});
  REQUIRE(two.size() >= 3);
  CHECK(two[0] == paris[0]);
  CHECK(two[2] == t.encode("London", false));
}

TEST_CASE("bad words: the spaced form is kept only when it is as long and starts differently", "[sampling]") {
  const Tokenizer& t = smollm2();
  for (const std::string word : {"Paris", "antidisestablishmentarianism", "42", "naïve", "}"}) {
    CAPTURE(word);
    const auto plain = t.encode(word, false);
    const auto spaced = t.encode(" " + word, false);
    const auto seqs = of({word});
    const bool keep = spaced.front() != plain.front() && spaced.size() == plain.size();
    CHECK(seqs.size() == (keep ? 2u : 1u));
    CHECK(seqs[0] == plain);
  }
}

TEST_CASE("bad words: a word of whitespace only tokenizes to nothing: vLLM's error", "[sampling]") {
  CHECK_THROWS_AS(of({"   "}), BadWordsError);
  CHECK_THROWS_WITH(of({"ok", "\n"}), "bad_words entries must tokenize to at least one token.");
}
