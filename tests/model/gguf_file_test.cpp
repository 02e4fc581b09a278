#include <catch2/catch.hpp>

#include "common/error.hpp"
#include "model/config_readers.hpp"
#include "model/gguf_file.hpp"
#include "model/model_files.hpp"
#include "tests/model/gguf_builder.hpp"
#include "tests/support/fixtures.hpp"

using namespace troupe;
using Catch::Matchers::Contains;
using test::GgufBuilder;

namespace {
std::string f32_bytes(std::vector<float> v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
}
}  // namespace

TEST_CASE("GGUF metadata of every value type is read", "[model][gguf]") {
  GgufBuilder b;
  b.kv("t.u8", 0, uint8_t{200});
  b.kv("t.i8", 1, int8_t{-100});
  b.kv("t.u16", 2, uint16_t{60000});
  b.kv("t.i16", 3, int16_t{-30000});
  b.kv("t.u32", 4, uint32_t{4000000000u});
  b.kv("t.i32", 5, int32_t{-2000000000});
  b.kv("t.f32", 6, 1.5f);
  b.kv("t.bool", 7, uint8_t{1});
  b.kv_string("t.string", "héllo");
  b.kv("t.u64", 10, uint64_t{1} << 40);
  b.kv("t.i64", 11, int64_t{-(int64_t{1} << 40)});
  b.kv("t.f64", 12, 2.25);
  b.kv_array("t.arr_i32", 5, std::vector<int32_t>{1, -2, 3});
  b.kv_array("t.arr_f32", 6, std::vector<float>{0.5f, -1.0f});
  b.kv_array("t.arr_bool", 7, std::vector<uint8_t>{1, 0});
  b.kv_string_array("t.arr_str", {"a", "", "ccc"});
  b.kv("general.alignment", 4, uint32_t{32});
  b.tensor("w", {4, 2}, 0, f32_bytes({1, 2, 3, 4, 5, 6, 7, 8}));
  test::TempDir dir;
  test::write_bytes(dir / "m.gguf", b.build());

  GgufFile f(dir / "m.gguf");
  CHECK(f.version() == 3);
  CHECK(f.get_int("t.u8") == 200);
  CHECK(f.get_int("t.i8") == -100);
  CHECK(f.get_int("t.u16") == 60000);
  CHECK(f.get_int("t.i16") == -30000);
  CHECK(f.get_int("t.u32") == 4000000000LL);
  CHECK(f.get_int("t.i32") == -2000000000);
  CHECK(f.get_float("t.f32") == 1.5);
  CHECK(f.get_bool("t.bool") == true);
  CHECK(f.get_string("t.string") == "héllo");
  CHECK(f.get_int("t.u64") == (int64_t{1} << 40));
  CHECK(f.get_int("t.i64") == -(int64_t{1} << 40));
  CHECK(f.get_float("t.f64") == 2.25);
  CHECK(f.get_float("t.u32") == 4000000000.0);  // integers widen to float on request
  CHECK(f.get_int_array("t.arr_i32") == std::vector<int64_t>{1, -2, 3});
  CHECK(f.get_float_array("t.arr_f32") == std::vector<double>{0.5, -1.0});
  CHECK(std::get<std::vector<bool>>(f.find("t.arr_bool")->value) == std::vector<bool>{true, false});
  REQUIRE(f.get_string_array("t.arr_str") != nullptr);
  CHECK(*f.get_string_array("t.arr_str") == std::vector<std::string>{"a", "", "ccc"});
  CHECK_FALSE(f.get_int("absent").has_value());
  CHECK_THROWS_WITH(f.get_string("t.u32"), Contains("t.u32") && Contains("expected a string") && Contains("m.gguf"));

  const TensorView* w = f.find_tensor("w");
  REQUIRE(w != nullptr);
  CHECK(w->shape == std::vector<int64_t>{2, 4});  // outermost first
  CHECK(tensor_to_f32(*w) == std::vector<float>{1, 2, 3, 4, 5, 6, 7, 8});
}

