// Prompt-lookup proposals and vLLM's --speculative-config parsing.
#include <catch2/catch.hpp>

#include "common/error.hpp"
#include "pipeline/speculative/ngram_proposer.hpp"
#include "pipeline/speculative/speculative_config.hpp"

namespace troupe {

TEST_CASE("ngram: continues the latest earlier occurrence of the longest matching suffix", "[speculative]") {
  //                               0  1  2  3  4  5  6  7  8  9 10 11
  const std::vector<int32_t> t = {1, 2, 3, 9, 9, 1, 2, 3, 4, 5, 1, 2};
  // Suffix [1, 2] occurs at 0 and 5: the latest (5) is continued: 3, 4, 5.
  CHECK(propose_ngram(t, {1, 3}, 3) == std::vector<int32_t>{3, 4, 5});
  // k larger than what follows: as many as there are (up to the end).
  CHECK(propose_ngram(t, {2, 2}, 10) == std::vector<int32_t>{3, 4, 5, 1, 2});
  // The longer suffix [5, 1, 2] does not occur earlier; [1, 2] does.
  CHECK(propose_ngram(t, {2, 3}, 2) == std::vector<int32_t>{3, 4});
  // Only suffixes of 3 allowed: none matches.
  CHECK(propose_ngram(t, {3, 3}, 2).empty());
  CHECK(propose_ngram(t, {1, 3}, 0).empty());
}

TEST_CASE("ngram: the longest suffix wins over a later shorter match", "[speculative]") {
  //                               0  1  2  3  4  5  6  7  8  9
  const std::vector<int32_t> t = {7, 8, 9, 1, 6, 8, 9, 2, 7, 8, 9};
  // [7, 8, 9] occurred at 0 (followed by 1); [8, 9] last occurred at 5 (followed by 2).
  CHECK(propose_ngram(t, {2, 3}, 1) == std::vector<int32_t>{1});
  CHECK(propose_ngram(t, {2, 2}, 1) == std::vector<int32_t>{2});
}

TEST_CASE("ngram: short and repetitive inputs", "[speculative]") {
  CHECK(propose_ngram(std::vector<int32_t>{}, {1, 3}, 4).empty());
  CHECK(propose_ngram(std::vector<int32_t>{5}, {1, 3}, 4).empty());
  // A run of one token: the suffix [5, 5] matches one step back and proposes the run's tail.
  CHECK(propose_ngram(std::vector<int32_t>{5, 5, 5, 5}, {2, 2}, 3) == std::vector<int32_t>{5});
}

TEST_CASE("speculative config: vLLM's JSON", "[speculative]") {
  SECTION("ngram with both bounds") {
    const SpeculativeConfig c = parse_speculative_config(
        R"({"method": "ngram", "num_speculative_tokens": 4, "prompt_lookup_min": 2, "prompt_lookup_max": 5})");
    CHECK(c.method == SpeculativeMethod::Ngram);
    CHECK(c.enabled());
    CHECK(c.num_speculative_tokens == 4);
    CHECK(c.prompt_lookup_min == 2);
    CHECK(c.prompt_lookup_max == 5);
    CHECK(c.batch_size_limit() == SpeculativeConfig::kDefaultDisableByBatchSize);
  }
  SECTION("one bound sets the other; vLLM's defaults are 5 and 5") {
    CHECK(parse_speculative_config(R"({"method": "ngram", "num_speculative_tokens": 3, "prompt_lookup_max": 4})")
              .prompt_lookup_min == 4);
    const auto d = parse_speculative_config(R"({"method": "ngram", "num_speculative_tokens": 3})");
    CHECK(d.prompt_lookup_min == 5);
    CHECK(d.prompt_lookup_max == 5);
  }
  SECTION("the old [ngram] model name, disable_by_batch_size") {
    const auto c = parse_speculative_config(R"({"model": "[ngram]", "num_speculative_tokens": 2, "disable_by_batch_size": 4})");
    CHECK(c.method == SpeculativeMethod::Ngram);
    CHECK(c.batch_size_limit() == 4);
  }
  SECTION("a draft model") {
    const auto c = parse_speculative_config(R"({"model": "/models/draft.gguf", "num_speculative_tokens": 5})");
    CHECK(c.method == SpeculativeMethod::Draft);
    CHECK(c.draft_model == "/models/draft.gguf");
  }
  SECTION("empty: off") { CHECK_FALSE(parse_speculative_config("").enabled()); }
  SECTION("mistakes name the key") {
    auto fails_with = [](const std::string& json, const std::string& part) {
      CAPTURE(json);
      try {
        parse_speculative_config(json);
        FAIL("accepted");
      } catch (const ConfigError& e) {
        CHECK_THAT(e.what(), Catch::Contains(part));
      }
    };
    fails_with("[1]", "not a JSON object");
    fails_with(R"({"method": "ngram"})", "num_speculative_tokens");
    fails_with(R"({"method": "ngram", "num_speculative_tokens": 0})", "num_speculative_tokens");
    fails_with(R"({"method": "ngram", "num_speculative_tokens": 99})", "1 to 32");
    fails_with(R"({"method": "ngram", "num_speculative_tokens": 2, "prompt_lookup_min": 4, "prompt_lookup_max": 2})",
               "prompt_lookup_max");
    fails_with(R"({"method": "eagle", "model": "x", "num_speculative_tokens": 2})", "not supported");
    fails_with(R"({"method": "ngram", "num_speculative_tokens": 2, "bogus": 1})", "bogus");
    fails_with(R"({"method": "draft_model", "num_speculative_tokens": 2})", "needs \"model\"");
    fails_with(R"({"num_speculative_tokens": "3", "method": "ngram"})", "must be an integer");
  }
}

}  // namespace troupe
