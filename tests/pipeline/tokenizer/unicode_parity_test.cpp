// Pre-tokenizer regexes see Unicode 16.0 general categories, as Hugging Face tokenizers 0.23 does
// (its bundled Oniguruma), not Debian libonig's 14.0: tests/fixtures/tokenizer/unicode_cases.json
// holds HF's ids for texts with characters assigned in 15.0-16.0 (and one from 17.0), for DeepSeek's
// tokenizer (split on \p{L}, \p{N}, \p{P}, \p{S}, \p{M}), SmolLM2's and Llama 3.2's.
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include "pipeline/tokenizer/unicode_properties.hpp"
#include "tests/support/fixtures.hpp"
#include "tests/pipeline/tokenizer/tokenizer_fixtures.hpp"

namespace {

boost::json::object load_cases() {
  std::ifstream file(troupe::test::tokenizer_fixtures_dir() / "unicode_cases.json", std::ios::binary);
  REQUIRE(file.good());
  std::stringstream text;
  text << file.rdbuf();
  return boost::json::parse(text.str()).as_object();
}

}  // namespace

TEST_CASE("general categories are Unicode 16.0's") {
  CHECK(troupe::unicode_tables_version() == "16.0.0");
  CHECK(troupe::general_category(U'A') == "Lu");
  CHECK(troupe::general_category(0x1FABF) == "So");   // GOOSE, 15.0
  CHECK(troupe::general_category(0x31350) == "Lo");   // CJK Extension H, 15.0
  CHECK(troupe::general_category(0x1C89) == "Lu");    // CYRILLIC CAPITAL LETTER TJE, 16.0
  CHECK(troupe::general_category(0x1E6C0) == "Cn");   // 17.0: unassigned in 16.0
  CHECK(troupe::general_category(0x10FFFF) == "Cn");
}

TEST_CASE("general-category properties are rewritten to the 16.0 tables, everything else is kept") {
  CHECK(troupe::with_current_unicode_properties(R"([^\r\n\p{L}\p{N}]?\p{L}+)") ==
        R"([^\r\n\p{TroupeUcd16L}\p{TroupeUcd16N}]?\p{TroupeUcd16L}+)");
  const std::string rewritten = troupe::with_current_unicode_properties(R"(\P{Nd}\p{^Letter}\\p{L}\p{Han}\x{41})");
  CHECK(rewritten.find(R"(\P{TroupeUcd16Nd})") != std::string::npos);
  CHECK(rewritten.find(R"(\p{^TroupeUcd16L})") != std::string::npos);
  CHECK(rewritten.find(R"(\\p{L})") != std::string::npos);  // an escaped backslash, then literal text
  CHECK(rewritten.find(R"(\p{Han})") != std::string::npos);  // scripts stay Oniguruma's
  CHECK(rewritten.find(R"(\x{41})") != std::string::npos);
}

TEST_CASE("tokenization of Unicode 15.0-16.0 characters matches Hugging Face") {
  const boost::json::object cases = load_cases();
  const auto& texts = cases.at("texts").as_array();
  for (const auto& [name, entry] : cases.at("tokenizers").as_object()) {
    const boost::json::object& spec = entry.as_object();
    const auto dir = spec.at("in_cache").as_bool() ? troupe::test::tokenizer_cache_dir() : troupe::test::tokenizer_fixtures_dir();
    auto path = dir / std::string(spec.at("file").as_string());
    if (!spec.at("in_cache").as_bool()) path = troupe::test::unpacked(path);  // committed xz-compressed
    if (!std::filesystem::exists(path)) {
      FAIL(path.string() << " is missing: run tools/make_tokenizer_fixtures.py --fetch-only (set TROUPE_TOKENIZER_CACHE "
                            "to use another directory)");
    }
    const troupe::Tokenizer tokenizer = troupe::Tokenizer::from_tokenizer_json(path);
    const auto& ids = spec.at("ids").as_array();
    REQUIRE(ids.size() == texts.size());
    for (std::size_t i = 0; i < texts.size(); ++i) {
      const std::string text(texts[i].as_string());
      INFO(std::string(name) << ": " << text);
      std::vector<int32_t> expected;
      for (const auto& id : ids[i].as_array()) expected.push_back(static_cast<int32_t>(id.as_int64()));
      CHECK(tokenizer.encode(text, /*add_special_tokens=*/false) == expected);
    }
  }
}