TEST_CASE("GGUF errors name the file and what is wrong", "[model][gguf]") {
  test::TempDir dir;
  SECTION("bad magic") {
    GgufBuilder b;
    test::write_bytes(dir / "x.gguf", b.build(3, 0x12345678u));
    CHECK_THROWS_WITH(GgufFile(dir / "x.gguf"), Contains("x.gguf") && Contains("not a GGUF file"));
  }
  SECTION("unsupported version") {
    GgufBuilder b;
    test::write_bytes(dir / "x.gguf", b.build(1));
    CHECK_THROWS_WITH(GgufFile(dir / "x.gguf"), Contains("unsupported GGUF version 1"));
  }
  SECTION("unsupported tensor type names the type and the tensor") {
    GgufBuilder b;
    b.tensor("blk.0.attn_q.weight", {256, 1}, 35, std::string(66, '\0'));  // TQ2_0
    test::write_bytes(dir / "x.gguf", b.build());
    CHECK_THROWS_WITH(GgufFile(dir / "x.gguf"), Contains("blk.0.attn_q.weight") && Contains("TQ2_0"));
  }
  SECTION("truncated header") {
    GgufBuilder b;
    b.kv_string("general.architecture", "llama");
    std::string bytes = b.build();
    test::write_bytes(dir / "x.gguf", bytes.substr(0, 60));  // inside the value "llama"
    CHECK_THROWS_WITH(GgufFile(dir / "x.gguf"), Contains("truncated"));
  }
  SECTION("truncated tensor data names the tensor") {
    const std::string bytes = test::read_text(test::fixture("models/llama_gguf/model.gguf"));
    test::write_bytes(dir / "cut.gguf", bytes.substr(0, bytes.size() / 2));
    CHECK_THROWS_WITH(GgufFile(dir / "cut.gguf"), Contains("cut.gguf") && Contains("truncated") && Contains("tensor '"));
  }
  SECTION("unsupported architecture") {
    GgufBuilder b;
    b.kv_string("general.architecture", "mamba");
    b.tensor("token_embd.weight", {4, 2}, 0, f32_bytes({0, 0, 0, 0, 0, 0, 0, 0}));
    test::write_bytes(dir / "x.gguf", b.build());
    CHECK_THROWS_WITH(ModelFiles::open(dir / "x.gguf"), Contains("mamba") && Contains("not supported"));
  }
  SECTION("a missing size key") {
    GgufBuilder b;
    b.kv_string("general.architecture", "llama");
    b.tensor("token_embd.weight", {4, 2}, 0, f32_bytes({0, 0, 0, 0, 0, 0, 0, 0}));
    test::write_bytes(dir / "x.gguf", b.build());
    CHECK_THROWS_WITH(ModelFiles::open(dir / "x.gguf"), Contains("llama.block_count"));
  }
}

TEST_CASE("GGUF llama fixture: spec, names and shapes", "[model][gguf]") {
  const ModelFiles m = ModelFiles::open(test::fixture("models/llama_gguf/model.gguf"));
  const ModelSpec& s = m.spec();
  CHECK(m.format() == ModelFormat::Gguf);
  CHECK(s.arch == Architecture::Llama);
  CHECK(s.num_layers == 2);
  CHECK(s.hidden_size == 64);
  CHECK(s.intermediate_size == 128);
  CHECK(s.num_heads == 4);
  CHECK(s.num_kv_heads == 2);
  CHECK(s.head_dim == 16);
  CHECK(s.vocab_size == 1000);
  CHECK(s.tie_word_embeddings);
  CHECK_FALSE(s.attention_bias);
  CHECK(s.rope.freq_divisors.size() == 8);
  CHECK(s.rope.theta == Approx(10000.0));
  CHECK(m.tensor("model.embed_tokens.weight").shape == std::vector<int64_t>{1000, 64});
  CHECK(m.tensor("model.layers.1.mlp.down_proj.weight").shape == std::vector<int64_t>{64, 128});
  CHECK_THROWS_WITH(m.tensor("lm_head.weight"), Contains("lm_head.weight"));
  CHECK_THROWS_WITH(m.load_f32("model.norm.weight", {65}), Contains("expected [65]") && Contains("output_norm.weight"));
}

TEST_CASE("GGUF q/k un-permutation restores the Hugging Face rows", "[model][gguf]") {
  const ModelFiles hf = ModelFiles::open(test::fixture("models/llama"));
  const ModelFiles gg = ModelFiles::open(test::fixture("models/llama_gguf/model.gguf"));
  for (const char* name : {"model.layers.0.self_attn.q_proj.weight", "model.layers.1.self_attn.k_proj.weight",
                           "model.layers.0.self_attn.v_proj.weight"}) {
    INFO(name);
    const auto shape = hf.tensor(name).shape;
    CHECK(gg.load_f32(name, shape) == hf.load_f32(name, shape));
  }
}

TEST_CASE("the real SmolLM2 GGUF header reads as a llama model", "[model][gguf][smollm2]") {
  const char* path = std::getenv("TROUPE_DEFAULT_MODEL");
  REQUIRE(path != nullptr);  // the test command fetches the default model and sets this
  const ModelFiles m = ModelFiles::open(path);
  const ModelSpec& s = m.spec();
  CHECK(s.num_layers == 30);
  CHECK(s.hidden_size == 576);
  CHECK(s.num_heads == 9);
  CHECK(s.num_kv_heads == 3);
  CHECK(s.head_dim == 64);
  CHECK(s.vocab_size == 49152);
  CHECK(s.max_position == 8192);
  CHECK(s.tie_word_embeddings);
  CHECK(m.tensor("model.layers.0.mlp.down_proj.weight").dtype == DType::Q4_1);
  CHECK(m.tensor("model.embed_tokens.weight").dtype == DType::Q8_0);
  // <|endoftext|> (0... as recorded) and <|im_end|> both end generation.
  CHECK(std::find(s.eos_token_ids.begin(), s.eos_token_ids.end(), 2) != s.eos_token_ids.end());
}
