// One Tokenizer shared by several threads (as the server's actors share it): the word cache must
// not change any result.
#include <catch2/catch.hpp>

#include <thread>

#include "tokenizer_fixtures.hpp"

namespace troupe {

TEST_CASE("tokenizer: concurrent encoding from several threads gives the reference ids", "[tokenizer][threads]") {
  const Tokenizer tokenizer = test::load_tokenizer("deepseek-qwen (GGUF)");
  const test::ExpectedSet expected = test::expected_set("deepseek-qwen");
  const auto& corpus = test::corpus();
  constexpr int kThreads = 4;
  std::vector<std::size_t> mismatches(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      // Each thread walks the corpus from a different starting line, so cache fills interleave.
      for (std::size_t k = 0; k < corpus.size(); ++k) {
        const std::size_t i = (k + static_cast<std::size_t>(t) * corpus.size() / kThreads) % corpus.size();
        if (tokenizer.encode(corpus[i], false) != expected.lines[i].ids) ++mismatches[static_cast<std::size_t>(t)];
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) CHECK(mismatches[static_cast<std::size_t>(t)] == 0);
}

}  // namespace troupe
