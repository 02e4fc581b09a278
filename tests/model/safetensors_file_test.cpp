#include <catch2/catch.hpp>
#include "model/config_readers.hpp"
#include <cmath>

#include "common/error.hpp"
#include "model/model_files.hpp"
#include "model/safetensors_file.hpp"
#include "tests/support/fixtures.hpp"

using namespace troupe;
using Catch::Matchers::Contains;

namespace {
std::string safetensors_bytes(const std::string& header, const std::string& data) {
  std::string out(8, '\0');
  const uint64_t n = header.size();
  std::memcpy(out.data(), &n, 8);
  return out + header + data;
}
}  // namespace

TEST_CASE("safetensors F32, F16 and BF16 widen exactly", "[model][safetensors]") {
  SafetensorsFile f(test::fixture("models/dtypes/dtypes.safetensors"));
  const auto expected = test::read_json(test::fixture("models/dtypes/expected.json")).as_object();
  REQUIRE(f.tensors().size() == expected.size());
  for (const TensorView& t : f.tensors()) {
    INFO(t.name);
    const auto& e = expected.at(t.name).as_object();
    CHECK(dtype_name(t.dtype) == std::string_view(e.at("dtype").as_string()));
    std::vector<int64_t> shape;
    for (const auto& d : e.at("shape").as_array()) shape.push_back(d.to_number<int64_t>());
    CHECK(t.shape == shape);
    const std::vector<float> got = tensor_to_f32(t);
    const auto& values = e.at("values").as_array();
    REQUIRE(got.size() == values.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
      const auto want = static_cast<float>(values[i].to_number<double>());
      INFO("element " << i);
      CHECK(std::bit_cast<uint32_t>(got[i]) == std::bit_cast<uint32_t>(want));
    }
  }
}

