#include "pipeline/openai/logprobs_json.hpp"

#include <cmath>

namespace troupe {

namespace {

int64_t code_points(std::string_view text) {
  int64_t count = 0;
  for (char c : text) count += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return count;
}

boost::json::array utf8_bytes(std::string_view text) {
  boost::json::array bytes;
  bytes.reserve(text.size());
  for (char c : text) bytes.emplace_back(static_cast<int>(static_cast<unsigned char>(c)));
  return bytes;
}

}  // namespace

double json_logprob(float logprob) { return std::isfinite(logprob) ? static_cast<double>(logprob) : -9999.0; }

boost::json::object completion_logprobs(const std::vector<TokenLogprob>& tokens, int64_t first_offset,
                                        int64_t* next_offset) {
  boost::json::array texts, logprobs, tops, offsets;
  int64_t offset = first_offset;
  for (const TokenLogprob& token : tokens) {
    texts.emplace_back(token.token);
    if (!token.has_logprob) {
      logprobs.emplace_back(nullptr);
      tops.emplace_back(nullptr);
    } else {
      logprobs.emplace_back(json_logprob(token.logprob));
      // The chosen token first, then the most likely ones (vLLM's order): top_n or top_n + 1
      // entries, as the legacy completions API defines them.
      boost::json::object top;
      top[token.token] = json_logprob(token.logprob);
      for (const TopLogprob& candidate : token.top) {
        if (!top.contains(candidate.token)) top[candidate.token] = json_logprob(candidate.logprob);
      }
      tops.emplace_back(std::move(top));
    }
    offsets.emplace_back(offset);
    offset += code_points(token.token);
  }
  if (next_offset != nullptr) *next_offset = offset;
  boost::json::object out;
  out["tokens"] = std::move(texts);
  out["token_logprobs"] = std::move(logprobs);
  out["top_logprobs"] = std::move(tops);
  out["text_offset"] = std::move(offsets);
  return out;
}

boost::json::object chat_logprobs(const std::vector<TokenLogprob>& tokens) {
  boost::json::array content;
  for (const TokenLogprob& token : tokens) {
    boost::json::array tops;
    for (const TopLogprob& candidate : token.top) {
      tops.emplace_back(boost::json::object{{"token", candidate.token},
                                            {"logprob", json_logprob(candidate.logprob)},
                                            {"bytes", utf8_bytes(candidate.token)}});
    }
    content.emplace_back(boost::json::object{{"token", token.token},
                                             {"logprob", json_logprob(token.logprob)},
                                             {"bytes", utf8_bytes(token.token)},
                                             {"top_logprobs", std::move(tops)}});
  }
  return boost::json::object{{"content", std::move(content)}};
}

boost::json::array prompt_logprobs_json(const PromptLogprobs& positions) {
  boost::json::array out;
  out.reserve(positions.size());
  for (const std::vector<RankedLogprob>& entry : positions) {
    if (entry.empty()) {
      out.emplace_back(nullptr);
      continue;
    }
    boost::json::object tokens;
    for (const RankedLogprob& t : entry) {
      tokens[std::to_string(t.token_id)] = boost::json::object{
          {"logprob", json_logprob(t.logprob)}, {"rank", t.rank}, {"decoded_token", t.token}};
    }
    out.emplace_back(std::move(tokens));
  }
  return out;
}

}  // namespace troupe
