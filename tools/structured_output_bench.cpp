// Cost of structured output per generated token: computing the grammar's token mask, applying it
// to a row of logits, and advancing the matcher by the chosen token. The executor does this for
// every constrained sequence of a step, one after the other, so S streams cost S times the
// per-token figure per step.
//
// Each stream replays a real JSON document, valid against a tool-call schema, as the tokenizer
// encodes it (pretty-printed and compact variants, different values per stream): at each token the
// mask is computed, checked to allow that token, applied to a logit row of the model's size, and
// the matcher advanced. Also reported: building the vocabulary trie, compiling the schema (the
// per-node mask analysis) and a cache hit.
//
//   troupe-structured-output-bench [--tokenizer FILE.json|FILE.gguf] [--streams 1,8] [--rounds N]
//
// Defaults: SmolLM2's tokenizer.json fixture (49,152 ids); pass
// tests/fixtures/tokenizer/deepseek-qwen/tokenizer.gguf for Qwen2.5's 151,665-id vocabulary.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "model/gguf_file.hpp"
#include "pipeline/sampling/token_mask.hpp"
#include "pipeline/structured_output/grammar_matcher.hpp"
#include "pipeline/structured_output/structured_output_grammar.hpp"
#include "pipeline/tokenizer/gguf_tokenizer.hpp"
#include "pipeline/tokenizer/tokenizer.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using namespace troupe;
using namespace troupe::structured_output;

double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

Tokenizer load(const std::string& path) {
  if (path.size() > 5 && path.substr(path.size() - 5) == ".gguf") return tokenizer_from_gguf(GgufFile(path));
  return Tokenizer::from_tokenizer_json(path);
}

// A weather-tool call schema of the kind agents send (vLLM's tool_choice="required" shape).
constexpr const char* kSchema = R"({
  "type": "array", "minItems": 1, "maxItems": 2,
  "items": {"type": "object", "anyOf": [
    {"properties": {"name": {"enum": ["get_weather"]}, "parameters": {"type": "object", "properties": {
        "city": {"type": "string", "description": "City name"},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        "days": {"type": "integer", "minimum": 1, "maximum": 14},
        "include_hourly": {"type": "boolean"},
        "coordinates": {"type": "object", "properties": {"lat": {"type": "number"}, "lon": {"type": "number"}},
                        "required": ["lat", "lon"]}},
      "required": ["city", "unit"]}}, "required": ["name", "parameters"]},
    {"properties": {"name": {"enum": ["search_web"]}, "parameters": {"type": "object", "properties": {
        "query": {"type": "string"}, "max_results": {"type": "integer", "minimum": 1, "maximum": 50},
        "sites": {"type": "array", "items": {"type": "string"}}},
      "required": ["query"]}}, "required": ["name", "parameters"]}]}
})";

std::string document(int i) {
  const char* cities[] = {"Paris", "Zürich", "São Paulo", "東京", "New York", "Reykjavík", "Cape Town", "Kraków"};
  const std::string city = cities[i % 8];
  if (i % 2 == 0) {
    return "[\n  {\n    \"name\": \"get_weather\",\n    \"parameters\": {\n      \"city\": \"" + city +
           "\",\n      \"unit\": \"celsius\",\n      \"days\": " + std::to_string(1 + i % 14) +
           ",\n      \"include_hourly\": true,\n      \"coordinates\": {\"lat\": 48.8566, \"lon\": -2.3522}\n    }\n  }\n]";
  }
  return R"([{"name": "search_web", "parameters": {"query": "best \"coffee\" in )" + city +
         R"( with a view", "max_results": 10, "sites": ["example.com", "news.example.org"]}}, {"name": "get_weather", "parameters": {"city": ")" +
         city + R"(", "unit": "fahrenheit"}}])";
}

struct Stream {
  std::vector<int32_t> tokens;
  std::unique_ptr<GrammarMatcher> matcher;
  std::size_t next = 0;
};

}  // namespace