TEST_CASE("safetensors errors name the file and the tensor", "[model][safetensors]") {
  test::TempDir dir;
  SECTION("unknown dtype") {
    test::write_bytes(dir / "a.safetensors",
                      safetensors_bytes(R"({"w":{"dtype":"I8","shape":[2],"data_offsets":[0,2]}})", "ab"));
    CHECK_THROWS_WITH(SafetensorsFile(dir / "a.safetensors"),
                      Contains("a.safetensors") && Contains("'w'") && Contains("I8"));
  }
  SECTION("data past the end of the file") {
    test::write_bytes(dir / "a.safetensors",
                      safetensors_bytes(R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", "12345678"));
    CHECK_THROWS_WITH(SafetensorsFile(dir / "a.safetensors"), Contains("truncated") && Contains("'w'"));
  }
  SECTION("size that does not match the shape") {
    test::write_bytes(dir / "a.safetensors",
                      safetensors_bytes(R"({"w":{"dtype":"F16","shape":[3],"data_offsets":[0,8]}})", "12345678"));
    CHECK_THROWS_WITH(SafetensorsFile(dir / "a.safetensors"), Contains("'w'") && Contains("need"));
  }
  SECTION("header longer than the file") {
    std::string bytes = safetensors_bytes(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", "1234");
    test::write_bytes(dir / "a.safetensors", bytes.substr(0, 20));
    CHECK_THROWS_WITH(SafetensorsFile(dir / "a.safetensors"), Contains("truncated"));
  }
  SECTION("overlapping tensors") {
    test::write_bytes(dir / "a.safetensors",
                      safetensors_bytes(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                        R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                                        "123456789012"));
    CHECK_THROWS_WITH(SafetensorsFile(dir / "a.safetensors"), Contains("overlap"));
  }
  SECTION("a directory without weights") {
    std::filesystem::copy_file(test::fixture("models/llama/config.json"), dir / "config.json");
    CHECK_THROWS_WITH(ModelFiles::open(dir.path()), Contains("no model.safetensors"));
  }
  SECTION("an unsupported architecture") {
    test::write_bytes(dir / "config.json", R"({"model_type":"bloom","hidden_size":8})");
    test::write_bytes(dir / "model.safetensors", safetensors_bytes("{}", ""));
    CHECK_THROWS_WITH(ModelFiles::open(dir.path()), Contains("bloom") && Contains("config.json") &&
                                                        Contains("supported: llama") && Contains("gemma3_text"));
  }
}

TEST_CASE("Hugging Face configs become ModelSpecs", "[model][config]") {
  SECTION("llama with llama3 rope scaling, transformers 5 spelling") {
    const ModelFiles m = ModelFiles::open(test::fixture("models/llama"));
    const ModelSpec& s = m.spec();
    CHECK(s.arch == Architecture::Llama);
    CHECK(s.rope.type == "llama3");
    CHECK(s.rope.factor == 8.0);
    CHECK(s.rope.original_max_position == 64);
    CHECK(s.tie_word_embeddings);
    CHECK(s.rms_eps == Approx(1e-5));
  }
  SECTION("sharded qwen2 with biases") {
    const ModelFiles m = ModelFiles::open(test::fixture("models/qwen2"));
    const ModelSpec& s = m.spec();
    CHECK(s.arch == Architecture::Qwen2);
    CHECK(s.attention_bias);
    CHECK_FALSE(s.tie_word_embeddings);
    CHECK(s.num_layers == 3);
    CHECK(m.find("model.layers.2.self_attn.q_proj.bias") != nullptr);
    CHECK(m.find("lm_head.weight") != nullptr);
  }
  SECTION("qwen3 with a head_dim that is not hidden/heads") {
    const ModelFiles qwen3 = ModelFiles::open(test::fixture("models/qwen3"));
    const ModelSpec& s = qwen3.spec();
    CHECK(s.arch == Architecture::Qwen3);
    CHECK(s.qk_norm);
    CHECK(s.head_dim == 32);
    CHECK(s.q_width() == 128);
  }
  SECTION("transformers 4 spelling: top-level rope_theta and rope_scaling") {
    auto cfg = boost::json::parse(R"({"model_type":"llama","hidden_size":64,"intermediate_size":128,
      "num_hidden_layers":2,"num_attention_heads":4,"num_key_value_heads":2,"vocab_size":100,
      "max_position_embeddings":128,"rope_theta":500000.0,"rms_norm_eps":1e-5,
      "rope_scaling":{"type":"linear","factor":2.0},"eos_token_id":[5,6],"bos_token_id":1})").as_object();
    const ModelSpec s = spec_from_hf_config(cfg, "config.json");
    CHECK(s.rope.theta == 500000.0);
    CHECK(s.rope.type == "linear");
    CHECK(s.rope.factor == 2.0);
    CHECK(s.eos_token_ids == std::vector<int32_t>{5, 6});
    CHECK(s.head_dim == 16);
  }
  SECTION("unsupported options are refused by name") {
    auto cfg = boost::json::parse(R"({"model_type":"llama","hidden_size":64,"intermediate_size":128,
      "num_hidden_layers":2,"num_attention_heads":4,"vocab_size":100,"max_position_embeddings":128,
      "rope_scaling":{"rope_type":"mrope","factor":4.0}})").as_object();
    CHECK_THROWS_WITH(spec_from_hf_config(cfg, "config.json"), Contains("mrope") && Contains("longrope"));
    cfg["rope_scaling"] = nullptr;
    cfg["hidden_act"] = "quick_gelu";
    CHECK_THROWS_WITH(spec_from_hf_config(cfg, "config.json"), Contains("quick_gelu"));
    cfg["hidden_act"] = "silu";
    cfg["architectures"] = boost::json::array{"IQuestLoopCoderForCausalLM"};
    cfg["model_type"] = "iquestcoder";
    CHECK_THROWS_WITH(spec_from_hf_config(cfg, "config.json"), Contains("IQuestLoopCoderForCausalLM") && Contains("loop"));
  }
}
