#include "tokenizer_fixtures.hpp"

#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>

#include "model/gguf_file.hpp"
#include "pipeline/tokenizer/gguf_tokenizer.hpp"
#include "pipeline/tokenizer/sentencepiece_tokenizer.hpp"
#include "tests/support/fixtures.hpp"

namespace troupe::test {
namespace {

namespace json = boost::json;

std::vector<json::value> read_jsonl(const std::filesystem::path& path) {
  std::vector<json::value> rows;
  std::istringstream in(read_text(unpacked(path)));  // committed plain or as .xz
  std::string line;
  while (std::getline(in, line)) rows.push_back(json::parse(line));
  return rows;
}

std::vector<int32_t> ids_of(const json::value& v) {
  std::vector<int32_t> ids;
  for (const auto& id : v.as_array()) ids.push_back(static_cast<int32_t>(id.to_number<int64_t>()));
  return ids;
}

const json::object& manifest() {
  static const json::value m = json::parse(read_text(tokenizer_fixtures_dir() / "manifest.json"));
  return m.as_object();
}

}  // namespace

std::filesystem::path tokenizer_fixtures_dir() { return std::filesystem::path(TROUPE_FIXTURES_DIR) / "tokenizer"; }

std::filesystem::path tokenizer_cache_dir() {
  if (const char* env = std::getenv("TROUPE_TOKENIZER_CACHE"); env != nullptr && *env != '\0') return env;
  return tokenizer_fixtures_dir() / "cache";
}

const std::vector<std::string>& corpus() {
  static const std::vector<std::string> lines = [] {
    std::vector<std::string> out;
    for (const auto& row : read_jsonl(tokenizer_fixtures_dir() / "corpus.jsonl")) {
      out.emplace_back(row.as_object().at("text").as_string());
    }
    return out;
  }();
  return lines;
}

std::filesystem::path models_dir() {
  // As tools/fetch_model.sh: $TROUPE_CACHE_DIR, else $XDG_CACHE_HOME/troupe, else ~/.cache/troupe.
  if (const char* env = std::getenv("TROUPE_CACHE_DIR"); env != nullptr && *env != '\0') {
    return std::filesystem::path(env) / "models";
  }
  if (const char* env = std::getenv("XDG_CACHE_HOME"); env != nullptr && *env != '\0') {
    return std::filesystem::path(env) / "troupe" / "models";
  }
  const char* home = std::getenv("HOME");
  return std::filesystem::path(home != nullptr ? home : ".") / ".cache" / "troupe" / "models";
}

std::vector<TokenizerLoad> tokenizer_loads() {
  std::vector<TokenizerLoad> loads;
  for (const auto& v : manifest().at("loads").as_array()) {
    const auto& o = v.as_object();
    TokenizerLoad load;
    load.name = std::string(o.at("name").as_string());
    load.expected = std::string(o.at("expected").as_string());
    load.format = std::string(o.at("format").as_string());
    load.in_cache = o.at("in_cache").as_bool();
    load.in_models = o.contains("in_models") && o.at("in_models").as_bool();
    if (o.contains("prefix")) load.prefix = ids_of(o.at("prefix"));
    const std::string file(o.at("file").as_string());
    load.file = (load.in_models ? models_dir() : load.in_cache ? tokenizer_cache_dir() : tokenizer_fixtures_dir()) / file;
    if (!load.in_models && !load.in_cache) load.file = unpacked(load.file);
    loads.push_back(std::move(load));
  }
  return loads;
}

const TokenizerLoad& tokenizer_load(const std::string& name) {
  static const std::vector<TokenizerLoad> loads = tokenizer_loads();
  for (const auto& load : loads) {
    if (load.name == name) return load;
  }
  throw std::runtime_error("no tokenizer named \"" + name + "\" in the fixtures manifest");
}

ExpectedSet expected_set(const std::string& name) {
  ExpectedSet set;
  const auto& meta = manifest().at("expected").as_object().at(name).as_object();
  set.prefix = ids_of(meta.at("prefix"));
  set.suffix = ids_of(meta.at("suffix"));
  set.vocab_size = static_cast<int32_t>(meta.at("vocab_size").to_number<int64_t>());
  const auto& texts = corpus();
  const auto rows = read_jsonl(tokenizer_fixtures_dir() / "expected" / (name + ".jsonl"));
  if (rows.size() != texts.size()) throw std::runtime_error("expected/" + name + ".jsonl does not match the corpus");
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const auto& o = rows[i].as_object();
    ExpectedLine line;
    line.ids = ids_of(o.at("ids"));
    line.ids_literal_special = o.contains("ids_literal_special") ? ids_of(o.at("ids_literal_special")) : line.ids;
    line.decoded = o.contains("decoded") ? std::string(o.at("decoded").as_string()) : texts[i];
    line.decoded_skip_special =
        o.contains("decoded_skip_special") ? std::string(o.at("decoded_skip_special").as_string()) : line.decoded;
    if (o.contains("decoded_continuation")) {
      line.decoded_continuation = std::string(o.at("decoded_continuation").as_string());
    } else if (o.contains("continuation_adds_space")) {
      line.decoded_continuation = " " + line.decoded_skip_special;
    } else {
      line.decoded_continuation = line.decoded_skip_special;
    }
    set.lines.push_back(std::move(line));
  }
  return set;
}

Tokenizer load_tokenizer(const TokenizerLoad& load) {
  if (!std::filesystem::exists(load.file)) {
    std::string how;
    if (load.in_models) {
      how = ": fetch the model with `tools/fetch_model.sh` (tools/test.sh does)";
    } else if (load.in_cache) {
      how = ": fill the tokenizer cache with `python3 tools/make_tokenizer_fixtures.py --fetch-only` and "
            "`python3 tools/make_sentencepiece_fixtures.py --fetch-only` (set TROUPE_TOKENIZER_CACHE to use another "
            "directory)";
    }
    throw std::runtime_error(load.file.string() + " is missing" + how);
  }
  if (load.format == "gguf") return tokenizer_from_gguf(GgufFile(load.file));
  if (load.format == "sentencepiece") return tokenizer_from_sentencepiece(load.file);
  return Tokenizer::from_tokenizer_json(load.file);
}

Tokenizer load_tokenizer(const std::string& name) { return load_tokenizer(tokenizer_load(name)); }

std::string describe_ids(const std::vector<int32_t>& ids) {
  std::string out = "[";
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (i > 0) out += ',';
    out += std::to_string(ids[i]);
  }
  out += ']';
  return out;
}

}  // namespace troupe::test