int main(int argc, char** argv) {
  std::string tokenizer_path = "tests/fixtures/tokenizer/smollm2/tokenizer.json";
  std::vector<int> stream_counts{1, 8};
  int rounds = 5;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--tokenizer" && i + 1 < argc) {
      tokenizer_path = argv[++i];
    } else if (arg == "--rounds" && i + 1 < argc) {
      rounds = std::max(1, std::atoi(argv[++i]));
    } else if (arg == "--streams" && i + 1 < argc) {
      stream_counts.clear();
      std::string list = argv[++i];
      for (std::size_t p = 0; p < list.size();) {
        const std::size_t comma = list.find(',', p);
        stream_counts.push_back(std::atoi(list.substr(p, comma - p).c_str()));
        p = comma == std::string::npos ? list.size() : comma + 1;
      }
    } else {
      std::fprintf(stderr, "usage: troupe-structured-output-bench [--tokenizer FILE] [--streams 1,8] [--rounds N]\n");
      return 2;
    }
  }
  const Tokenizer tokenizer = load(tokenizer_path);
  std::printf("tokenizer %s: %d ids\n", tokenizer_path.c_str(), tokenizer.vocab_size());

  auto t0 = Clock::now();
  GrammarCompiler compiler(tokenizer, {});
  const auto vocab = compiler.vocabulary();
  std::printf("vocabulary trie: %zu nodes, built in %.1f ms\n", vocab->node_count(), since(t0) * 1e3);

  StructuredOutputRequest request;
  request.kind = StructuredOutputRequest::Kind::JsonSchema;
  request.text = kSchema;
  t0 = Clock::now();
  const auto grammar = compiler.compile(request);
  const double compile_ms = since(t0) * 1e3;
  const CompileStats& st = grammar->stats();
  std::printf("schema compile: %.1f ms (%zu nodes analysed, %zu trie nodes visited, %zu uncertain tokens, %.1f MB masks)\n",
              compile_ms, st.positions, st.trie_nodes_visited, st.uncertain_tokens, st.bytes / 1e6);
  t0 = Clock::now();
  compiler.compile(request);
  std::printf("schema compile, cache hit: %.3f ms\n", since(t0) * 1e3);

  const auto row_size = static_cast<std::size_t>(tokenizer.vocab_size());
  std::vector<float> logits(row_size, 0.5f);
  for (int streams : stream_counts) {
    std::vector<double> per_token;  // seconds, one entry per stream-token
    for (int round = 0; round < rounds; ++round) {
      std::vector<Stream> all(static_cast<std::size_t>(streams));
      for (int s = 0; s < streams; ++s) {
        all[static_cast<std::size_t>(s)].tokens = tokenizer.encode(document(s + round), false);
        all[static_cast<std::size_t>(s)].matcher = std::make_unique<GrammarMatcher>(grammar);
      }
      TokenBitmask mask;
      for (bool busy = true; busy;) {
        busy = false;
        for (Stream& s : all) {  // one engine step: every stream's token in turn
          if (s.next >= s.tokens.size()) continue;
          busy = true;
          const int32_t token = s.tokens[s.next++];
          const auto start = Clock::now();
          s.matcher->fill_next_token_mask(mask);
          apply_token_mask(logits, mask);
          const bool ok = mask.test(token) && s.matcher->accept_token(token);
          per_token.push_back(since(start));
          if (!ok) {
            std::fprintf(stderr, "token %d rejected: the benchmark document does not match the schema\n", token);
            return 1;
          }
          std::fill(logits.begin(), logits.end(), 0.5f);
        }
      }
    }
    std::sort(per_token.begin(), per_token.end());
    double total = 0;
    for (double x : per_token) total += x;
    const auto pct = [&](double p) { return per_token[static_cast<std::size_t>(p * static_cast<double>(per_token.size() - 1))]; };
    std::printf("streams %d: %zu tokens, per token mean %.1f us, p50 %.1f us, p99 %.1f us, max %.1f us; per step %.1f us\n", streams,
                per_token.size(), total / static_cast<double>(per_token.size()) * 1e6, pct(0.5) * 1e6, pct(0.99) * 1e6,
                per_token.back() * 1e6, total / static_cast<double>(per_token.size()) * streams * 1e6);
  }
  return 0;
}
