// Encode throughput of troupe's tokenizer, single thread, on the tokenizer fixture corpus.
// tools/tokenizer_bench_hf.py measures Hugging Face `tokenizers` the same way:
//   cold:  one pass over the corpus with a freshly loaded tokenizer (empty word cache);
//   warm:  further passes until --seconds have elapsed (at least one), each line encoded on its
//          own without special tokens added.
// MB/s counts UTF-8 bytes of input text (1 MB = 10^6 bytes).
//
//   troupe-tokenizer-bench [--tokenizer FILE.json|FILE.gguf] [--corpus corpus.jsonl] [--seconds S]
#include <boost/json.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "model/gguf_file.hpp"
#include "pipeline/tokenizer/gguf_tokenizer.hpp"
#include "pipeline/tokenizer/tokenizer.hpp"

namespace {

std::vector<std::string> read_corpus(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open corpus " + path);
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    lines.emplace_back(boost::json::parse(line).as_object().at("text").as_string());
  }
  return lines;
}

troupe::Tokenizer load(const std::string& path) {
  if (path.size() > 5 && path.substr(path.size() - 5) == ".gguf") {
    return troupe::tokenizer_from_gguf(troupe::GgufFile(path));
  }
  return troupe::Tokenizer::from_tokenizer_json(path);
}

struct Pass {
  double seconds = 0;
  std::size_t tokens = 0;
};

Pass encode_all(const troupe::Tokenizer& tokenizer, const std::vector<std::string>& corpus) {
  const auto start = std::chrono::steady_clock::now();
  Pass pass;
  for (const std::string& text : corpus) pass.tokens += tokenizer.encode(text, false).size();
  pass.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return pass;
}

}  // namespace

int main(int argc, char** argv) {
  std::string tokenizer_path = "tests/fixtures/tokenizer/smollm2/tokenizer.json";
  std::string corpus_path = "tests/fixtures/tokenizer/corpus.jsonl";
  double min_seconds = 3.0;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (i + 1 < argc && arg == "--tokenizer") tokenizer_path = argv[++i];
    else if (i + 1 < argc && arg == "--corpus") corpus_path = argv[++i];
    else if (i + 1 < argc && arg == "--seconds") min_seconds = std::atof(argv[++i]);
    else {
      std::cerr << "usage: " << argv[0] << " [--tokenizer FILE.json|FILE.gguf] [--corpus corpus.jsonl] [--seconds S]\n";
      return 2;
    }
  }
  try {
    const std::vector<std::string> corpus = read_corpus(corpus_path);
    std::size_t bytes = 0;
    for (const auto& line : corpus) bytes += line.size();

    const troupe::Tokenizer tokenizer = load(tokenizer_path);
    const Pass cold = encode_all(tokenizer, corpus);
    Pass warm;
    int passes = 0;
    do {
      const Pass p = encode_all(tokenizer, corpus);
      warm.seconds += p.seconds;
      warm.tokens = p.tokens;
      ++passes;
    } while (warm.seconds < min_seconds);

    const double mb = static_cast<double>(bytes) / 1e6;
    std::printf("troupe tokenizer: %s\n", tokenizer_path.c_str());
    std::printf("corpus: %zu lines, %.3f MB, %zu tokens\n", corpus.size(), mb, cold.tokens);
    std::printf("cold (first pass): %.2f MB/s\n", mb / cold.seconds);
    std::printf("warm (%d passes):  %.2f MB/s  (%.0f tokens/s)\n", passes, mb * passes / warm.seconds,
                static_cast<double>(warm.tokens) * passes / warm.seconds);
  } catch (const std::exception& e) {
    std::cerr << "troupe-tokenizer-bench: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
