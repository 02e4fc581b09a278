#pragma once
// Comparing a backend with llama.cpp's greedy runs as tools/make_llamacpp_kquant_reference.py and
// tools/make_llamacpp_gemma3_reference.py record them: per prompt its ids, llama.cpp's generated
// ids and, at every step, its 5 most likely tokens with their log-probabilities.
#include <boost/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "tests/support/greedy.hpp"

namespace troupe::test {

inline std::vector<int32_t> json_ids(const boost::json::value& v) {
  std::vector<int32_t> ids;
  for (const auto& x : v.as_array()) ids.push_back(x.to_number<int32_t>());
  return ids;
}

// log softmax of one row of logits at `id`.
inline double log_prob(const float* row, int64_t vocab, int64_t id) {
  const float max = *std::max_element(row, row + vocab);
  double sum = 0;
  for (int64_t i = 0; i < vocab; ++i) sum += std::exp(static_cast<double>(row[i] - max));
  return static_cast<double>(row[id] - max) - std::log(sum);
}

// |our log-prob − llama.cpp's| over the top tokens llama.cpp lists at every step of one prompt,
// teacher-forced on llama.cpp's tokens (one step over the prompt and its generated ids).
struct LogprobGaps {
  double worst = 0;
  double total = 0;
  int64_t compared = 0;
  double mean() const { return compared > 0 ? total / static_cast<double>(compared) : 0.0; }
};

inline void add_logprob_gaps(Backend& backend, const boost::json::object& prompt, LogprobGaps& gaps) {
  const auto ids_in = json_ids(prompt.at("prompt_ids"));
  const auto theirs = json_ids(prompt.at("generated_ids"));
  auto ids = ids_in;
  ids.insert(ids.end(), theirs.begin(), theirs.end() - 1);
  const StepLogits ours = all_logits(backend, ids);
  const auto& top = prompt.at("top_logprobs").as_array();
  for (std::size_t i = 0; i < top.size(); ++i) {
    const float* row = ours.row(static_cast<int64_t>(ids_in.size() - 1 + i));
    for (const auto& entry : top[i].as_array()) {
      const auto id = entry.as_array()[0].to_number<int64_t>();
      const double gap = std::abs(log_prob(row, ours.vocab, id) - entry.as_array()[1].to_number<double>());
      gaps.worst = std::max(gaps.worst, gap);
      gaps.total += gap;
      ++gaps.compared;
    }
  }
}

}  // namespace troupe::test
