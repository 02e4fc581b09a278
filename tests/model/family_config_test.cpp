// How the configurations of the families beyond Llama/Qwen become ModelSpecs: Gemma 3's defaults
// and its multimodal wrapper, the three ways layers are marked sliding, RoPE scaling from config.json
// and from GGUF metadata (YaRN's keys, Gemma 3's window pattern and local base), and the
// inverse frequencies of YaRN and dynamic NTK against values computed from their definitions.
#include <catch2/catch.hpp>

#include <boost/json.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <numbers>

#include "common/error.hpp"
#include "model/config_readers.hpp"
#include "model/gemma3n_config.hpp"
#include "model/gguf_file.hpp"
#include "model/decoder_layout.hpp"
#include "model/model_files.hpp"
#include "tests/model/gguf_builder.hpp"

using namespace troupe;
using Catch::Matchers::Contains;

namespace {

boost::json::object parse(const char* text) { return boost::json::parse(text).as_object(); }

// A layer_types list's items (for "[" + ... + "]"): `attention` at every layer i with
// i % period == phase, `other` elsewhere.
std::string layer_types(int layers, int period, int phase, const std::string& attention, const std::string& other) {
  std::string out;
  for (int i = 0; i < layers; ++i) out += std::string(i ? "," : "") + "\"" + (i % period == phase ? attention : other) + "\"";
  return out;
}

// GGUF value types of the format.
constexpr uint32_t kU32 = 4, kF32 = 6, kBool = 7;

std::filesystem::path write_gguf(const test::GgufBuilder& b, const std::string& name) {
  const auto path = std::filesystem::temp_directory_path() / ("troupe-family-" + name + ".gguf");
  std::ofstream(path, std::ios::binary) << b.build();
  return path;
}

// A one-layer gguf of `arch` with the sizes every reader requires and an F32 embedding.
test::GgufBuilder minimal_gguf(const std::string& arch, uint32_t layers) {
  test::GgufBuilder b;
  b.kv_string("general.architecture", arch);
  b.kv(arch + ".block_count", kU32, layers);
  b.kv(arch + ".embedding_length", kU32, uint32_t{64});
  b.kv(arch + ".feed_forward_length", kU32, uint32_t{128});
  b.kv(arch + ".attention.head_count", kU32, uint32_t{4});
  b.kv(arch + ".attention.head_count_kv", kU32, uint32_t{2});
  b.kv(arch + ".attention.key_length", kU32, uint32_t{32});
  b.kv(arch + ".context_length", kU32, uint32_t{4096});
  b.tensor("token_embd.weight", {64, 10}, 0, std::string(64 * 10 * 4, '\0'));
  return b;
}

}  // namespace

TEST_CASE("Gemma 3 configs: defaults, the multimodal wrapper, layer types", "[model][config][families]") {
  SECTION("Gemma3ForConditionalGeneration: the text_config, with Gemma3TextConfig's defaults") {
    const ModelSpec s = spec_from_hf_config(parse(R"({"model_type":"gemma3","architectures":["Gemma3ForConditionalGeneration"],
      "text_config":{"model_type":"gemma3_text","hidden_size":2560,"intermediate_size":10240,"num_hidden_layers":12,
        "rope_scaling":{"rope_type":"linear","factor":8.0},"sliding_window":1024},
      "vision_config":{"hidden_size":1152}})"), "config.json");
    CHECK(s.arch == Architecture::Gemma3);
    CHECK(s.num_heads == 8);
    CHECK(s.num_kv_heads == 4);
    CHECK(s.head_dim == 256);
    CHECK(s.vocab_size == 262208);
    CHECK(s.max_position == 131072);
    CHECK(s.tie_word_embeddings);
    CHECK(s.activation == Activation::GeluTanh);
    CHECK(s.sandwich_norms);
    CHECK(s.norm_weight_offset == 1.0);
    CHECK(s.embedding_multiplier == Approx(std::sqrt(2560.0)));
    CHECK(s.attention_scale == Approx(1.0 / 16.0));  // query_pre_attn_scalar 256
    // sliding_window_pattern 6: layers 5 and 11 global.
    CHECK(s.layer_window == std::vector<int64_t>{1024, 1024, 1024, 1024, 1024, 0, 1024, 1024, 1024, 1024, 1024, 0});
    CHECK(s.rope.type == "linear");
    CHECK(s.rope.factor == 8.0);
    CHECK(s.rope.theta == 1e6);
    REQUIRE(s.local_rope);
    CHECK(s.local_rope->type == "default");
    CHECK(s.local_rope->theta == 10000.0);
    CHECK(&s.rope_of(0) == &*s.local_rope);
    CHECK(&s.rope_of(5) == &s.rope);
  }
  SECTION("soft-capping, where a Gemma 3 config sets it, is read as Gemma 2's") {
    const ModelSpec s = spec_from_hf_config(parse(R"({"model_type":"gemma3_text","hidden_size":64,"intermediate_size":128,
      "num_hidden_layers":2,"final_logit_softcapping":30.0})"), "config.json");
    CHECK(s.final_logit_softcap == 30.0);
    CHECK(s.attention_softcap == 0.0);
  }
  SECTION("Mistral: one window over every layer; none when sliding_window is null") {
    const char* base = R"({"model_type":"mistral","hidden_size":64,"intermediate_size":128,"num_hidden_layers":2,
      "num_attention_heads":4,"num_key_value_heads":2,"vocab_size":100,"max_position_embeddings":512,"sliding_window":)";
    CHECK(spec_from_hf_config(parse((std::string(base) + "16}").c_str()), "c").layer_window ==
          std::vector<int64_t>{16, 16});
    CHECK(spec_from_hf_config(parse((std::string(base) + "null}").c_str()), "c").layer_window.empty());
  }
  SECTION("IQuest-Coder: clip_qkv, and the window from max_window_layers only with use_sliding_window") {
    const char* base = R"({"model_type":"iquestcoder","architectures":["IQuestCoderForCausalLM"],"hidden_size":64,
      "intermediate_size":128,"num_hidden_layers":3,"num_attention_heads":4,"num_key_value_heads":2,"vocab_size":100,
      "max_position_embeddings":512,"rope_theta":500000,"clip_qkv":8.0,"sliding_window":32,"max_window_layers":1,
      "eos_token_id":[2,75864,75869],"use_sliding_window":)";
    const ModelSpec on = spec_from_hf_config(parse((std::string(base) + "true}").c_str()), "c");
    CHECK(on.clip_qkv == 8.0);
    CHECK(on.layer_window == std::vector<int64_t>{0, 32, 32});
    CHECK(on.eos_token_ids == std::vector<int32_t>{2, 75864, 75869});
    CHECK(spec_from_hf_config(parse((std::string(base) + "false}").c_str()), "c").layer_window.empty());
  }
}

TEST_CASE("RoPE scaling: YaRN and dynamic NTK from config.json", "[model][config][families]") {
  SECTION("Qwen2.5's YaRN: 32,768 trained positions × 4 are served") {
    const ModelSpec s = spec_from_hf_config(parse(R"({"model_type":"qwen2","hidden_size":64,"intermediate_size":128,
      "num_hidden_layers":1,"num_attention_heads":4,"num_key_value_heads":2,"vocab_size":100,
      "max_position_embeddings":32768,"rope_theta":1000000.0,
      "rope_scaling":{"type":"yarn","factor":4.0,"original_max_position_embeddings":32768}})"), "config.json");
    CHECK(s.rope.type == "yarn");
    CHECK(s.max_position == 131072);
    CHECK(rope_attention_factor(s.rope) == Approx(0.1 * std::log(4.0) + 1.0));
    CHECK(s.attention_scale_of(0) == Approx(std::pow(0.1 * std::log(4.0) + 1.0, 2) / 4.0));  // head_dim 16
    // YaRN's definition: dimensions turning more than beta_fast (32) times over the original
    // context keep their frequency, those turning fewer than beta_slow (1) times are divided by
    // the factor.
    const auto inv = rope_inverse_frequencies(s.rope, 16);
    for (int i = 0; i < 8; ++i) {
      const double base = std::pow(1e6, -2.0 * i / 16);
      const double rotations = 32768.0 * base / (2 * std::numbers::pi);
      if (rotations > 32) CHECK(inv[i] == Approx(base));
      if (rotations < 1) CHECK(inv[i] == Approx(base / 4));
    }
  }
  SECTION("dynamic NTK: the base of the longest context served, fixed") {
    const ModelSpec s = spec_from_hf_config(parse(R"({"model_type":"llama","hidden_size":64,"intermediate_size":128,
      "num_hidden_layers":1,"num_attention_heads":4,"vocab_size":100,"max_position_embeddings":2048,
      "rope_scaling":{"rope_type":"dynamic","factor":2.0}})"), "config.json");
    CHECK(s.max_position == 4096);
    const auto inv = rope_inverse_frequencies(s.rope, 16);
    const double base = 10000.0 * std::pow(2.0 * 4096 / 2048 - 1.0, 16.0 / 14.0);
    for (int i = 0; i < 8; ++i) CHECK(inv[i] == Approx(std::pow(base, -2.0 * i / 16)));
  }
}

TEST_CASE("Phi-3 configs: LongRoPE's two factor sets, its old name, Phi-4-mini's partial rotary",
          "[model][config][families]") {
  const std::string head = R"({"model_type":"phi3","hidden_size":64,"intermediate_size":128,"num_hidden_layers":1,
    "num_attention_heads":4,"vocab_size":100,"max_position_embeddings":131072,"original_max_position_embeddings":4096,
    "sliding_window":262144,)";
  const std::string factors = R"("short_factor":[1,1,1,1,1,1,1,2],"long_factor":[1,2,3,4,5,6,7,8])";
  SECTION("Phi-3.5's 128K: the long set, attention factor from the two contexts") {
    ModelSpec s = spec_from_hf_config(parse((head + R"("rope_scaling":{"type":"longrope",)" + factors + "}}").c_str()), "c");
    CHECK(s.arch == Architecture::Phi3);
    CHECK(s.rope.use_long_factors);
    CHECK(s.layer_window == std::vector<int64_t>{262144});
    CHECK(rope_attention_factor(s.rope) == Approx(std::sqrt(1.0 + std::log(32.0) / std::log(4096.0))));
    CHECK(rope_inverse_frequencies(s.rope, 16)[7] == Approx(std::pow(10000.0, -14.0 / 16) / 8));
    s.limit_context(4096);
    CHECK_FALSE(s.rope.use_long_factors);
    CHECK(rope_inverse_frequencies(s.rope, 16)[7] == Approx(std::pow(10000.0, -14.0 / 16) / 2));
  }
  SECTION("\"su\", the first configs' name") {
    const ModelSpec s = spec_from_hf_config(parse((head + R"("rope_scaling":{"type":"su",)" + factors + "}}").c_str()), "c");
    CHECK(s.rope.type == "longrope");
  }
  SECTION("Phi-4-mini's partial rotary: RoPE on int(head_dim × factor) dimensions, factor sets of half that") {
    const ModelSpec s = spec_from_hf_config(parse((head + R"("partial_rotary_factor":0.75,"rope_scaling":{"type":"longrope",)"
                                                          R"("short_factor":[1,1,1,1,1,2],"long_factor":[1,2,3,4,5,6]}})").c_str()), "c");
    CHECK(s.rotary_dims() == 12);
    CHECK(rope_inverse_frequencies(s.rope, s.rotary_dims()).size() == 6);
    CHECK_THROWS_WITH(spec_from_hf_config(parse((head + R"("partial_rotary_factor":0.75,"rope_scaling":{"type":"longrope",)"
                                                        + factors + "}}").c_str()), "c"),
                      Contains("expected head_dim/2 = 6"));
  }
  SECTION("a factor set of the wrong length, a missing one, a partial rotary factor out of range") {
    CHECK_THROWS_WITH(spec_from_hf_config(parse((head + R"("rope_scaling":{"type":"longrope","short_factor":[1,1],)"
                                                        R"("long_factor":[1,2,3,4,5,6,7,8]}})").c_str()), "c"),
                      Contains("expected head_dim/2 = 8"));
    CHECK_THROWS_WITH(spec_from_hf_config(parse((head + R"("rope_scaling":{"type":"longrope","short_factor":[1]}})").c_str()), "c"),
                      Contains("long_factor"));
    CHECK_THROWS_WITH(spec_from_hf_config(parse((head + R"("partial_rotary_factor":1.5,"rope_scaling":null})").c_str()), "c"),
                      Contains("partial_rotary_factor"));
  }
}

TEST_CASE("Gemma 2 configs: Gemma2Config's defaults (soft-capping 50 and 30, tied, window 4096), even layers slide",
          "[model][config][families]") {
  const ModelSpec s = spec_from_hf_config(parse(R"({"model_type":"gemma2","hidden_size":64,"intermediate_size":128,
    "num_hidden_layers":4,"num_attention_heads":4,"num_key_value_heads":2,"head_dim":16,"vocab_size":100,
    "max_position_embeddings":8192,"query_pre_attn_scalar":144})"), "c");
  CHECK(s.arch == Architecture::Gemma2);
  CHECK(s.attention_softcap == 50.0);
  CHECK(s.final_logit_softcap == 30.0);
  CHECK(s.tie_word_embeddings);
  CHECK(s.sandwich_norms);
  CHECK_FALSE(s.qk_norm);
  CHECK_FALSE(s.local_rope);
  CHECK(s.rope.theta == 10000.0);
  CHECK(s.layer_window == std::vector<int64_t>{4096, 0, 4096, 0});
  CHECK(s.attention_scale == Approx(1.0 / 12.0));
}

TEST_CASE("Mistral configs: sliding_window absent is MistralConfig's 4096, null is none", "[model][config][families]") {
  const std::string head = R"({"model_type":"mistral","hidden_size":64,"intermediate_size":128,"num_hidden_layers":2,
    "num_attention_heads":4,"vocab_size":100,"max_position_embeddings":32768)";
  CHECK(spec_from_hf_config(parse((head + "}").c_str()), "c").layer_window == std::vector<int64_t>{4096, 4096});
  CHECK(spec_from_hf_config(parse((head + R"(,"sliding_window":null})").c_str()), "c").layer_window.empty());
  CHECK(spec_from_hf_config(parse((head + R"(,"sliding_window":8})").c_str()), "c").layer_window == std::vector<int64_t>{8, 8});
}

TEST_CASE("Ministral 3 configs: no window by default, the temperature from rope_parameters, the wrapper's text type",
          "[model][config][families]") {
  const std::string text = R"({"model_type":"ministral3","hidden_size":64,"intermediate_size":128,"num_hidden_layers":2,
    "num_attention_heads":4,"vocab_size":100,"max_position_embeddings":262144,"rope_parameters":{"rope_type":"yarn",
    "factor":16.0,"original_max_position_embeddings":16384,"mscale":1.0,"mscale_all_dim":1.0,"llama_4_scaling_beta":0.1,
    "rope_theta":1000000.0}})";
  ModelSpec spec = spec_from_hf_config(parse(text.c_str()), "c");
  CHECK(spec.arch == Architecture::Ministral3);
  CHECK(spec.layer_window.empty());  // Ministral3Config: none (MistralConfig's 4096 is not its default)
  CHECK(spec.attention_temperature.beta == Approx(0.1));
  CHECK(spec.attention_temperature.original == 16384);
  CHECK(spec.attention_temperature.at(16383) == 1.0f);
  CHECK(spec.attention_temperature.at(16384) == Approx(1.0 + 0.1 * std::log(2.0)));
  CHECK(spec.attention_temperature.at(3 * 16384 + 5) == Approx(1.0 + 0.1 * std::log(4.0)));
  spec.limit_context(16384);
  CHECK_FALSE(spec.attention_temperature.active());
  // As Mistral3ForConditionalGeneration's text_config: its model_type picks the family.
  const std::string wrapped = R"({"model_type":"mistral3","text_config":)" + text + "}";
  CHECK(spec_from_hf_config(parse(wrapped.c_str()), "c").arch == Architecture::Ministral3);
  const std::string other = R"({"model_type":"mistral3","text_config":{"model_type":"mistral5","hidden_size":64}})";
  CHECK_THROWS_WITH(spec_from_hf_config(parse(other.c_str()), "c"),
                    Contains("model_type \"mistral5\" is not supported as mistral3's language model"));
  const std::string no_original = R"({"model_type":"ministral3","hidden_size":64,"intermediate_size":128,
    "num_hidden_layers":2,"num_attention_heads":4,"vocab_size":100,"max_position_embeddings":4096,
    "rope_parameters":{"rope_type":"default","llama_4_scaling_beta":0.1}})";
  CHECK_THROWS_WITH(spec_from_hf_config(parse(no_original.c_str()), "c"),
                    Contains("llama_4_scaling_beta without original_max_position_embeddings"));
}

TEST_CASE("Qwen3-VL configs: the language model of qwen3_vl is Qwen3, qwen3_vl_moe's Qwen3-MoE, always renormalized",
          "[model][config][families]") {
  const std::string wrapped = R"({"model_type":"qwen3_vl","tie_word_embeddings":true,"text_config":{
    "model_type":"qwen3_vl_text","hidden_size":64,"intermediate_size":128,"num_hidden_layers":2,"num_attention_heads":4,
    "num_key_value_heads":2,"head_dim":16,"vocab_size":100,"max_position_embeddings":262144,
    "rope_scaling":{"mrope_interleaved":true,"mrope_section":[2,3,3],"rope_type":"default"},"rope_theta":5000000}})";
  const ModelSpec spec = spec_from_hf_config(parse(wrapped.c_str()), "c");
  CHECK(spec.arch == Architecture::Qwen3);
  CHECK(spec.qk_norm);
  CHECK(spec.rope.type == "default");
  CHECK(spec.rope.theta == 5000000.0);
  CHECK(spec.tie_word_embeddings);
  const ModelSpec moe = spec_from_hf_config(parse(R"({"model_type":"qwen3_vl_moe","text_config":{
    "model_type":"qwen3_vl_moe_text","hidden_size":64,"intermediate_size":128,"num_hidden_layers":2,"num_attention_heads":4,
    "num_key_value_heads":2,"head_dim":16,"vocab_size":100,"max_position_embeddings":262144,"num_experts":8,
    "num_experts_per_tok":2,"moe_intermediate_size":24,"decoder_sparse_step":1,
    "rope_scaling":{"mrope_interleaved":true,"mrope_section":[2,3,3],"rope_type":"default"},"rope_theta":5000000}})"), "c");
  CHECK(moe.arch == Architecture::Qwen3Moe);
  REQUIRE(moe.moe);
  CHECK((moe.moe->num_experts == 8 && moe.moe->intermediate_size == 24 && moe.moe->normalize_top_k));
}

TEST_CASE("MiniMax-M2 configs: rotary_dim as the partial rotary, DeepSeek-V3's routing without groups", "[model][config][families]") {
  const std::string head = R"({"model_type":"minimax_m2","hidden_size":64,"intermediate_size":32,"num_hidden_layers":2,
    "num_attention_heads":4,"num_key_value_heads":2,"head_dim":128,"vocab_size":100,"max_position_embeddings":4096,
    "num_local_experts":8,"num_experts_per_tok":2,"rotary_dim":64,"rope_theta":5000000)";
  const ModelSpec spec = spec_from_hf_config(parse((head + "}").c_str()), "c");
  CHECK(spec.arch == Architecture::MinimaxM2);
  CHECK(spec.rotary_dims() == 64);
  CHECK((spec.qk_norm && spec.qk_norm_whole));
  REQUIRE(spec.moe);
  CHECK((spec.moe->sigmoid_scores && spec.moe->selection_bias && spec.moe->normalize_top_k));
  CHECK(spec.moe->weights_scale == 1.0);
  CHECK(spec.moe->intermediate_size == 32);  // intermediate_size is the experts' width
  CHECK_THROWS_WITH(spec_from_hf_config(parse((head + R"(,"scoring_func":"softmax"})").c_str()), "c"),
                    Contains("MiniMax-M2 routes by sigmoid scores"));
}

TEST_CASE("Granite configs: the four multipliers, GraniteConfig's 1 when absent", "[model][config][families]") {
  const std::string head = R"({"model_type":"granite","hidden_size":64,"intermediate_size":128,"num_hidden_layers":2,
    "num_attention_heads":4,"vocab_size":100,"max_position_embeddings":4096)";
  const ModelSpec s = spec_from_hf_config(parse((head + R"(,"embedding_multiplier":12.0,"residual_multiplier":0.22,)"
                                                        R"("attention_multiplier":0.0078125,"logits_scaling":16.0})").c_str()), "c");
  CHECK(s.arch == Architecture::Granite);
  CHECK(s.embedding_multiplier == 12.0);
  CHECK(s.residual_multiplier == 0.22);
  CHECK(s.attention_scale_of(0) == 0.0078125);
  CHECK(s.logit_scale == 16.0);
  const ModelSpec plain = spec_from_hf_config(parse((head + "}").c_str()), "c");
  CHECK(plain.attention_scale_of(0) == 1.0);  // GraniteConfig's attention_multiplier default, not 1/sqrt(d)
  CHECK_THROWS_WITH(spec_from_hf_config(parse((head + R"(,"logits_scaling":0})").c_str()), "c"), Contains("positive"));
}

TEST_CASE("SmolLM3 configs: the layers without RoPE from no_rope_layers or its interval", "[model][config][families]") {
  const std::string head = R"({"model_type":"smollm3","hidden_size":64,"intermediate_size":128,"num_hidden_layers":8,
    "num_attention_heads":4,"num_key_value_heads":2,"vocab_size":100,"max_position_embeddings":4096,)";
  CHECK(spec_from_hf_config(parse((head + R"("no_rope_layer_interval":4})").c_str()), "c").layer_rope ==
        std::vector<bool>{true, true, true, false, true, true, true, false});
  CHECK(spec_from_hf_config(parse((head + R"("no_rope_layers":[1,0,1,1,1,1,1,0]})").c_str()), "c").layer_rope ==
        std::vector<bool>{true, false, true, true, true, true, true, false});
  CHECK(spec_from_hf_config(parse((head + "\"rope_theta\":5000000}").c_str()), "c").uses_rope(3) == false);
  CHECK_THROWS_WITH(spec_from_hf_config(parse((head + R"("no_rope_layers":[1,0]})").c_str()), "c"),
                    Contains("no_rope_layers lists 2 layers"));
}

TEST_CASE("GGUF metadata: rope.dimension_count short of the head is a partial rotary", "[model][gguf][families]") {
  auto b = minimal_gguf("phi3", 1);
  b.kv("phi3.rope.dimension_count", kU32, uint32_t{24});  // of key_length 32: Phi-4-mini's three quarters
  CHECK(spec_from_gguf(GgufFile(write_gguf(b, "phi3-partial"))).rotary_dims() == 24);
  auto whole = minimal_gguf("phi3", 1);
  whole.kv("phi3.rope.dimension_count", kU32, uint32_t{32});
  CHECK(spec_from_gguf(GgufFile(write_gguf(whole, "phi3-whole"))).rotary_dims() == 32);
  auto odd = minimal_gguf("phi3", 1);
  odd.kv("phi3.rope.dimension_count", kU32, uint32_t{23});
  CHECK_THROWS_WITH(spec_from_gguf(GgufFile(write_gguf(odd, "phi3-odd"))), Contains("23 rotary dimensions"));
}

TEST_CASE("GGUF metadata: a LayerNorm's epsilon is attention.layer_norm_epsilon (Cohere's, StarCoder2's)",
          "[model][gguf][families]") {
  for (const std::string arch : {"command-r", "starcoder2"}) {
    auto b = minimal_gguf(arch, 1);
    b.kv(arch + ".attention.layer_norm_epsilon", kF32, 1e-6f);
    CHECK(spec_from_gguf(GgufFile(write_gguf(b, arch + "-eps"))).rms_eps == Approx(1e-6));
  }
}

TEST_CASE("GGUF metadata: YaRN keys, Gemma 3's window pattern and local base", "[model][gguf][families]") {
  SECTION("qwen2 with YaRN") {
    auto b = minimal_gguf("qwen2", 1);
    b.kv_string("qwen2.rope.scaling.type", "yarn");
    b.kv("qwen2.rope.scaling.factor", kF32, 4.0f);
    b.kv("qwen2.rope.scaling.original_context_length", kU32, uint32_t{4096});
    b.kv("qwen2.rope.scaling.yarn_beta_fast", kF32, 16.0f);
    const ModelSpec s = spec_from_gguf(GgufFile(write_gguf(b, "yarn")));
    CHECK(s.rope.type == "yarn");
    CHECK(s.rope.factor == 4.0);
    CHECK(s.rope.original_max_position == 4096);
    CHECK(s.rope.beta_fast == 16.0);
    CHECK(s.rope.beta_slow == 1.0);
    CHECK(s.max_position == 16384);
  }
  SECTION("gemma3: llama.cpp's defaults, every 6th layer global, RoPE base 10,000 for the rest") {
    auto b = minimal_gguf("gemma3", 7);
    b.kv("gemma3.attention.sliding_window", kU32, uint32_t{512});
    b.tensor("blk.0.attn_q_norm.weight", {32}, 0, std::string(32 * 4, '\0'));
    const ModelSpec s = spec_from_gguf(GgufFile(write_gguf(b, "gemma3-default")));
    CHECK(s.arch == Architecture::Gemma3);
    CHECK(s.layer_window == std::vector<int64_t>{512, 512, 512, 512, 512, 0, 512});
    REQUIRE(s.local_rope);
    CHECK(s.local_rope->theta == 10000.0);
    CHECK(s.norm_weight_offset == 0.0);  // the converter added the 1
    CHECK(s.attention_scale == Approx(1.0 / std::sqrt(32.0)));
    CHECK(s.embedding_multiplier == Approx(8.0));
  }
  SECTION("gemma3: a per-layer pattern array and rope.freq_base_swa") {
    auto b = minimal_gguf("gemma3", 3);
    b.kv("gemma3.attention.sliding_window", kU32, uint32_t{64});
    b.kv_array("gemma3.attention.sliding_window_pattern", kBool, std::vector<uint8_t>{0, 1, 1});
    b.kv("gemma3.rope.freq_base_swa", kF32, 20000.0f);
    b.tensor("blk.0.attn_q_norm.weight", {32}, 0, std::string(32 * 4, '\0'));
    const ModelSpec s = spec_from_gguf(GgufFile(write_gguf(b, "gemma3-pattern")));
    CHECK(s.layer_window == std::vector<int64_t>{0, 64, 64});
    CHECK(s.local_rope->theta == 20000.0);
  }
  SECTION("an unknown architecture lists the supported ones") {
    auto b = minimal_gguf("bloom", 1);
    CHECK_THROWS_WITH(spec_from_gguf(GgufFile(write_gguf(b, "bloom"))),
                      Contains("bloom") && Contains("supported: llama, qwen2, qwen2vl, qwen3") && Contains("phi3"));
  }
}

TEST_CASE("Mixture-of-experts configs: Mixtral and Qwen3-MoE's expert counts, sizes and dense layers",
          "[model][config][families][moe]") {
  const ModelSpec mixtral = spec_from_hf_config(parse(R"({"model_type":"mixtral","hidden_size":4096,
    "intermediate_size":14336,"num_hidden_layers":32,"num_attention_heads":32,"num_key_value_heads":8,"vocab_size":32000,
    "max_position_embeddings":32768,"num_local_experts":8,"num_experts_per_tok":2,"sliding_window":null})"), "c");
  REQUIRE(mixtral.moe);
  CHECK(mixtral.moe->num_experts == 8);
  CHECK(mixtral.moe->experts_per_token == 2);
  CHECK(mixtral.moe->intermediate_size == 14336);  // Mixtral's experts are its intermediate_size wide
  CHECK(mixtral.moe->normalize_top_k);              // always, in MixtralSparseMoeBlock
  CHECK(mixtral.sparse_mlp(31));
  CHECK(mixtral.layer_window.empty());
  // Qwen3-30B-A3B's config (num_experts; transformers 5 writes num_local_experts).
  const std::string qwen = R"({"model_type":"qwen3_moe","hidden_size":2048,"intermediate_size":6144,
    "num_hidden_layers":4,"num_attention_heads":32,"num_key_value_heads":4,"head_dim":128,"vocab_size":151936,
    "max_position_embeddings":40960,"num_experts_per_tok":8,"moe_intermediate_size":768,"norm_topk_prob":true)";
  const ModelSpec a3b = spec_from_hf_config(parse((qwen + R"(,"num_experts":128,"decoder_sparse_step":1,"mlp_only_layers":[]})").c_str()), "c");
  REQUIRE(a3b.moe);
  CHECK(a3b.moe->num_experts == 128);
  CHECK(a3b.moe->intermediate_size == 768);
  CHECK(a3b.moe->normalize_top_k);
  CHECK(a3b.qk_norm);
  CHECK(a3b.moe->sparse_layers == std::vector<bool>{true, true, true, true});
  const ModelSpec mixed = spec_from_hf_config(parse((qwen + R"(,"num_local_experts":128,"decoder_sparse_step":2,"mlp_only_layers":[3]})").c_str()), "c");
  CHECK(mixed.moe->sparse_layers == std::vector<bool>{false, true, false, false});
  CHECK_FALSE(mixed.sparse_mlp(0));
  CHECK(mixed.sparse_mlp(1));
  CHECK_THROWS_WITH(spec_from_hf_config(parse((qwen + R"(,"num_experts":128,"mlp_only_layers":[4]})").c_str()), "c"),
                    Contains("mlp_only_layers lists a layer that does not exist"));
  CHECK_THROWS_WITH(spec_from_hf_config(parse((qwen + R"(,"num_experts":4,"num_experts_per_tok":8})").c_str()), "c"),
                    Contains("8 experts per token of 4 experts"));
  CHECK_THROWS_WITH(spec_from_hf_config(parse((qwen + "}").c_str()), "c"), Contains("missing \"num_experts\""));
}

TEST_CASE("GGUF metadata: experts of qwen3moe, llama files with experts are Mixtral, multimodal models' language models",
          "[model][gguf][families][moe]") {
  auto qwen = minimal_gguf("qwen3moe", 2);
  qwen.kv("qwen3moe.expert_count", kU32, uint32_t{128});
  qwen.kv("qwen3moe.expert_used_count", kU32, uint32_t{8});
  qwen.kv("qwen3moe.expert_feed_forward_length", kU32, uint32_t{768});
  qwen.tensor("blk.0.attn_q_norm.weight", {32}, 0, std::string(32 * 4, '\0'));
  const ModelSpec q = spec_from_gguf(GgufFile(write_gguf(qwen, "qwen3moe")));
  CHECK(q.arch == Architecture::Qwen3Moe);
  REQUIRE(q.moe);
  CHECK(q.moe->num_experts == 128);
  CHECK(q.moe->experts_per_token == 8);
  CHECK(q.moe->intermediate_size == 768);
  CHECK(q.moe->normalize_top_k);  // llama.cpp's qwen3moe graph renormalizes
  // llama.cpp converts every Mistral3ForConditionalGeneration as mistral3: Ministral 3 with its
  // temperature, Mistral Small 3.1/3.2 and Magistral without one.
  auto small = minimal_gguf("mistral3", 1);
  const ModelSpec mistral_small = spec_from_gguf(GgufFile(write_gguf(small, "mistral3-small")));
  CHECK(mistral_small.arch == Architecture::Ministral3);
  CHECK_FALSE(mistral_small.attention_temperature.active());
  small.kv("mistral3.attention.temperature_scale", kF32, 0.1f);
  small.kv("mistral3.rope.scaling.original_context_length", kU32, uint32_t{16384});
  const ModelSpec ministral = spec_from_gguf(GgufFile(write_gguf(small, "mistral3-ministral")));
  CHECK(ministral.attention_temperature.beta == Approx(0.1));
  CHECK(ministral.attention_temperature.original == 16384);
  // Qwen3-VL's language models as llama.cpp converts them: qwen3vl is Qwen3, qwen3vlmoe Qwen3-MoE.
  auto vl = minimal_gguf("qwen3vl", 1);
  vl.kv("qwen3vl.n_deepstack_layers", kU32, uint32_t{3});
  vl.tensor("blk.0.attn_q_norm.weight", {32}, 0, std::string(32 * 4, '\0'));
  CHECK(spec_from_gguf(GgufFile(write_gguf(vl, "qwen3vl"))).arch == Architecture::Qwen3);
  auto vl_moe = minimal_gguf("qwen3vlmoe", 1);
  vl_moe.kv("qwen3vlmoe.expert_count", kU32, uint32_t{128});
  vl_moe.kv("qwen3vlmoe.expert_used_count", kU32, uint32_t{8});
  vl_moe.tensor("blk.0.attn_q_norm.weight", {32}, 0, std::string(32 * 4, '\0'));
  CHECK(spec_from_gguf(GgufFile(write_gguf(vl_moe, "qwen3vlmoe"))).arch == Architecture::Qwen3Moe);
  auto mixtral = minimal_gguf("llama", 1);
  mixtral.kv("llama.expert_count", kU32, uint32_t{8});
  mixtral.kv("llama.expert_used_count", kU32, uint32_t{2});
  const ModelSpec m = spec_from_gguf(GgufFile(write_gguf(mixtral, "mixtral")));
  CHECK(m.arch == Architecture::Mixtral);
  CHECK(m.moe->intermediate_size == 128);  // feed_forward_length, without an expert length
  auto missing = minimal_gguf("qwen3moe", 1);
  missing.tensor("blk.0.attn_q_norm.weight", {32}, 0, std::string(32 * 4, '\0'));
  CHECK_THROWS_WITH(spec_from_gguf(GgufFile(write_gguf(missing, "qwen3moe-no-experts"))),
                    Contains("missing metadata key qwen3moe.expert_count"));
  CHECK(spec_from_gguf(GgufFile(write_gguf(minimal_gguf("llama", 1), "dense"))).arch == Architecture::Llama);
}

TEST_CASE("GLM-4.5-Air's metadata: its multi-token-prediction block left out, DeepSeek-V3 routing, end of message",
          "[model][gguf][families][moe]") {
  // As llama.cpp's converter writes GLM-4.5-Air (block_count counts the MTP block).
  auto air = minimal_gguf("glm4moe", 47);
  air.kv("glm4moe.nextn_predict_layers", kU32, uint32_t{1});
  air.kv("glm4moe.expert_count", kU32, uint32_t{128});
  air.kv("glm4moe.expert_used_count", kU32, uint32_t{8});
  air.kv("glm4moe.expert_feed_forward_length", kU32, uint32_t{1408});
  air.kv("glm4moe.expert_shared_count", kU32, uint32_t{1});
  air.kv("glm4moe.leading_dense_block_count", kU32, uint32_t{1});
  air.kv("glm4moe.expert_gating_func", kU32, uint32_t{2});
  air.kv("glm4moe.expert_weights_scale", kF32, 1.0f);
  air.kv("glm4moe.expert_weights_norm", kBool, true);
  air.kv("tokenizer.ggml.eos_token_id", kU32, uint32_t{1});
  air.kv("tokenizer.ggml.eot_token_id", kU32, uint32_t{7});
  air.kv("tokenizer.ggml.eom_token_id", kU32, uint32_t{8});
  air.tensor("blk.1.exp_probs_b.bias", {128}, 0, std::string(128 * 4, '\0'));
  const ModelSpec s = spec_from_gguf(GgufFile(write_gguf(air, "glm4moe")));
  CHECK(s.arch == Architecture::Glm4Moe);
  CHECK(s.num_layers == 46);
  REQUIRE(s.moe);
  CHECK(s.moe->sparse_layers.size() == 46);
  CHECK_FALSE(s.moe->sparse_layers[0]);
  CHECK(s.moe->sparse_layers[1]);
  CHECK(s.moe->sigmoid_scores);
  CHECK(s.moe->selection_bias);
  CHECK(s.moe->groups == 1);
  CHECK(s.moe->shared_intermediate_size == 1408);
  CHECK(s.eos_token_ids == std::vector<int32_t>{1, 7, 8});  // <|endoftext|>, <|user|>, <|observation|>
  // GLM-4.5-Air's config.json (n_routed_experts, first_k_dense_replace, no q/k norms).
  const ModelSpec hf = spec_from_hf_config(parse(R"({"model_type":"glm4_moe","hidden_size":4096,"intermediate_size":10944,
    "num_hidden_layers":46,"num_attention_heads":96,"num_key_value_heads":8,"head_dim":128,"vocab_size":151552,
    "max_position_embeddings":131072,"attention_bias":true,"partial_rotary_factor":0.5,"n_routed_experts":128,
    "num_experts_per_tok":8,"moe_intermediate_size":1408,"n_shared_experts":1,"first_k_dense_replace":1,
    "routed_scaling_factor":1.0,"n_group":1,"topk_group":1,"norm_topk_prob":true,"use_qk_norm":false,
    "num_nextn_predict_layers":1,"rope_theta":1000000})"), "config.json");
  CHECK(hf.num_layers == 46);
  CHECK(hf.rotary_dims() == 64);
  CHECK(hf.attention_bias);
  CHECK_FALSE(hf.qk_norm);
  REQUIRE(hf.moe);
  CHECK(hf.moe->num_experts == 128);
  CHECK(hf.moe->shared_intermediate_size == 1408);
  CHECK(hf.moe->sparse_layers[1]);
  CHECK_FALSE(hf.moe->sparse_layers[0]);
}

TEST_CASE("GGUF expert tensors: stacked (ffn_*_exps) and one per expert map to the family's names", "[model][gguf][moe]") {
  const ModelFamily& mixtral = family_of(Architecture::Mixtral);
  CHECK(hf_name_from_gguf("blk.3.ffn_gate_inp.weight", mixtral) == "model.layers.3.block_sparse_moe.gate.weight");
  CHECK(hf_name_from_gguf("blk.3.ffn_up_exps.weight", mixtral) == "model.layers.3.block_sparse_moe.experts.w3.weight");
  CHECK(hf_name_from_gguf("blk.3.ffn_down.7.weight", mixtral) == "model.layers.3.block_sparse_moe.experts.7.w2.weight");
  const ModelFamily& qwen = family_of(Architecture::Qwen3Moe);
  CHECK(hf_name_from_gguf("blk.0.ffn_gate_exps.weight", qwen) == "model.layers.0.mlp.experts.gate_proj.weight");
  CHECK(hf_name_from_gguf("blk.0.ffn_gate.2.weight", qwen) == "model.layers.0.mlp.experts.2.gate_proj.weight");
  CHECK(hf_name_from_gguf("blk.0.ffn_gate.weight", qwen) == "model.layers.0.mlp.gate_proj.weight");  // a dense MLP's
}

TEST_CASE("OLMo configs: output norms only, q/k norms over every head, OLMo 3's windows, OLMoE's experts",
          "[model][config][families][olmo]") {
  const std::string head = R"("hidden_size":64,"intermediate_size":128,"num_hidden_layers":4,"num_attention_heads":4,
    "num_key_value_heads":2,"vocab_size":100,"max_position_embeddings":4096)";
  const ModelSpec olmo2 = spec_from_hf_config(parse((R"({"model_type":"olmo2",)" + head + "}").c_str()), "c");
  CHECK_FALSE(olmo2.input_norms);
  CHECK(olmo2.sandwich_norms);
  CHECK(olmo2.qk_norm_whole);
  const DecoderLayout layout = decoder_layout(olmo2);
  CHECK(layout.layers[0].attention_norm.empty());
  CHECK(layout.layers[0].mlp_norm.empty());
  CHECK(layout.layers[0].attention_out_norm == "model.layers.0.post_attention_layernorm.weight");
  CHECK(layout.layers[0].mlp_out_norm == "model.layers.0.post_feedforward_layernorm.weight");
  const ModelSpec olmo3 = spec_from_hf_config(parse((R"({"model_type":"olmo3","sliding_window":16,"layer_types":)"
                                                     R"(["sliding_attention","sliding_attention","sliding_attention","full_attention"],)" +
                                                     head + "}").c_str()), "c");
  CHECK(olmo3.layer_window == std::vector<int64_t>{16, 16, 16, 0});
  const ModelSpec olmoe = spec_from_hf_config(parse((R"({"model_type":"olmoe","num_experts":64,"num_experts_per_tok":8,)" +
                                                     head + "}").c_str()), "c");
  CHECK(olmoe.input_norms);
  CHECK(olmoe.qk_norm_whole);
  REQUIRE(olmoe.moe);
  CHECK_FALSE(olmoe.moe->normalize_top_k);  // OlmoeConfig's norm_topk_prob default
  CHECK(olmoe.moe->intermediate_size == 128);
  CHECK(decoder_layout(olmoe).layers[3].experts.at(63).down == "model.layers.3.mlp.experts.63.down_proj.weight");
}

TEST_CASE("Cohere configs: LayerNorm's epsilon, logit_scale, tied by default, Cohere 2's pattern with RoPE on sliding layers",
          "[model][config][families][cohere]") {
  const std::string head = R"("hidden_size":64,"intermediate_size":128,"num_hidden_layers":8,"num_attention_heads":4,
    "vocab_size":100,"max_position_embeddings":8192)";
  const ModelSpec cohere = spec_from_hf_config(parse((R"({"model_type":"cohere","layer_norm_eps":1e-5,)" + head + "}").c_str()), "c");
  CHECK(cohere.layer_norm);
  CHECK(cohere.parallel_block);
  CHECK(cohere.rms_eps == 1e-5);
  CHECK(cohere.tie_word_embeddings);               // CohereConfig's default
  CHECK(cohere.logit_scale == Approx(1 / 0.0625));  // CohereConfig's 0.0625, as a divisor
  CHECK(decoder_layout(cohere).layers[0].parallel_mlp);
  CHECK(decoder_layout(cohere).layers[0].mlp_norm.empty());
  CHECK_THROWS_WITH(spec_from_hf_config(parse((R"({"model_type":"cohere","use_qk_norm":true,)" + head + "}").c_str()), "c"),
                    Contains("use_qk_norm"));
  // A Cohere 2 config from before layer_types: sliding_window_pattern 4, RoPE only where it slides.
  const ModelSpec r7b = spec_from_hf_config(parse((R"({"model_type":"cohere2","sliding_window":4096,"sliding_window_pattern":4,)" +
                                                   head + "}").c_str()), "c");
  CHECK(r7b.layer_window == std::vector<int64_t>{4096, 4096, 4096, 0, 4096, 4096, 4096, 0});
  CHECK(r7b.layer_rope == std::vector<bool>{true, true, true, false, true, true, true, false});
}

TEST_CASE("GPT-2, StarCoder 1, Pythia, OPT, Falcon and GPT-J configs as released: GPT-2's keys, n_inner's default, multi_query, "
          "GPT-NeoX's rotary_pct and parallel residual, OPT's ffn_dim and refusals, Falcon's layouts", "[model][config][families]") {
  // openai-community/gpt2's config.json (no n_inner: 4 × n_embd; no tie_word_embeddings: tied).
  const ModelSpec gpt2 = spec_from_hf_config(parse(R"({"activation_function":"gelu_new","architectures":["GPT2LMHeadModel"],
    "attn_pdrop":0.1,"bos_token_id":50256,"embd_pdrop":0.1,"eos_token_id":50256,"initializer_range":0.02,
    "layer_norm_epsilon":1e-05,"model_type":"gpt2","n_ctx":1024,"n_embd":768,"n_head":12,"n_layer":12,
    "n_positions":1024,"resid_pdrop":0.1,"summary_activation":null,"summary_first_dropout":0.1,
    "summary_proj_to_labels":true,"summary_type":"cls_index","summary_use_proj":true,
    "task_specific_params":{"text-generation":{"do_sample":true,"max_length":50}},"vocab_size":50257})"), "g");
  CHECK((gpt2.arch == Architecture::Gpt2 && gpt2.hidden_size == 768 && gpt2.num_layers == 12 && gpt2.num_heads == 12));
  CHECK((gpt2.num_kv_heads == 12 && gpt2.intermediate_size == 3072 && gpt2.max_position == 1024 && gpt2.vocab_size == 50257));
  CHECK((gpt2.learned_positions && !gpt2.uses_rope(0) && gpt2.tie_word_embeddings && gpt2.activation == Activation::GeluTanh));
  CHECK((gpt2.layer_norm && gpt2.norm_bias && gpt2.attention_bias && gpt2.output_bias && gpt2.mlp_bias && !gpt2.gated_mlp));
  CHECK((gpt2.rms_eps == Approx(1e-5) && gpt2.attention_scale == 0.0 && gpt2.eos_token_ids == std::vector<int32_t>{50256}));
  const DecoderLayout layout = decoder_layout(gpt2);
  CHECK((layout.position_embedding == "model.embed_positions.weight" && !layout.layers[0].rope && layout.lm_head.empty()));
  CHECK_THROWS_WITH(spec_from_hf_config(parse(R"({"model_type":"gpt2","n_embd":64,"n_head":4,"n_layer":2,"n_positions":64,
    "vocab_size":100,"scale_attn_by_inverse_layer_idx":true})"), "g"), Contains("scale_attn_by_inverse_layer_idx"));

  // bigcode/starcoderbase's: one key/value head, n_inner given.
  const ModelSpec starcoder = spec_from_hf_config(parse(R"({"activation_function":"gelu_pytorch_tanh",
    "architectures":["GPTBigCodeForCausalLM"],"attention_softmax_in_fp32":true,"multi_query":true,"attn_pdrop":0.1,
    "bos_token_id":0,"embd_pdrop":0.1,"eos_token_id":0,"inference_runner":0,"initializer_range":0.02,
    "layer_norm_epsilon":1e-05,"max_batch_size":null,"max_sequence_length":null,"model_type":"gpt_bigcode",
    "n_embd":6144,"n_head":48,"n_inner":24576,"n_layer":40,"n_positions":8192,"pad_key_length":true,
    "pre_allocate_kv_cache":false,"resid_pdrop":0.1,"scale_attention_softmax_in_fp32":true,"scale_attn_weights":true,
    "summary_activation":null,"summary_first_dropout":0.1,"summary_proj_to_labels":true,"summary_type":"cls_index",
    "summary_use_proj":true,"use_cache":true,"validate_runner_input":true,"vocab_size":49152})"), "s");
  CHECK((starcoder.arch == Architecture::GptBigCode && starcoder.num_heads == 48 && starcoder.num_kv_heads == 1));
  CHECK((starcoder.head_dim == 128 && starcoder.intermediate_size == 24576 && starcoder.max_position == 8192));
  CHECK((starcoder.learned_positions && starcoder.tie_word_embeddings && starcoder.activation == Activation::GeluTanh));

  // EleutherAI/pythia-1b's: RoPE on a quarter of each head of 256, exact GELU, parallel residual.
  const std::string pythia = R"("architectures":["GPTNeoXForCausalLM"],"bos_token_id":0,"eos_token_id":0,
    "hidden_act":"gelu","hidden_size":2048,"initializer_range":0.02,"intermediate_size":8192,"layer_norm_eps":1e-05,
    "max_position_embeddings":2048,"model_type":"gpt_neox","num_attention_heads":8,"num_hidden_layers":16,
    "rotary_emb_base":10000,"rotary_pct":0.25,"tie_word_embeddings":false,"torch_dtype":"float16",
    "transformers_version":"4.24.0","use_cache":true,"vocab_size":50304)";
  const ModelSpec neox = spec_from_hf_config(parse(("{" + pythia + R"(,"use_parallel_residual":true})").c_str()), "n");
  CHECK((neox.arch == Architecture::GptNeoX && neox.head_dim == 256 && neox.rotary_dim == 64 && neox.rope.theta == 10000.0));
  CHECK((neox.parallel_block && neox.parallel_mlp_norm && neox.activation == Activation::Gelu && !neox.tie_word_embeddings));
  CHECK((neox.attention_bias && neox.output_bias && neox.mlp_bias && !neox.gated_mlp && !neox.learned_positions));
  const DecoderLayout neox_layout = decoder_layout(neox);
  CHECK((neox_layout.layers[1].parallel_mlp && neox_layout.layers[1].mlp_norm == "model.layers.1.post_attention_layernorm.weight"));
  CHECK(neox_layout.lm_head == "lm_head.weight");
  const ModelSpec sequential = spec_from_hf_config(parse(("{" + pythia + R"(,"use_parallel_residual":false})").c_str()), "n");
  CHECK((!sequential.parallel_block && !sequential.parallel_mlp_norm));
  CHECK(!decoder_layout(sequential).layers[0].parallel_mlp);

  // facebook/opt-125m's: ffn_dim, ReLU, positions from row 2; opt-350m's projected embeddings are refused.
  const std::string opt = R"("activation_dropout":0.0,"activation_function":"relu","architectures":["OPTForCausalLM"],
    "attention_dropout":0.0,"bos_token_id":2,"dropout":0.1,"eos_token_id":2,"ffn_dim":3072,"hidden_size":768,
    "init_std":0.02,"layerdrop":0.0,"max_position_embeddings":2048,"model_type":"opt","num_attention_heads":12,
    "num_hidden_layers":12,"pad_token_id":1,"prefix":"</s>","torch_dtype":"float16","transformers_version":"4.21.0.dev0",
    "use_cache":true,"vocab_size":50272)";
  const ModelSpec opt125m = spec_from_hf_config(parse(("{" + opt + R"(,"do_layer_norm_before":true,"word_embed_proj_dim":768})").c_str()), "o");
  CHECK((opt125m.arch == Architecture::Opt && opt125m.intermediate_size == 3072 && opt125m.activation == Activation::Relu));
  CHECK((opt125m.learned_positions && opt125m.position_offset == 2 && opt125m.max_position == 2048 && opt125m.tie_word_embeddings));
  CHECK((opt125m.attention_bias && opt125m.output_bias && opt125m.mlp_bias && opt125m.norm_bias && !opt125m.gated_mlp));
  CHECK_THROWS_WITH(spec_from_hf_config(parse(("{" + opt + R"(,"do_layer_norm_before":false,"word_embed_proj_dim":512})").c_str()), "o"),
                    Contains("do_layer_norm_before"));
  CHECK_THROWS_WITH(spec_from_hf_config(parse(("{" + opt + R"(,"word_embed_proj_dim":512})").c_str()), "o"),
                    Contains("word_embed_proj_dim 512"));

  // tiiuae/falcon-7b's (no context, no MLP width: 2,048 and 4 × hidden) and falcon-40b's (new_decoder_architecture).
  const std::string falcon = R"("alibi":false,"apply_residual_connection_post_layernorm":false,
    "architectures":["FalconForCausalLM"],"attention_dropout":0.0,"bias":false,"bos_token_id":11,"eos_token_id":11,
    "hidden_dropout":0.0,"initializer_range":0.02,"layer_norm_epsilon":1e-05,"model_type":"falcon","multi_query":true,
    "parallel_attn":true,"torch_dtype":"bfloat16","transformers_version":"4.27.4","use_cache":true,"vocab_size":65024)";
  const ModelSpec falcon7b = spec_from_hf_config(parse(("{" + falcon + R"(,"hidden_size":4544,"new_decoder_architecture":false,
    "num_attention_heads":71,"num_hidden_layers":32})").c_str()), "f");
  CHECK((falcon7b.arch == Architecture::Falcon && falcon7b.head_dim == 64 && falcon7b.num_kv_heads == 1));
  CHECK((falcon7b.intermediate_size == 4 * 4544 && falcon7b.max_position == 2048 && falcon7b.tie_word_embeddings));
  CHECK((falcon7b.parallel_block && !falcon7b.parallel_mlp_norm && !falcon7b.attention_bias && falcon7b.norm_bias));
  CHECK((falcon7b.activation == Activation::Gelu && falcon7b.rotary_dim == 0 && !falcon7b.learned_positions));
  const ModelSpec falcon40b = spec_from_hf_config(parse(("{" + falcon + R"(,"hidden_size":8192,"new_decoder_architecture":true,
    "num_attention_heads":128,"num_hidden_layers":60,"num_kv_heads":8})").c_str()), "f");
  CHECK((falcon40b.num_kv_heads == 8 && falcon40b.parallel_block && falcon40b.parallel_mlp_norm));
  CHECK(decoder_layout(falcon40b).layers[2].mlp_norm == "model.layers.2.post_attention_layernorm.weight");
  CHECK_THROWS_WITH(spec_from_hf_config(parse(("{" + falcon + R"(,"hidden_size":64,"num_attention_heads":4,
    "num_hidden_layers":2,"alibi":true})").c_str()), "f"), Contains("alibi"));

  // EleutherAI/gpt-j-6b's: RoPE on 64 of each head's 256 dimensions, in interleaved pairs.
  const ModelSpec gptj = spec_from_hf_config(parse(R"({"activation_function":"gelu_new","architectures":["GPTJForCausalLM"],
    "attn_pdrop":0.0,"bos_token_id":50256,"embd_pdrop":0.0,"eos_token_id":50256,"gradient_checkpointing":false,
    "initializer_range":0.02,"layer_norm_epsilon":1e-05,"model_type":"gptj","n_embd":4096,"n_head":16,"n_inner":null,
    "n_layer":28,"n_positions":2048,"resid_pdrop":0.0,"rotary":true,"rotary_dim":64,"scale_attn_weights":true,
    "summary_activation":null,"summary_first_dropout":0.1,"summary_proj_to_labels":true,"summary_type":"cls_index",
    "summary_use_proj":true,"tie_word_embeddings":false,"tokenizer_class":"GPT2Tokenizer","torch_dtype":"float32",
    "transformers_version":"4.18.0.dev0","use_cache":true,"vocab_size":50400})"), "j");
  CHECK((gptj.arch == Architecture::Gptj && gptj.head_dim == 256 && gptj.rotary_dim == 64 && gptj.intermediate_size == 16384));
  CHECK((gptj.parallel_block && !gptj.parallel_mlp_norm && gptj.lm_head_bias && !gptj.attention_bias && !gptj.tie_word_embeddings));
  CHECK((gptj.activation == Activation::GeluTanh && gptj.max_position == 2048 && !gptj.learned_positions));
}

TEST_CASE("StarCoder2, Phi-2 and StableLM configs as released: biased LayerNorms, which projections have biases, "
          "partial RoPE, StableLM 2 12B's switches", "[model][config][families]") {
  // bigcode/starcoder2-3b's config.json (no tie_word_embeddings: Starcoder2Config ties by default).
  const ModelSpec starcoder2 = spec_from_hf_config(parse(R"({"architectures":["Starcoder2ForCausalLM"],
    "attention_dropout":0.1,"residual_dropout":0.1,"embedding_dropout":0.1,"bos_token_id":0,"eos_token_id":0,
    "hidden_act":"gelu_pytorch_tanh","hidden_size":3072,"initializer_range":0.018042,"intermediate_size":12288,
    "max_position_embeddings":16384,"mlp_type":"default","model_type":"starcoder2","norm_epsilon":1e-05,
    "norm_type":"layer_norm","num_attention_heads":24,"num_hidden_layers":30,"num_key_value_heads":2,
    "rope_theta":999999.4420358813,"sliding_window":4096,"use_bias":true,"use_cache":true,"vocab_size":49152})"), "s");
  CHECK((starcoder2.layer_norm && starcoder2.norm_bias && starcoder2.mlp_bias && !starcoder2.gated_mlp));
  CHECK((starcoder2.attention_bias && starcoder2.output_bias && starcoder2.tie_word_embeddings && !starcoder2.lm_head_bias));
  CHECK(starcoder2.layer_window == std::vector<int64_t>(30, 4096));
  CHECK(starcoder2.activation == Activation::GeluTanh);
  CHECK(starcoder2.rope.theta == Approx(999999.4420358813));
  const DecoderLayout coder = decoder_layout(starcoder2);
  CHECK(coder.layers[3].up_bias == "model.layers.3.mlp.up_proj.bias");
  CHECK((coder.layers[3].gate.empty() && coder.layers[3].gate_bias.empty() && coder.lm_head.empty()));

  // microsoft/phi-2's: RoPE on 0.4 of each head of 80 (32 dimensions), attention and the MLP side by side.
  const ModelSpec phi2 = spec_from_hf_config(parse(R"({"architectures":["PhiForCausalLM"],"attention_dropout":0.0,
    "bos_token_id":50256,"embd_pdrop":0.0,"eos_token_id":50256,"hidden_act":"gelu_new","hidden_size":2560,
    "initializer_range":0.02,"intermediate_size":10240,"layer_norm_eps":1e-05,"max_position_embeddings":2048,
    "model_type":"phi","num_attention_heads":32,"num_hidden_layers":32,"num_key_value_heads":32,
    "partial_rotary_factor":0.4,"qk_layernorm":false,"resid_pdrop":0.1,"rope_scaling":null,"rope_theta":10000.0,
    "tie_word_embeddings":false,"torch_dtype":"float16","use_cache":true,"vocab_size":51200})"), "p");
  CHECK((phi2.head_dim == 80 && phi2.rotary_dim == 32 && phi2.parallel_block && phi2.lm_head_bias && phi2.mlp_bias));
  CHECK((phi2.attention_bias && phi2.output_bias && !phi2.gated_mlp && phi2.activation == Activation::GeluTanh));
  CHECK(decoder_layout(phi2).lm_head_bias == "lm_head.bias");
  CHECK_THROWS_WITH(spec_from_hf_config(parse(R"({"model_type":"phi","hidden_size":64,"intermediate_size":256,
    "num_hidden_layers":2,"num_attention_heads":4,"vocab_size":100,"max_position_embeddings":64,"qk_layernorm":true})"), "p"),
                    Contains("qk_layernorm"));

  // stabilityai/stablelm-2-1_6b's and stablelm-2-12b's.
  const std::string stablelm = R"("architectures":["StableLmForCausalLM"],"bos_token_id":100257,"eos_token_id":100257,
    "hidden_act":"silu","initializer_range":0.02,"max_position_embeddings":4096,"model_type":"stablelm",
    "layer_norm_eps":1e-05,"num_attention_heads":32,"partial_rotary_factor":0.25,"rope_theta":10000,
    "rope_scaling":null,"tie_word_embeddings":false,"vocab_size":100352,)";
  const ModelSpec small = spec_from_hf_config(parse(("{" + stablelm + R"("hidden_size":2048,"intermediate_size":5632,
    "num_hidden_layers":24,"num_key_value_heads":32,"use_qkv_bias":true,"use_parallel_residual":false,
    "qk_layernorm":false})").c_str()), "s");
  CHECK((small.norm_bias && small.attention_bias && !small.output_bias && !small.mlp_bias && small.gated_mlp));
  CHECK((small.rotary_dim == 16 && !small.parallel_block && !small.qk_norm));
  const ModelSpec large = spec_from_hf_config(parse(("{" + stablelm + R"("hidden_size":5120,"intermediate_size":13824,
    "num_hidden_layers":40,"num_key_value_heads":8,"use_qkv_bias":false,"use_parallel_residual":true,
    "qk_layernorm":true})").c_str()), "s");
  CHECK((large.qk_norm && large.qk_norm_per_head && large.parallel_block && !large.attention_bias && large.rotary_dim == 40));
  CHECK(decoder_layout(large).layers[0].mlp_norm.empty());
}

TEST_CASE("EXAONE 3.5's and InternLM3's configs as released: their own key names; attention_bias and mlp_bias as "
          "LlamaAttention and LlamaMLP read them", "[model][config][families]") {
  // LGAI-EXAONE/EXAONE-3.5-2.4B-Instruct's config.json.
  const ModelSpec exaone = spec_from_hf_config(parse(R"({"activation_function":"silu","architectures":["ExaoneForCausalLM"],
    "attention_dropout":0.0,"bos_token_id":1,"embed_dropout":0.0,"eos_token_id":361,"head_dim":80,"hidden_size":2560,
    "initializer_range":0.02,"intermediate_size":7168,"layer_norm_epsilon":1e-05,"max_position_embeddings":32768,
    "model_type":"exaone","num_attention_heads":32,"num_key_value_heads":8,"num_layers":30,"pad_token_id":0,
    "rope_scaling":{"factor":8.0,"high_freq_factor":4.0,"low_freq_factor":1.0,"original_max_position_embeddings":8192,
    "rope_type":"llama3"},"rope_theta":1000000.0,"tie_word_embeddings":true,"vocab_size":102400})"), "e");
  CHECK((exaone.arch == Architecture::Exaone && exaone.num_layers == 30 && exaone.rms_eps == 1e-5 && exaone.head_dim == 80));
  CHECK((exaone.rope.type == "llama3" && exaone.tie_word_embeddings && exaone.activation == Activation::Silu));
  // internlm/internlm3-8b-instruct's (qkv_bias and bias, both false there).
  const std::string internlm3 = R"("architectures":["InternLM3ForCausalLM"],"head_dim":128,"hidden_act":"silu",
    "hidden_size":4096,"intermediate_size":10240,"max_position_embeddings":32768,"model_type":"internlm3",
    "num_attention_heads":32,"num_hidden_layers":48,"num_key_value_heads":2,"rms_norm_eps":1e-05,
    "rope_scaling":{"factor":6.0,"rope_type":"dynamic"},"rope_theta":50000000,"tie_word_embeddings":false,
    "vocab_size":128512,)";
  const ModelSpec released = spec_from_hf_config(parse(("{" + internlm3 + R"("bias":false,"qkv_bias":false})").c_str()), "i");
  CHECK((!released.attention_bias && !released.mlp_bias && released.rope.type == "dynamic"));
  const ModelSpec biased = spec_from_hf_config(parse(("{" + internlm3 + R"("bias":true,"qkv_bias":true})").c_str()), "i");
  CHECK((biased.attention_bias && biased.output_bias && biased.mlp_bias));
  // Llama's attention_bias reaches o_proj (LlamaAttention); Qwen2's biases stop at q, k and v.
  const std::string dims = R"("hidden_size":64,"intermediate_size":128,"num_hidden_layers":2,"num_attention_heads":4,
    "vocab_size":100,"max_position_embeddings":64)";
  CHECK(spec_from_hf_config(parse((R"({"model_type":"llama","attention_bias":true,)" + dims + "}").c_str()), "l").output_bias);
  CHECK_FALSE(spec_from_hf_config(parse((R"({"model_type":"qwen2",)" + dims + "}").c_str()), "q").output_bias);
}

TEST_CASE("Hunyuan's dense configs as released: \"dynamic\" RoPE with NTK's alpha is a fixed, stretched base",
          "[model][config][families]") {
  // tencent/Hunyuan-7B-Instruct's keys that matter here (rope_scaling as transformers 4 wrote it).
  const ModelSpec spec = spec_from_hf_config(parse(R"({"architectures":["HunYuanDenseV1ForCausalLM"],
    "model_type":"hunyuan_v1_dense","hidden_size":4096,"intermediate_size":14336,"num_hidden_layers":32,
    "num_attention_heads":32,"num_key_value_heads":8,"head_dim":128,"vocab_size":128167,"max_position_embeddings":32768,
    "rms_norm_eps":1e-05,"rope_theta":10000.0,"rope_scaling":{"alpha":1000.0,"beta_fast":32,"beta_slow":1,"factor":1.0,
    "mscale":1.0,"mscale_all_dim":1.0,"type":"dynamic"},"tie_word_embeddings":false,"attention_bias":false})"), "h");
  CHECK((spec.rope.type == "default" && spec.rope.theta == Approx(10000.0 * std::pow(1000.0, 128.0 / 126.0))));
  CHECK((spec.qk_norm && spec.qk_norm_after_rope && spec.max_position == 32768));
  CHECK(decoder_layout(spec).layers[0].q_norm == "model.layers.0.self_attn.q_norm.weight");
}

TEST_CASE("GLM-4 configs: half the head rotated by default, GLM's norm names, gate|up fused", "[model][config][families][glm4]") {
  const ModelSpec glm = spec_from_hf_config(parse(R"({"model_type":"glm4","hidden_size":4096,"intermediate_size":13696,
    "num_hidden_layers":2,"num_attention_heads":32,"num_key_value_heads":2,"head_dim":128,"vocab_size":151552,
    "max_position_embeddings":32768,"attention_bias":true})"), "c");
  CHECK(glm.rotary_dims() == 64);  // Glm4Config's partial_rotary_factor 0.5
  CHECK(glm.attention_bias);
  const LayerLayout layer = decoder_layout(glm).layers[1];
  CHECK(layer.attention_norm == "model.layers.1.input_layernorm.weight");
  CHECK(layer.attention_out_norm == "model.layers.1.post_self_attn_layernorm.weight");
  CHECK(layer.mlp_norm == "model.layers.1.post_attention_layernorm.weight");
  CHECK(layer.mlp_out_norm == "model.layers.1.post_mlp_layernorm.weight");
  const ModelFamily& family = family_of(Architecture::Glm4);
  CHECK(hf_name_from_gguf("blk.1.ffn_norm.weight", family) == "model.layers.1.post_attention_layernorm.weight");
  CHECK(hf_name_from_gguf("blk.1.attn_post_norm.weight", family) == "model.layers.1.post_self_attn_layernorm.weight");
  CHECK(hf_name_from_gguf("blk.1.ffn_up.weight", family) == "model.layers.1.mlp.gate_up_proj.weight");
  // OLMo 2's and Gemma's spellings of the same norms still land on Gemma's names.
  CHECK(hf_name_from_gguf("blk.0.attn_post_norm.weight", family_of(Architecture::Olmo2)) ==
        "model.layers.0.post_attention_layernorm.weight");
  CHECK(hf_name_from_gguf("blk.0.post_ffw_norm.weight", family_of(Architecture::Gemma3)) ==
        "model.layers.0.post_feedforward_layernorm.weight");
}

TEST_CASE("EXAONE 4 configs: the sliding pattern as layer_types, letters or a period; RoPE on sliding layers only",
          "[model][config][families][exaone4]") {
  const std::string head = R"({"model_type":"exaone4","hidden_size":64,"intermediate_size":128,"num_hidden_layers":8,
    "num_attention_heads":4,"num_key_value_heads":2,"vocab_size":100,"max_position_embeddings":4096,)";
  const std::vector<int64_t> windows{16, 16, 16, 0, 16, 16, 16, 0};
  const std::vector<bool> rope{true, true, true, false, true, true, true, false};
  for (const std::string pattern : {R"("sliding_window_pattern":"LLLG")", R"("sliding_window_pattern":4)",
                                    R"("layer_types":["sliding_attention","sliding_attention","sliding_attention",)"
                                    R"("full_attention","sliding_attention","sliding_attention","sliding_attention","full_attention"])"}) {
    INFO(pattern);
    const ModelSpec s = spec_from_hf_config(parse((head + R"("sliding_window":16,)" + pattern + "}").c_str()), "c");
    CHECK(s.layer_window == windows);
    CHECK(s.layer_rope == rope);
    CHECK_FALSE(s.input_norms);
    CHECK(s.qk_norm);
    CHECK_FALSE(s.qk_norm_whole);
  }
  // EXAONE-4.0-1.2B: no window, RoPE everywhere.
  const ModelSpec small = spec_from_hf_config(parse((head + R"("sliding_window":null,"sliding_window_pattern":"LLLG"})").c_str()), "c");
  CHECK(small.layer_window.empty());
  CHECK(small.uses_rope(3));
  CHECK_THROWS_WITH(spec_from_hf_config(parse((head + R"("sliding_window":16,"sliding_window_pattern":"LLXG"})").c_str()), "c"),
                    Contains("not a string of L and G"));
}

TEST_CASE("gpt-oss: config.json as released, and llama.cpp's end-of-generation rule for harmony tokens",
          "[model][config][families][gpt_oss]") {
  SECTION("gpt-oss-20b's config.json") {
    // Its sizes and options as published (layer_types shortened with the layers).
    const ModelSpec s = spec_from_hf_config(parse(R"({"architectures":["GptOssForCausalLM"],"attention_bias":true,
      "eos_token_id":200002,"experts_per_token":4,"head_dim":64,"hidden_act":"silu","hidden_size":2880,
      "intermediate_size":2880,"layer_types":["sliding_attention","full_attention","sliding_attention","full_attention"],
      "max_position_embeddings":131072,"model_type":"gpt_oss","num_attention_heads":64,"num_experts_per_tok":4,
      "num_hidden_layers":4,"num_key_value_heads":8,"num_local_experts":32,"rms_norm_eps":1e-05,
      "rope_scaling":{"beta_fast":32.0,"beta_slow":1.0,"factor":32.0,"original_max_position_embeddings":4096,
        "rope_type":"yarn","truncate":false},"rope_theta":150000,"sliding_window":128,"swiglu_limit":7.0,
      "tie_word_embeddings":false,"vocab_size":201088})"), "config.json");
    CHECK(s.arch == Architecture::GptOss);
    CHECK(s.activation == Activation::SwigluOai);  // not hidden_act's SiLU
    CHECK(s.attention_bias);
    CHECK(s.output_bias);
    CHECK(s.attention_sinks);
    CHECK(s.layer_window == std::vector<int64_t>{128, 0, 128, 0});
    CHECK(s.rope.type == "yarn");
    CHECK_FALSE(s.rope.truncate);
    CHECK(s.rope.theta == 150000.0);
    CHECK(s.max_position == 131072);
    REQUIRE(s.moe);
    CHECK(s.moe->num_experts == 32);
    CHECK(s.moe->experts_per_token == 4);
    CHECK(s.moe->intermediate_size == 2880);
    CHECK(s.moe->normalize_top_k);
    CHECK(s.moe->biases);
    CHECK_THROWS_WITH(spec_from_hf_config(parse(R"({"model_type":"gpt_oss","hidden_size":64,"intermediate_size":64,
      "num_hidden_layers":2,"num_attention_heads":4,"num_key_value_heads":2,"head_dim":16,"vocab_size":100,
      "max_position_embeddings":128,"num_local_experts":4,"num_experts_per_tok":2,"swiglu_limit":10.0})"), "config.json"),
                      Contains("swiglu_limit"));
  }
  SECTION("GGUF: <|end|> does not end generation beside <|return|> and <|call|>, and does without them") {
    const auto eos_of = [](const std::vector<std::string>& tokens, const std::string& name) {
      test::GgufBuilder b = minimal_gguf("llama", 1);
      b.kv_string("tokenizer.ggml.model", "gpt2");
      b.kv_string_array("tokenizer.ggml.tokens", tokens);
      b.kv_array("tokenizer.ggml.token_type", 5, std::vector<int32_t>(tokens.size(), 3));  // control
      return ModelFiles::open(write_gguf(b, name)).spec().eos_token_ids;
    };
    CHECK(eos_of({"a", "<|end|>", "<|return|>", "<|call|>", "b", "c", "d", "e", "f", "g"}, "harmony") ==
          std::vector<int32_t>{2, 3});
    CHECK(eos_of({"a", "<|end|>", "b", "c", "d", "e", "f", "g", "h", "i"}, "phi3") == std::vector<int32_t>{1});
  }
}

TEST_CASE("LFM2 configs: convolution layers from layer_types or full_attn_idxs, the MLP's width as Lfm2MLP derives it",
          "[model][config][families]") {
  SECTION("LFM2-1.2B's config.json as released: block_ff_dim 12288 is an MLP of 8192") {
    const ModelSpec s = spec_from_hf_config(parse(R"({"model_type":"lfm2","architectures":["Lfm2ForCausalLM"],
      "block_auto_adjust_ff_dim":true,"block_ff_dim":12288,"block_ffn_dim_multiplier":1.0,"block_multiple_of":256,
      "conv_L_cache":3,"conv_bias":false,"hidden_size":2048,"num_attention_heads":32,"num_key_value_heads":8,
      "num_hidden_layers":16,"full_attn_idxs":[2,5,8,10,12,14],"max_position_embeddings":128000,"norm_eps":1e-05,
      "rope_theta":1000000.0,"vocab_size":65536,"eos_token_id":7})"), "config.json");
    CHECK(s.arch == Architecture::Lfm2);
    CHECK(s.intermediate_size == 8192);
    CHECK(s.tie_word_embeddings);  // Lfm2Config's default
    CHECK(s.rope.theta == 1'000'000.0);
    CHECK(s.rms_eps == 1e-5);
    CHECK(s.attention_layers() == 6);
    CHECK(s.mixer(2) == Mixer::Attention);
    CHECK(s.mixer(3) == Mixer::ShortConv);
    REQUIRE(s.short_conv);
    CHECK(s.short_conv->kernel == 3);
    CHECK_FALSE(s.short_conv->bias);
    CHECK(s.has_sequence_state());
    const DecoderLayout layout = decoder_layout(s);
    CHECK(layout.layers[0].conv_in == "model.layers.0.conv.in_proj.weight");
    CHECK(layout.layers[0].q.empty());
    CHECK(layout.layers[2].q_norm == "model.layers.2.self_attn.q_norm.weight");
    CHECK(layout.layers[2].conv.empty());
  }
  SECTION("a null multiplier skips the rounding, as Lfm2MLP does; biases; every layer attends without a list") {
    ModelSpec s = spec_from_hf_config(parse(R"({"model_type":"lfm2","intermediate_size":300,"block_ffn_dim_multiplier":null,
      "hidden_size":64,"num_attention_heads":4,"num_key_value_heads":2,"num_hidden_layers":2,
      "layer_types":["conv","full_attention"],"conv_bias":true,"conv_L_cache":4,"max_position_embeddings":64,
      "vocab_size":100})"), "config.json");
    CHECK(s.intermediate_size == 200);
    CHECK(s.short_conv->bias);
    CHECK(s.short_conv->kernel == 4);
    CHECK(decoder_layout(s).layers[0].conv_bias == "model.layers.0.conv.conv.bias");
    s = spec_from_hf_config(parse(R"({"model_type":"lfm2","intermediate_size":300,"hidden_size":64,
      "num_attention_heads":4,"num_hidden_layers":2,"max_position_embeddings":64,"vocab_size":100})"), "config.json");
    CHECK(s.attention_layers() == 2);
    CHECK_FALSE(s.has_sequence_state());
  }
  SECTION("a layer type LFM2 does not have, or no layer that attends, is refused") {
    CHECK_THROWS_WITH(spec_from_hf_config(parse(R"({"model_type":"lfm2","intermediate_size":300,"hidden_size":64,
      "num_attention_heads":4,"num_hidden_layers":2,"layer_types":["conv","linear_attention"],
      "max_position_embeddings":64,"vocab_size":100})"), "config.json"), Contains("linear_attention"));
    CHECK_THROWS_WITH(spec_from_hf_config(parse(R"({"model_type":"lfm2","intermediate_size":300,"hidden_size":64,
      "num_attention_heads":4,"num_hidden_layers":2,"full_attn_idxs":[],
      "max_position_embeddings":64,"vocab_size":100})"), "config.json"), Contains("no layer attends"));
  }
}

TEST_CASE("LFM2-MoE configs: Lfm2MoeConfig's routing defaults, the dense layers first, the experts under LFM2's names",
          "[model][config][families]") {
  // LFM2-8B-A1B's shape, the routing keys left to Lfm2MoeConfig's defaults.
  const std::string types = layer_types(24, 4, 2, "full_attention", "conv");
  const std::string config = R"({"model_type":"lfm2_moe","hidden_size":2048,"intermediate_size":7168,
    "moe_intermediate_size":1792,"num_hidden_layers":24,"num_experts":32,"num_experts_per_tok":4,
    "num_attention_heads":32,"num_key_value_heads":8,"max_position_embeddings":128000,"vocab_size":65536,
    "layer_types":[)" + types + "]}";
  const ModelSpec s = spec_from_hf_config(parse(config.c_str()), "config.json");
  CHECK(s.arch == Architecture::Lfm2Moe);
  CHECK(s.intermediate_size == 7168);  // no width rule (Lfm2MoeMLP takes intermediate_size as it is)
  REQUIRE(s.moe);
  CHECK(s.moe->intermediate_size == 1792);
  CHECK((s.moe->sigmoid_scores && s.moe->selection_bias && s.moe->normalize_top_k));
  CHECK(s.moe->weights_scale == 1.0);
  CHECK_FALSE(s.moe->sparse_layers[1]);  // num_dense_layers 2
  CHECK(s.moe->sparse_layers[2]);
  CHECK(s.attention_layers() == 6);
  CHECK(s.tie_word_embeddings);
  const DecoderLayout layout = decoder_layout(s);
  CHECK(layout.layers[0].gate == "model.layers.0.mlp.gate_proj.weight");  // LFM2's feed_forward.w1, renamed
  CHECK(layout.layers[2].router == "model.layers.2.feed_forward.gate.weight");
  CHECK(layout.layers[2].selection_bias == "model.layers.2.feed_forward.expert_bias");
  CHECK(layout.layers[2].experts[31].down == "model.layers.2.feed_forward.experts.31.w2.weight");
  const ModelSpec unbiased = spec_from_hf_config(parse(R"({"model_type":"lfm2_moe","hidden_size":64,"intermediate_size":128,
    "moe_intermediate_size":32,"num_hidden_layers":2,"num_experts":4,"num_experts_per_tok":2,"num_dense_layers":0,
    "use_expert_bias":false,"norm_topk_prob":false,"routed_scaling_factor":2.0,"num_attention_heads":4,
    "max_position_embeddings":64,"vocab_size":100})"), "config.json");
  CHECK_FALSE(unbiased.moe->selection_bias);
  CHECK_FALSE(unbiased.moe->normalize_top_k);
  CHECK(unbiased.moe->weights_scale == 2.0);
  CHECK(unbiased.moe->sparse_layers == std::vector<bool>{true, true});
}

TEST_CASE("Granite 4.0-H configs: Mamba-2 layers by layer_types, their sizes and GraniteMoeHybridConfig's defaults",
          "[model][config][families]") {
  // A Granite 4.0-H-shaped config (mamba_d_head "auto").
  const std::string types = layer_types(40, 10, 9, "attention", "mamba");
  const std::string config = R"({"model_type":"granitemoehybrid","hidden_size":2048,"intermediate_size":8192,
    "shared_intermediate_size":8192,"num_hidden_layers":40,"num_attention_heads":32,"num_key_value_heads":8,
    "num_local_experts":0,"mamba_n_heads":64,"mamba_d_head":"auto","mamba_d_state":256,"mamba_n_groups":1,
    "mamba_expand":2,"embedding_multiplier":12.0,"attention_multiplier":0.0078125,"residual_multiplier":0.22,
    "logits_scaling":10.0,"max_position_embeddings":131072,"vocab_size":100352,"layer_types":[)" + types + "]}";
  ModelSpec s = spec_from_hf_config(parse(config.c_str()), "config.json");
  CHECK(s.arch == Architecture::GraniteHybrid);
  REQUIRE(s.mamba);
  CHECK(s.mamba->heads == 64);
  CHECK(s.mamba->head_dim == 64);  // mamba_expand 2 × hidden 2048 / 64 heads
  CHECK(s.mamba->state == 256);
  CHECK(s.mamba->conv_kernel == 4);  // the config's default
  CHECK(s.mamba->conv_bias);
  CHECK(s.attention_layers() == 4);
  CHECK(s.mixer(9) == Mixer::Attention);
  CHECK_FALSE(s.uses_rope(9));  // no position_embedding_type: NoPE
  CHECK(s.attention_scale == 0.0078125);
  CHECK(s.has_sequence_state());
  const DecoderLayout layout = decoder_layout(s);
  CHECK(layout.layers[0].mamba.in == "model.layers.0.mamba.in_proj.weight");
  CHECK(layout.layers[0].q.empty());
  CHECK(layout.layers[9].mamba.in.empty());
  CHECK(layout.layers[9].gate == "model.layers.9.mlp.gate_proj.weight");  // a view of shared_mlp.input_linear
  CHECK_FALSE(s.moe);  // num_local_experts 0: the dense H-Micro
  CHECK_THROWS_WITH(spec_from_hf_config(parse(R"({"model_type":"granitemoehybrid","hidden_size":64,"num_hidden_layers":2,
    "num_attention_heads":4,"num_local_experts":0,"mamba_n_heads":5,"layer_types":["mamba","attention"],
    "max_position_embeddings":64,"vocab_size":100})"), "config.json"), Contains("mamba_n_heads"));
  CHECK_THROWS_WITH(spec_from_hf_config(parse(R"({"model_type":"granitemoehybrid","hidden_size":64,"num_hidden_layers":2,
    "num_attention_heads":4,"num_local_experts":0,"time_step_limit":[0.0,100.0],"layer_types":["mamba","attention"],
    "max_position_embeddings":64,"vocab_size":100})"), "config.json"), Contains("time_step_limit"));
}

TEST_CASE("LFM3 configs: Lfm3Config's defaults (layer types, two RoPEs, window, taps) when absent",
          "[model][config][families]") {
  const ModelSpec s = spec_from_hf_config(parse(R"({"model_type":"lfm3","hidden_size":2048,"intermediate_size":7680,
    "num_hidden_layers":8,"num_attention_heads":16,"num_key_value_heads":4,"head_dim":128,
    "max_position_embeddings":32768,"vocab_size":128000})"), "config.json");
  CHECK(s.arch == Architecture::Lfm3);
  // Every fourth from layer 2 full attention, every fourth from layer 4 sliding, the rest convolutions.
  CHECK(s.layer_mixer == std::vector<Mixer>{Mixer::ShortConv, Mixer::ShortConv, Mixer::Attention, Mixer::ShortConv,
                                            Mixer::Attention, Mixer::ShortConv, Mixer::Attention, Mixer::ShortConv});
  CHECK(s.layer_window == std::vector<int64_t>{0, 0, 0, 0, 256, 0, 0, 0});
  CHECK((s.rope.type == "proportional" && s.rope.proportion == 0.5 && s.rope.theta == 1e6));
  REQUIRE(s.local_rope);
  CHECK(s.local_rope->theta == 1e4);
  REQUIRE(s.short_conv);
  CHECK(s.short_conv->kernel == 7);
  CHECK(s.intermediate_size == 7680);  // as given: no LFM2 width rule
  CHECK((s.attention_head_gate && s.sandwich_norms && s.tie_word_embeddings));
  const DecoderLayout layout = decoder_layout(s);
  CHECK(layout.layers[2].head_gate == "model.layers.2.self_attn.gate_proj.weight");
  CHECK(layout.layers[0].attention_out_norm == "model.layers.0.post_operator_norm.weight");
  CHECK(layout.layers[0].mlp_out_norm == "model.layers.0.post_ffn_norm.weight");
  const ModelSpec plain = spec_from_hf_config(parse(R"({"model_type":"lfm3","hidden_size":64,"intermediate_size":128,
    "num_hidden_layers":4,"num_attention_heads":4,"num_key_value_heads":2,"head_dim":16,"max_position_embeddings":64,
    "vocab_size":100,"use_sandwich_norm":false,"use_attention_gate":false})"), "config.json");
  CHECK_FALSE(plain.sandwich_norms);
  CHECK_FALSE(plain.attention_head_gate);
}

// Kimi K2.5 (KimiK25ForConditionalGeneration): Kimi K2's language model (text_config kimi_k2) beside a vision tower.
TEST_CASE("Kimi K2.5's wrapper reads its language model as Kimi K2's", "[model][config][families]") {
  const ModelSpec s = spec_from_hf_config(parse(R"({"model_type":"kimi_k25","text_config":{"model_type":"kimi_k2",
    "hidden_size":7168,"intermediate_size":18432,"moe_intermediate_size":2048,"num_hidden_layers":3,
    "num_attention_heads":64,"num_key_value_heads":64,"n_routed_experts":384,"num_experts_per_tok":8,"n_shared_experts":1,
    "first_k_dense_replace":1,"n_group":1,"topk_group":1,"routed_scaling_factor":2.827,"q_lora_rank":1536,
    "kv_lora_rank":512,"qk_nope_head_dim":128,"qk_rope_head_dim":64,"v_head_dim":128,"max_position_embeddings":262144,
    "vocab_size":163840,"rope_theta":50000.0},"vision_config":{"model_type":"kimi_k25_vision"}})"), "config.json");
  CHECK(s.arch == Architecture::DeepseekV2);
  REQUIRE(s.mla);
  CHECK((s.mla->kv_lora_rank == 512 && s.head_dim == 512 + 64));
  REQUIRE(s.moe);
  CHECK((s.moe->num_experts == 384 && s.moe->sigmoid_scores && s.moe->weights_scale == Approx(2.827)));
}

// Llama 4 as its configs are released (Llama4ForConditionalGeneration's text_config, transformers 4's keys:
// rope_scaling, no layer_types or moe_layers): Scout's and Maverick's.
TEST_CASE("Llama 4 configs: chunked and NoPE layers, the temperature, experts every step-th layer",
          "[model][config][families]") {
  const ModelSpec scout = spec_from_hf_config(parse(R"({"model_type":"llama4","text_config":{"model_type":"llama4_text",
    "hidden_size":5120,"intermediate_size":8192,"intermediate_size_mlp":16384,"num_hidden_layers":8,
    "num_attention_heads":40,"num_key_value_heads":8,"head_dim":128,"num_local_experts":16,"num_experts_per_tok":1,
    "interleave_moe_layer_step":1,"use_qk_norm":true,"attention_chunk_size":8192,"attn_temperature_tuning":true,
    "floor_scale":8192,"attn_scale":0.1,"max_position_embeddings":10485760,"vocab_size":202048,"rope_theta":500000.0,
    "rope_scaling":{"factor":16.0,"high_freq_factor":1.0,"low_freq_factor":1.0,"original_max_position_embeddings":8192,
    "rope_type":"llama3"},"eos_token_id":[200001,200007,200008]},"vision_config":{"model_type":"llama4_vision_model"}})"),
                                                    "config.json");
  CHECK(scout.arch == Architecture::Llama4);
  CHECK(scout.layer_rope == std::vector<bool>{true, true, true, false, true, true, true, false});
  CHECK(scout.layer_chunk == std::vector<int64_t>{8192, 8192, 8192, 0, 8192, 8192, 8192, 0});
  CHECK((scout.qk_norm_weightless && scout.temperature_in(3) && !scout.temperature_in(2)));
  CHECK((scout.rope.type == "llama3" && scout.rope.factor == 16.0 && scout.rope.theta == 500000.0));
  REQUIRE(scout.moe);
  CHECK((scout.moe->num_experts == 16 && scout.moe->intermediate_size == 8192 && scout.intermediate_size == 16384));
  CHECK((scout.sparse_mlp(0) && scout.sparse_mlp(7) && scout.moe->weights_on_input));
  CHECK(scout.eos_token_ids == std::vector<int32_t>{200001, 200007, 200008});
  const DecoderLayout layout = decoder_layout(scout);
  CHECK(layout.layers[0].router == "model.layers.0.mlp.router.weight");
  CHECK(layout.layers[0].shared_up == "model.layers.0.mlp.shared_expert.up_proj.weight");
  CHECK(layout.layers[0].chunk == 8192);
  CHECK(layout.layers[3].chunk == 0);

  const ModelSpec maverick = spec_from_hf_config(parse(R"({"model_type":"llama4","text_config":{"model_type":"llama4_text",
    "hidden_size":5120,"intermediate_size":8192,"intermediate_size_mlp":16384,"num_hidden_layers":4,
    "num_attention_heads":40,"num_key_value_heads":8,"head_dim":128,"num_local_experts":128,"num_experts_per_tok":1,
    "interleave_moe_layer_step":2,"use_qk_norm":false,"attention_chunk_size":8192,"max_position_embeddings":1048576,
    "no_rope_layers":[],
    "vocab_size":202048,"rope_theta":500000.0,"rope_scaling":null}})"), "config.json");
  CHECK((!maverick.qk_norm_weightless && maverick.rope.type == "default"));
  CHECK(maverick.layer_rope == std::vector<bool>{true, true, true, false});  // [] is the default interval's
  CHECK(maverick.moe->sparse_layers == std::vector<bool>{false, true, false, true});
  CHECK(decoder_layout(maverick).layers[0].gate == "model.layers.0.mlp.gate_proj.weight");
  CHECK(decoder_layout(maverick).layers[0].experts.empty());
}

// Gemma 4 as its configs are released (Gemma4ForConditionalGeneration's text_config with global_head_dim
// and num_global_key_value_heads, not transformers 5's per_layer_config).
TEST_CASE("Gemma 4 configs: the full layers' heads, experts, per-layer embeddings and shared keys and values",
          "[model][config][families]") {
  const std::string dense = R"({"model_type":"gemma4","text_config":{"model_type":"gemma4_text","hidden_size":5376,
    "intermediate_size":21504,"num_hidden_layers":12,"num_attention_heads":32,"num_key_value_heads":16,"head_dim":256,
    "global_head_dim":512,"num_global_key_value_heads":4,"attention_k_eq_v":true,"sliding_window":1024,
    "final_logit_softcapping":30.0,"max_position_embeddings":262144,"vocab_size":262144,"hidden_size_per_layer_input":0,
    "layer_types":["sliding_attention","sliding_attention","sliding_attention","sliding_attention","sliding_attention",
    "full_attention","sliding_attention","sliding_attention","sliding_attention","sliding_attention","sliding_attention",
    "full_attention"]},"vision_config":{"model_type":"gemma4_vision"}})";
  const ModelSpec s = spec_from_hf_config(parse(dense.c_str()), "config.json");
  CHECK(s.arch == Architecture::Gemma4);
  CHECK((s.head_dim == 256 && s.num_kv_heads == 16));
  CHECK((s.head_dim_of(0) == 256 && s.kv_heads_of(0) == 16 && s.head_dim_of(5) == 512 && s.kv_heads_of(5) == 4));
  CHECK((s.values_from_keys && s.values_are_keys(5) && !s.values_are_keys(0)));
  CHECK((s.window(0) == 1024 && s.window(5) == 0 && s.final_logit_softcap == 30.0 && s.tie_word_embeddings));
  // Gemma4TextConfig's RoPEs by default: sliding base 10,000, full proportional on a quarter at 1,000,000.
  CHECK((s.rope.type == "proportional" && s.rope.proportion == 0.25 && s.rope.theta == 1e6));
  REQUIRE(s.local_rope);
  CHECK(s.local_rope->theta == 1e4);
  CHECK((s.attention_scale == 1.0 && s.norm_weight_offset == 0.0 && s.value_norm && s.layer_scalar));
  CHECK(!s.moe);
  // Without attention_k_eq_v the full layers keep num_key_value_heads (Gemma4TextConfig's rule).
  std::string no_k_eq_v = dense;
  no_k_eq_v.replace(no_k_eq_v.find("\"attention_k_eq_v\":true"), 23, "\"attention_k_eq_v\":false");
  const ModelSpec plain = spec_from_hf_config(parse(no_k_eq_v.c_str()), "config.json");
  CHECK((plain.head_dim_of(5) == 512 && plain.kv_heads_of(5) == 16 && !plain.values_from_keys));

  // 26B-A4B's layers: experts beside the dense MLPs.
  const ModelSpec moe = spec_from_hf_config(parse(R"({"model_type":"gemma4_text","hidden_size":2816,
    "intermediate_size":2112,"num_hidden_layers":6,"num_attention_heads":16,"num_key_value_heads":8,"head_dim":256,
    "global_head_dim":512,"num_global_key_value_heads":2,"attention_k_eq_v":true,"sliding_window":1024,
    "max_position_embeddings":262144,"vocab_size":262144,"enable_moe_block":true,"num_experts":128,"top_k_experts":8,
    "moe_intermediate_size":704})"), "config.json");
  REQUIRE(moe.moe);
  CHECK((moe.moe->num_experts == 128 && moe.moe->experts_per_token == 8 && moe.moe->intermediate_size == 704));
  CHECK((moe.moe->dense_beside && moe.intermediate_size == 2112 && moe.window(5) == 0 && moe.window(4) > 0));
  const DecoderLayout layout = decoder_layout(moe);
  CHECK(layout.layers[0].router == "model.layers.0.mlp.router.proj.weight");
  CHECK(layout.layers[0].gate == "model.layers.0.mlp.gate_proj.weight");
  CHECK(layout.layers[0].experts_norm == "model.layers.0.pre_feedforward_layernorm_2.weight");

  // E2B's layers: per-layer embeddings; the last 4 of 10 layers attend over layer 5's (sliding) and 4's (full)
  // keys and values, their MLPs twice as wide.
  const ModelSpec edge = spec_from_hf_config(parse(R"({"model_type":"gemma4_text","hidden_size":1536,
    "intermediate_size":6144,"num_hidden_layers":10,"num_attention_heads":8,"num_key_value_heads":1,"head_dim":256,
    "global_head_dim":512,"sliding_window":512,"max_position_embeddings":131072,"vocab_size":262144,
    "hidden_size_per_layer_input":256,"vocab_size_per_layer_input":262144,"num_kv_shared_layers":4,
    "use_double_wide_mlp":true,"layer_types":["sliding_attention","sliding_attention","sliding_attention",
    "sliding_attention","full_attention","sliding_attention","sliding_attention","sliding_attention","sliding_attention",
    "full_attention"]})"), "config.json");
  CHECK(edge.per_layer_input_size == 256);
  CHECK(edge.layer_kv_source == std::vector<int64_t>{0, 1, 2, 3, 4, 5, 5, 5, 5, 4});
  CHECK(edge.layer_intermediate == std::vector<int64_t>{6144, 6144, 6144, 6144, 6144, 6144, 12288, 12288, 12288, 12288});
  CHECK((edge.stores_kv(5) && !edge.stores_kv(6) && !edge.stores_kv(9)));
  const DecoderLayout edge_layout = decoder_layout(edge);
  CHECK((edge_layout.layers[7].k.empty() && edge_layout.layers[7].kv_source == 5));
  CHECK(edge_layout.per_layer_embedding == "model.embed_tokens_per_layer.weight");
  CHECK(edge_layout.layers[0].per_layer_gate == "model.layers.0.per_layer_input_gate.weight");

  CHECK_THROWS_WITH(spec_from_hf_config(parse(R"({"model_type":"gemma4_text","hidden_size":64,"intermediate_size":128,
    "num_hidden_layers":2,"num_attention_heads":4,"num_key_value_heads":2,"head_dim":16,"max_position_embeddings":64,
    "vocab_size":100,"use_bidirectional_attention":"all"})"), "config.json"), Contains("use_bidirectional_attention"));
}

TEST_CASE("Gemma 3n configs: google/gemma-3n-E4B-it's as released (Gemma3nForConditionalGeneration), "
          "Gemma3nTextConfig's defaults", "[model][config][families]") {
  // The released text_config: 35 layers, every fifth full, the last 15 sharing keys and values, the
  // first 10 MLP gates keeping their top 5 %, widths listed per layer, transformers 4's RoPE keys.
  std::string widths, sparsity, types;
  for (int i = 0; i < 35; ++i) {
    widths += std::string(i ? "," : "") + "16384";
    sparsity += std::string(i ? "," : "") + (i < 10 ? "0.95" : "0.0");
    types += std::string(i ? "," : "") + ((i + 1) % 5 == 0 ? "\"full_attention\"" : "\"sliding_attention\"");
  }
  const std::string released = R"({"architectures":["Gemma3nForConditionalGeneration"],"model_type":"gemma3n",
    "audio_config":{"model_type":"gemma3n_audio"},"vision_config":{"model_type":"gemma3n_vision"},"eos_token_id":[1,106],
    "text_config":{"model_type":"gemma3n_text","activation_sparsity_pattern":[)" + sparsity + R"(],"altup_active_idx":0,
    "altup_coef_clip":120.0,"altup_correct_scale":true,"altup_lr_multiplier":1.0,"altup_num_inputs":4,
    "attention_bias":false,"final_logit_softcapping":30.0,"head_dim":256,"hidden_activation":"gelu_pytorch_tanh",
    "hidden_size":2048,"hidden_size_per_layer_input":256,"intermediate_size":[)" + widths + R"(],"laurel_rank":64,
    "layer_types":[)" + types + R"(],"max_position_embeddings":32768,"num_attention_heads":8,"num_hidden_layers":35,
    "num_key_value_heads":2,"num_kv_shared_layers":15,"query_pre_attn_scalar":256,"rms_norm_eps":1e-06,
    "rope_local_base_freq":10000.0,"rope_scaling":null,"rope_theta":1000000.0,"sliding_window":512,
    "vocab_size":262400,"vocab_size_per_layer_input":262144}})";
  const ModelSpec s = spec_from_hf_config(parse(released.c_str()), "config.json");
  CHECK(s.arch == Architecture::Gemma3n);
  CHECK((s.hidden_size == 2048 && s.num_layers == 35 && s.intermediate_size == 16384 && s.layer_intermediate.empty()));
  CHECK((s.num_heads == 8 && s.num_kv_heads == 2 && s.head_dim == 256 && s.vocab_size == 262400));
  CHECK((s.altup_streams == 4 && s.laurel_rank == 64 && s.per_layer_input_size == 256 && s.per_layer_vocab == 262144));
  CHECK((s.window(0) == 512 && s.window(4) == 0 && s.window(34) == 0 && s.window(33) == 512));
  CHECK((s.rope.theta == 1e6 && s.local_rope && s.local_rope->theta == 1e4));
  CHECK((s.attention_scale == 1.0 && s.norm_weight_offset == 0.0 && s.value_norm && s.final_logit_softcap == 30.0));
  CHECK((s.embedding_multiplier == Approx(std::sqrt(2048.0)) && s.tie_word_embeddings));
  // Layers 20-34 attend over layer 18's keys and values (sliding) or layer 19's (full).
  for (int64_t i = 0; i < 35; ++i) CHECK(s.kv_source(i) == (i < 20 ? i : (i + 1) % 5 == 0 ? 19 : 18));
  REQUIRE(s.layer_gate_cutoff.size() == 35);
  CHECK(s.gate_cutoff(9) == Approx(1.6448536).epsilon(1e-6));
  CHECK(std::isnan(s.gate_cutoff(10)));
  CHECK(s.eos_token_ids == std::vector<int32_t>{1, 106});
  const DecoderLayout layout = decoder_layout(s);
  CHECK(layout.altup_in == std::vector<std::string>{"model.altup_projections.0.weight", "model.altup_projections.1.weight",
                                                    "model.altup_projections.2.weight"});
  CHECK(layout.layers[3].altup_predict == "model.layers.3.altup.prediction_coefs.weight");
  CHECK(layout.layers[3].laurel_left == "model.layers.3.laurel.linear_left.weight");
  CHECK((layout.layers[25].k.empty() && layout.layers[25].kv_source == 18));

  // Gemma3nTextConfig's defaults (E4B's sizes) fill what a config leaves out; the first 10 of more
  // than 10 layers sparse.
  const ModelSpec bare = spec_from_hf_config(parse(R"({"model_type":"gemma3n_text"})"), "config.json");
  CHECK((bare.num_layers == 35 && bare.altup_streams == 4 && bare.laurel_rank == 64 && bare.kv_source(34) == 19));
  CHECK((bare.layer_gate_cutoff.size() == 35 && !std::isnan(bare.gate_cutoff(0)) && std::isnan(bare.gate_cutoff(10))));
  CHECK(config_json::standard_normal_quantile(0.975) == Approx(1.959963984540054).epsilon(1e-12));
  CHECK(config_json::standard_normal_quantile(0.5) == Approx(0.0).margin(1e-15));

  CHECK_THROWS_WITH(spec_from_hf_config(parse(R"({"model_type":"gemma3n_text","altup_active_idx":1})"), "config.json"),
                    Contains("altup_active_idx"));
  CHECK_THROWS_WITH(spec_from_hf_config(parse(R"({"model_type":"gemma3n_text","num_hidden_layers":4,
    "activation_sparsity_pattern":[0.95,0.0]})"), "config.json"), Contains("activation_sparsity_pattern"));
}

TEST_CASE("Falcon-H1 configs: a Mamba-2 layer beside every attention layer, FalconH1Config's defaults, the µP "
          "multipliers", "[model][config][families]") {
  const std::string head = R"({"model_type":"falcon_h1","hidden_size":1024,"intermediate_size":2048,
    "num_hidden_layers":4,"num_attention_heads":8,"num_key_value_heads":2,"head_dim":64,"max_position_embeddings":16384,
    "vocab_size":32768,"rope_theta":100000000000.0,"mamba_d_ssm":1536,"mamba_n_heads":24,"mamba_d_head":"auto",
    "mamba_n_groups":1,"mamba_d_state":128,"mamba_d_conv":4,"attention_in_multiplier":1.0,"key_multiplier":0.5,
    "attention_out_multiplier":0.9375,"ssm_in_multiplier":1.25,"ssm_out_multiplier":0.2,"mlp_multipliers":[0.9,0.6],
    "embedding_multiplier":5.5,"lm_head_multiplier":0.04)";
  const std::string released = head + R"(,"mamba_rms_norm":false,"mamba_norm_before_gate":false,
    "ssm_multipliers":[0.35,0.25,0.5,0.25,0.35]})";
  const ModelSpec s = spec_from_hf_config(parse(released.c_str()), "config.json");
  CHECK(s.arch == Architecture::FalconH1);
  CHECK(s.mamba_beside_attention);
  CHECK(s.attention_layers() == 4);
  REQUIRE(s.mamba);
  CHECK((s.mamba->heads == 24 && s.mamba->head_dim == 64));  // "auto": d_ssm / heads
  CHECK_FALSE(s.mamba->gated_norm);
  CHECK(s.rms_eps == 1e-5);  // FalconH1Config's
  CHECK(s.rope.theta == 1e11);
  CHECK(s.multipliers.k == 0.5);
  CHECK(s.multipliers.mamba_in[0] == Approx(0.4375));
  CHECK(s.multipliers.down == 0.6);
  CHECK(s.embedding_multiplier == 5.5);
  CHECK(s.logit_scale == Approx(25.0));
  const DecoderLayout layout = decoder_layout(s);
  CHECK(layout.layers[2].q == "model.layers.2.self_attn.q_proj.weight");
  CHECK(layout.layers[2].mamba.in == "model.layers.2.mamba.in_proj.weight");
  CHECK(layout.layers[2].mamba.norm.empty());
  CHECK_THROWS_WITH(spec_from_hf_config(parse((head + R"(,"mamba_rms_norm":true})").c_str()), "config.json"),
                    Contains("mamba_norm_before_gate"));  // FalconH1Config's default: the norm before the gate
  CHECK_THROWS_WITH(spec_from_hf_config(parse((head + R"(,"ssm_multipliers":[1.0,2.0]})").c_str()), "config.json"),
                    Contains("ssm_multipliers"));
}

TEST_CASE("Nemotron-H configs: layers by hybrid_override_pattern or layers_block_type, NemotronHConfig's names, "
          "Nemotron 3 Nano's experts", "[model][config][families]") {
  SECTION("Nemotron Nano 2 (9B) as released: one sublayer a layer, relu² MLPs without a gate, no RoPE") {
    const std::string pattern = "M-M-M-MM-M-M-M*-M-M-M*-M-M-M-M*-M-M-M-M*-M-MM-M-M-M-M-M-";
    const std::string config = R"({"architectures":["NemotronHForCausalLM"],"model_type":"nemotron_h",
      "hidden_size":4480,"intermediate_size":15680,"num_hidden_layers":)" + std::to_string(pattern.size()) +
                               R"(,"hybrid_override_pattern":")" + pattern + R"(","num_attention_heads":40,
      "num_key_value_heads":8,"head_dim":128,"attention_head_dim":128,"mamba_num_heads":128,"mamba_head_dim":80,
      "n_groups":8,"ssm_state_size":128,"conv_kernel":4,"expand":2,"use_conv_bias":true,"mamba_hidden_act":"silu",
      "mlp_hidden_act":"relu2","layer_norm_epsilon":1e-05,"rms_norm_eps":1e-05,"time_step_limit":[0.0,null],
      "max_position_embeddings":131072,"vocab_size":131072,"tie_word_embeddings":false,"attention_bias":false,
      "eos_token_id":12})";
    const ModelSpec s = spec_from_hf_config(parse(config.c_str()), "config.json");
    CHECK(s.arch == Architecture::NemotronH);
    CHECK(s.num_layers == 56);
    CHECK(s.attention_layers() == 4);
    CHECK(s.mixer(14) == Mixer::Attention);  // the first '*'
    CHECK(s.mixer(1) == Mixer::None);
    CHECK((s.has_mlp(1) && !s.has_mlp(0) && !s.has_mlp(14)));
    REQUIRE(s.mamba);
    CHECK((s.mamba->heads == 128 && s.mamba->head_dim == 80 && s.mamba->groups == 8));  // not expand × hidden
    CHECK(s.intermediate_size == 15680);
    CHECK((s.activation == Activation::ReluSquared && !s.gated_mlp));
    CHECK(s.rms_eps == 1e-5);
    CHECK_FALSE(s.uses_rope(14));
    CHECK_FALSE(s.moe);
    const DecoderLayout layout = decoder_layout(s);
    CHECK(layout.layers[1].attention_norm.empty());
    CHECK(layout.layers[1].mlp_norm == "model.layers.1.input_layernorm.weight");  // the layer's one norm
    CHECK(layout.layers[1].gate.empty());
    CHECK(layout.layers[1].up == "model.layers.1.mlp.up_proj.weight");
    CHECK_FALSE(layout.layers[0].mlp);
    CHECK(layout.layers[0].attention_norm == "model.layers.0.input_layernorm.weight");
    CHECK(layout.layers[14].q == "model.layers.14.self_attn.q_proj.weight");
    CHECK(layout.layers[14].mlp_norm.empty());
  }
  SECTION("Nemotron 3 Nano as transformers 5 saves it: layers_block_type, time_step_limit's {\"__float__\": ...}") {
    const std::string config = R"({"model_type":"nemotron_h","hidden_size":2688,"intermediate_size":1856,
      "layers_block_type":["linear_attention","moe","linear_attention","full_attention","moe"],
      "num_attention_heads":32,"num_key_value_heads":2,"head_dim":128,"mamba_num_heads":64,"mamba_head_dim":64,
      "n_groups":8,"ssm_state_size":128,"n_routed_experts":128,"num_experts_per_tok":6,"moe_intermediate_size":1856,
      "moe_shared_expert_intermediate_size":3712,"n_group":1,"topk_group":1,"norm_topk_prob":true,
      "routed_scaling_factor":2.5,"moe_latent_size":null,"time_step_limit":[0.0,{"__float__":"Infinity"}],
      "max_position_embeddings":262144,"vocab_size":131072})";
    const ModelSpec s = spec_from_hf_config(parse(config.c_str()), "config.json");
    CHECK(s.num_layers == 5);
    REQUIRE(s.moe);
    CHECK((s.sparse_mlp(1) && s.sparse_mlp(4) && !s.sparse_mlp(0) && !s.sparse_mlp(3)));
    CHECK((s.moe->num_experts == 128 && s.moe->experts_per_token == 6));
    CHECK((s.moe->intermediate_size == 1856 && s.moe->shared_intermediate_size == 3712));
    CHECK((s.moe->sigmoid_scores && s.moe->selection_bias && s.moe->normalize_top_k && !s.moe->shared_gate));
    CHECK(s.moe->weights_scale == 2.5);
    const DecoderLayout layout = decoder_layout(s);
    CHECK(layout.layers[1].router == "model.layers.1.mlp.gate.weight");
    CHECK(layout.layers[1].selection_bias == "model.layers.1.mlp.gate.e_score_correction_bias");
    CHECK(layout.layers[1].experts[127].gate.empty());
    CHECK(layout.layers[1].experts[127].up == "model.layers.1.mlp.experts.127.up_proj.weight");
    CHECK(layout.layers[1].shared_gate.empty());
    CHECK(layout.layers[1].shared_up == "model.layers.1.mlp.shared_experts.up_proj.weight");
    CHECK(layout.layers[1].latent_down.empty());  // moe_latent_size null
  }
  SECTION("Nemotron 3 Super: the experts in a latent space (moe_latent_size)") {
    const std::string config = R"({"model_type":"nemotron_h","hidden_size":4096,"intermediate_size":2688,
      "hybrid_override_pattern":"MEM*E","num_attention_heads":32,"num_key_value_heads":2,"head_dim":128,
      "mamba_num_heads":128,"mamba_head_dim":64,"n_groups":8,"ssm_state_size":128,"n_routed_experts":512,
      "num_experts_per_tok":22,"moe_intermediate_size":2688,"moe_shared_expert_intermediate_size":5376,
      "moe_latent_size":1024,"routed_scaling_factor":5.0,"max_position_embeddings":262144,"vocab_size":131072})";
    const ModelSpec s = spec_from_hf_config(parse(config.c_str()), "config.json");
    REQUIRE(s.moe);
    CHECK(s.moe->latent_size == 1024);
    const DecoderLayout layout = decoder_layout(s);
    CHECK(layout.layers[4].latent_down == "model.layers.4.mlp.fc1_latent_proj.weight");
    CHECK(layout.layers[4].latent_up == "model.layers.4.mlp.fc2_latent_proj.weight");
  }
  SECTION("what troupe does not run is refused by name") {
    const std::string head = R"({"model_type":"nemotron_h","hidden_size":64,"intermediate_size":128,
      "num_attention_heads":4,"num_key_value_heads":2,"head_dim":16,"max_position_embeddings":64,"vocab_size":100,)";
    const auto refused = [&](const std::string& rest) {
      return spec_from_hf_config(parse((head + rest).c_str()), "config.json");
    };
    CHECK_THROWS_WITH(refused(R"("hybrid_override_pattern":"M*-","mlp_hidden_act":"silu"})"), Contains("mlp_hidden_act"));
    CHECK_THROWS_WITH(refused(R"("hybrid_override_pattern":"M*X"})"), Contains("'X'"));
    CHECK_THROWS_WITH(refused(R"("hybrid_override_pattern":"M*-","mamba_proj_bias":true})"), Contains("mamba_proj_bias"));
    CHECK_THROWS_WITH(refused(R"("hybrid_override_pattern":"MM-"})"), Contains("no layer attends"));
  }
}

TEST_CASE("Granite's mixtures of experts: 4.0-H's H-Tiny and Granite 3's, by their configs' keys and defaults",
          "[model][config][families]") {
  SECTION("Granite 4.0-H with experts (H-Tiny's config): the dense MLP becomes the shared expert") {
    const std::string config = R"({"model_type":"granitemoehybrid","hidden_size":1536,"intermediate_size":512,
      "shared_intermediate_size":1024,"num_hidden_layers":4,"num_attention_heads":12,"num_key_value_heads":4,
      "num_local_experts":64,"num_experts_per_tok":6,"mamba_n_heads":48,"mamba_d_head":64,"mamba_d_state":128,
      "max_position_embeddings":131072,"vocab_size":100352,"layer_types":["mamba","attention","mamba","mamba"]})";
    const ModelSpec s = spec_from_hf_config(parse(config.c_str()), "config.json");
    CHECK(s.arch == Architecture::GraniteHybrid);
    CHECK(s.intermediate_size == 1024);
    REQUIRE(s.moe);
    CHECK(s.moe->num_experts == 64);
    CHECK(s.moe->experts_per_token == 6);
    CHECK(s.moe->intermediate_size == 512);
    CHECK(s.moe->shared_intermediate_size == 1024);
    CHECK_FALSE(s.moe->shared_gate);
    CHECK(s.moe->normalize_top_k);  // a softmax over the top k logits
    CHECK_FALSE(s.moe->sigmoid_scores);
    const DecoderLayout layout = decoder_layout(s);
    CHECK(layout.layers[1].router == "model.layers.1.mlp.router.weight");
    CHECK(layout.layers[1].experts[63].gate == "model.layers.1.mlp.experts.63.gate_proj.weight");
    CHECK(layout.layers[1].shared_gate == "model.layers.1.mlp.gate_proj.weight");  // shared_mlp's, unprefixed
    CHECK(layout.layers[1].shared_down == "model.layers.1.mlp.down_proj.weight");
    // GraniteMoeHybridConfig's defaults: 8 experts, 2 per token, 11008 columns each.
    const ModelSpec d = spec_from_hf_config(parse(R"({"model_type":"granitemoehybrid","hidden_size":64,"num_hidden_layers":2,
      "num_attention_heads":4,"layer_types":["mamba","attention"],"max_position_embeddings":64,"vocab_size":100})"),
                                            "config.json");
    REQUIRE(d.moe);
    CHECK(d.moe->num_experts == 8);
    CHECK(d.moe->experts_per_token == 2);
    CHECK(d.moe->intermediate_size == 11008);
    CHECK(d.moe->shared_intermediate_size == 1024);
  }
  SECTION("Granite 3's granitemoe (no shared MLP) and granitemoeshared") {
    const std::string head = R"({"hidden_size":1024,"intermediate_size":512,"num_hidden_layers":24,
      "num_attention_heads":16,"num_key_value_heads":8,"num_local_experts":32,"num_experts_per_tok":8,
      "embedding_multiplier":12.0,"attention_multiplier":0.015625,"residual_multiplier":0.22,"logits_scaling":6.0,
      "max_position_embeddings":4096,"vocab_size":49155,"rope_theta":10000.0)";
    const ModelSpec plain = spec_from_hf_config(parse((head + R"(,"model_type":"granitemoe"})").c_str()), "config.json");
    CHECK(plain.arch == Architecture::GraniteMoe);
    REQUIRE(plain.moe);
    CHECK(plain.moe->num_experts == 32);
    CHECK(plain.moe->intermediate_size == 512);
    CHECK(plain.moe->shared_intermediate_size == 0);
    CHECK(plain.moe->normalize_top_k);
    CHECK(plain.embedding_multiplier == 12.0);
    CHECK(plain.residual_multiplier == 0.22);
    CHECK(plain.attention_scale == 0.015625);
    CHECK(plain.uses_rope(0));
    CHECK(decoder_layout(plain).layers[0].shared_gate.empty());
    const ModelSpec shared = spec_from_hf_config(
        parse((head + R"(,"model_type":"granitemoeshared","shared_intermediate_size":1024})").c_str()), "config.json");
    REQUIRE(shared.moe);
    CHECK(shared.moe->shared_intermediate_size == 1024);
  }
}

TEST_CASE("ERNIE 4.5 configs: Ernie4_5Config's and Ernie4_5_MoeConfig's names and defaults", "[model][config][families]") {
  // ERNIE-4.5-21B-A3B's config: 28 layers, the first dense, then experts.
  const ModelSpec s = spec_from_hf_config(parse(R"({"model_type":"ernie4_5_moe","hidden_size":2560,"intermediate_size":12288,
    "num_hidden_layers":28,"num_attention_heads":20,"num_key_value_heads":4,"head_dim":128,"moe_num_experts":64,"moe_k":6,
    "moe_intermediate_size":1536,"moe_num_shared_experts":2,"moe_layer_start_index":1,"moe_layer_end_index":27,
    "moe_layer_interval":1,"vocab_size":103424,"max_position_embeddings":131072,"rope_theta":500000,"use_bias":false,
    "tie_word_embeddings":true})"), "config.json");
  CHECK(s.arch == Architecture::Ernie45Moe);
  REQUIRE(s.moe);
  CHECK(s.moe->num_experts == 64);
  CHECK(s.moe->experts_per_token == 6);
  CHECK(s.moe->shared_intermediate_size == 2 * 1536);
  CHECK((s.moe->selection_bias && s.moe->normalize_top_k && !s.moe->sigmoid_scores));
  CHECK_FALSE(s.sparse_mlp(0));
  CHECK(s.sparse_mlp(27));
  CHECK(decoder_layout(s).layers[1].selection_bias == "model.layers.1.mlp.moe_statics.e_score_correction_bias");
  // The defaults: 64 experts, 6 per token, MoE from layer 1 to the last (end -1), every layer; tied
  // embeddings and RoPE base 500,000.
  const std::string head = R"({"hidden_size":64,"intermediate_size":128,"num_hidden_layers":6,"num_attention_heads":4,
    "vocab_size":100,"max_position_embeddings":64)";
  const ModelSpec d = spec_from_hf_config(parse((head + R"(,"model_type":"ernie4_5_moe","moe_layer_interval":2})").c_str()),
                                          "config.json");
  REQUIRE(d.moe);
  CHECK(d.moe->num_experts == 64);
  CHECK(d.moe->sparse_layers == std::vector<bool>{false, true, false, true, false, true});
  CHECK(d.tie_word_embeddings);
  CHECK(d.rope.theta == 500000.0);
  const ModelSpec dense = spec_from_hf_config(parse((head + R"(,"model_type":"ernie4_5"})").c_str()), "config.json");
  CHECK(dense.arch == Architecture::Ernie45);
  CHECK_FALSE(dense.moe);
  CHECK_THROWS_WITH(spec_from_hf_config(parse((head + R"(,"model_type":"ernie4_5","use_bias":true})").c_str()), "config.json"),
                    Contains("use_bias"));
}

TEST_CASE("GGUF metadata: lfm2's per-layer head_count_kv marks its convolution layers", "[model][gguf][families]") {
  const auto lfm2 = [](std::vector<uint32_t> kv_heads, bool window) {
    test::GgufBuilder b;
    b.kv_string("general.architecture", "lfm2");
    b.kv("lfm2.block_count", kU32, static_cast<uint32_t>(kv_heads.size()));
    b.kv("lfm2.embedding_length", kU32, uint32_t{64});
    b.kv("lfm2.feed_forward_length", kU32, uint32_t{128});
    b.kv("lfm2.attention.head_count", kU32, uint32_t{4});
    b.kv_array("lfm2.attention.head_count_kv", kU32, kv_heads);
    b.kv("lfm2.context_length", kU32, uint32_t{4096});
    b.kv("lfm2.shortconv.l_cache", kU32, uint32_t{3});
    if (window) b.kv("lfm2.attention.sliding_window", kU32, uint32_t{512});
    for (std::size_t i = 0; i < kv_heads.size(); ++i) {
      if (kv_heads[i] != 0) b.tensor("blk." + std::to_string(i) + ".attn_q_norm.weight", {16}, 0, std::string(16 * 4, '\0'));
    }
    b.tensor("token_embd.weight", {64, 10}, 0, std::string(64 * 10 * 4, '\0'));
    return b;
  };
  const ModelSpec s = spec_from_gguf(GgufFile(write_gguf(lfm2({0, 0, 2, 0}, false), "lfm2")));
  CHECK(s.layer_mixer == std::vector<Mixer>{Mixer::ShortConv, Mixer::ShortConv, Mixer::Attention, Mixer::ShortConv});
  CHECK(s.num_kv_heads == 2);
  CHECK(s.qk_norm);  // found on the first layer that attends
  CHECK(s.short_conv->kernel == 3);
  CHECK(hf_name_from_gguf("token_embd_norm.weight", family_of(Architecture::Lfm2)) == "model.norm.weight");
  CHECK(hf_name_from_gguf("blk.3.shortconv.in_proj.weight", family_of(Architecture::Lfm2)) ==
        "model.layers.3.conv.in_proj.weight");
  CHECK(hf_name_from_gguf("output_norm.weight", family_of(Architecture::Lfm2)) == std::nullopt);
  CHECK(hf_name_from_gguf("output_norm.weight", family_of(Architecture::Llama)) == "model.norm.weight");
  CHECK_THROWS_WITH(spec_from_gguf(GgufFile(write_gguf(lfm2({0, 2}, true), "lfm2-swa"))), Contains("sliding_window"));
}

TEST_CASE("Qwen3.5 configs: delta-net layers every three in four by default, Qwen3_5TextConfig's sizes and partial rotary",
          "[model][config][families]") {
  SECTION("the text_config of Qwen3_5ForConditionalGeneration without layer_types") {
    const ModelSpec s = spec_from_hf_config(parse(R"({"model_type":"qwen3_5","architectures":["Qwen3_5ForConditionalGeneration"],
      "text_config":{"model_type":"qwen3_5_text","hidden_size":1024,"intermediate_size":3584,"num_hidden_layers":8,
        "num_attention_heads":8,"num_key_value_heads":2,"head_dim":256,"vocab_size":248320,"max_position_embeddings":262144,
        "rope_parameters":{"rope_type":"default","rope_theta":10000000,"mrope_section":[11,11,10],"mrope_interleaved":true}},
      "vision_config":{"depth":24}})"), "config.json");
    CHECK(s.arch == Architecture::Qwen35);
    CHECK(s.layer_mixer == std::vector<Mixer>{Mixer::GatedDeltaNet, Mixer::GatedDeltaNet, Mixer::GatedDeltaNet,
                                              Mixer::Attention, Mixer::GatedDeltaNet, Mixer::GatedDeltaNet,
                                              Mixer::GatedDeltaNet, Mixer::Attention});
    REQUIRE(s.delta_net);
    CHECK(s.delta_net->k_heads == 16);
    CHECK(s.delta_net->v_heads == 32);
    CHECK(s.delta_net->k_dim == 128);
    CHECK(s.delta_net->conv_kernel == 4);
    CHECK(s.delta_net->conv_width() == 2 * 16 * 128 + 32 * 128);
    CHECK_FALSE(s.delta_net->tiled_heads);
    CHECK(s.delta_net->key_head_of(3) == 1);  // value heads grouped by key head
    CHECK(s.rotary_dims() == 64);             // a quarter of the head when not given
    CHECK(s.attention_output_gate);
    CHECK(s.norm_weight_offset == 1.0);
    CHECK(s.embedding_multiplier == 1.0);  // (1 + w) norms, not Gemma's scaling
    CHECK(s.has_sequence_state());
    const DecoderLayout layout = decoder_layout(s);
    CHECK(layout.layers[0].delta.qkv == "model.layers.0.linear_attn.in_proj_qkv.weight");
    CHECK(layout.layers[0].q.empty());
    CHECK(layout.layers[3].q == "model.layers.3.self_attn.q_proj.weight");
  }
  SECTION("Qwen3.5's mixtures of experts (Qwen3.5-35B-A3B's text_config: no dense width)") {
    const ModelSpec s = spec_from_hf_config(parse(R"({"model_type":"qwen3_5_moe","text_config":{
      "model_type":"qwen3_5_moe_text","hidden_size":2048,"num_hidden_layers":40,"num_attention_heads":16,
      "num_key_value_heads":2,"head_dim":256,"moe_intermediate_size":512,"shared_expert_intermediate_size":512,
      "num_experts":256,"num_experts_per_tok":8,"vocab_size":248320,"max_position_embeddings":262144,
      "full_attention_interval":4}})"), "config.json");
    CHECK(s.arch == Architecture::Qwen35Moe);
    CHECK(s.intermediate_size == 512);  // the experts' width (no dense layer)
    REQUIRE(s.moe);
    CHECK(s.moe->num_experts == 256);
    CHECK(s.moe->experts_per_token == 8);
    CHECK(s.moe->normalize_top_k);
    CHECK(s.moe->shared_intermediate_size == 512);
    CHECK(s.moe->shared_gate);
    CHECK(s.mixer(0) == Mixer::GatedDeltaNet);
    CHECK(s.mixer(3) == Mixer::Attention);
    CHECK(s.attention_output_gate);
    CHECK(s.norm_weight_offset == 1.0);
    CHECK(s.rotary_dims() == 64);  // a quarter of 256
  }
  SECTION("Qwen3-Next (Qwen3-Next-80B-A3B's config): dense layers by mlp_only_layers, norm_topk_prob") {
    const std::string head = R"({"model_type":"qwen3_next","hidden_size":2048,"intermediate_size":5120,
      "num_hidden_layers":48,"num_attention_heads":16,"num_key_value_heads":2,"head_dim":256,"moe_intermediate_size":512,
      "shared_expert_intermediate_size":512,"num_experts":512,"num_experts_per_tok":10,"linear_num_key_heads":16,
      "linear_num_value_heads":32,"vocab_size":151936,"max_position_embeddings":262144,"full_attention_interval":4,
      "rope_theta":10000000,"partial_rotary_factor":0.25)";
    const ModelSpec s = spec_from_hf_config(parse((head + "}").c_str()), "config.json");
    CHECK(s.arch == Architecture::Qwen3Next);
    CHECK(s.intermediate_size == 5120);
    REQUIRE(s.moe);
    CHECK(s.moe->num_experts == 512);
    CHECK(s.moe->normalize_top_k);  // Qwen3NextConfig's default
    CHECK(s.moe->shared_gate);
    CHECK(s.sparse_mlp(0));
    CHECK(s.mixer(2) == Mixer::GatedDeltaNet);
    CHECK(s.mixer(3) == Mixer::Attention);
    REQUIRE(s.delta_net);
    CHECK_FALSE(s.delta_net->tiled_heads);
    CHECK(s.rotary_dims() == 64);
    CHECK(s.norm_weight_offset == 1.0);
    const ModelSpec dense = spec_from_hf_config(
        parse((head + R"(,"mlp_only_layers":[0, 5],"norm_topk_prob":false})").c_str()), "config.json");
    CHECK_FALSE(dense.sparse_mlp(0));
    CHECK(dense.sparse_mlp(1));
    CHECK_FALSE(dense.sparse_mlp(5));
    CHECK_FALSE(dense.moe->normalize_top_k);
  }
  SECTION("an attention without its output gate, or a layer type of another model, is refused") {
    const auto config = [](const std::string& extra) {
      return parse(("{\"model_type\":\"qwen3_5_text\",\"hidden_size\":64,\"intermediate_size\":128,"
                    "\"num_hidden_layers\":2,\"num_attention_heads\":4,\"vocab_size\":100,"
                    "\"max_position_embeddings\":64" + extra + "}").c_str());
    };
    CHECK_THROWS_WITH(spec_from_hf_config(config(",\"attn_output_gate\":false"), "config.json"), Contains("attn_output_gate"));
    CHECK_THROWS_WITH(spec_from_hf_config(config(",\"layer_types\":[\"linear_attention\",\"sliding_attention\"]"), "config.json"),
                      Contains("sliding_attention"));
  }
}

TEST_CASE("GGUF metadata: qwen35's recurrent layers, its multi-token-prediction layer left out, tiled value heads",
          "[model][gguf][families]") {
  test::GgufBuilder b;
  b.kv_string("general.architecture", "qwen35");
  b.kv("qwen35.block_count", kU32, uint32_t{5});  // 4 layers and the MTP one
  b.kv("qwen35.nextn_predict_layers", kU32, uint32_t{1});
  b.kv("qwen35.embedding_length", kU32, uint32_t{64});
  b.kv("qwen35.feed_forward_length", kU32, uint32_t{128});
  b.kv("qwen35.attention.head_count", kU32, uint32_t{4});
  b.kv("qwen35.attention.head_count_kv", kU32, uint32_t{2});
  b.kv("qwen35.attention.key_length", kU32, uint32_t{16});
  b.kv("qwen35.rope.dimension_count", kU32, uint32_t{4});
  b.kv("qwen35.context_length", kU32, uint32_t{4096});
  b.kv("qwen35.ssm.conv_kernel", kU32, uint32_t{4});
  b.kv("qwen35.ssm.state_size", kU32, uint32_t{8});
  b.kv("qwen35.ssm.group_count", kU32, uint32_t{2});
  b.kv("qwen35.ssm.time_step_rank", kU32, uint32_t{4});
  b.kv("qwen35.ssm.inner_size", kU32, uint32_t{32});
  b.kv_array("qwen35.attention.recurrent_layers", kBool, std::vector<uint8_t>{1, 0, 1, 0, 0});
  b.tensor("blk.1.attn_q_norm.weight", {16}, 0, std::string(16 * 4, '\0'));
  b.tensor("token_embd.weight", {64, 10}, 0, std::string(64 * 10 * 4, '\0'));
  const ModelSpec s = spec_from_gguf(GgufFile(write_gguf(b, "qwen35")));
  CHECK(s.num_layers == 4);
  CHECK(s.layer_mixer == std::vector<Mixer>{Mixer::GatedDeltaNet, Mixer::Attention, Mixer::GatedDeltaNet, Mixer::Attention});
  REQUIRE(s.delta_net);
  CHECK(s.delta_net->v_dim == 8);
  CHECK(s.delta_net->tiled_heads);
  CHECK(s.delta_net->key_head_of(3) == 1);  // llama.cpp's tiled order: head 3 reads key head 3 % 2
  CHECK(s.delta_net->key_head_of(2) == 0);
  CHECK(s.attention_output_gate);
  CHECK(s.norm_weight_offset == 0.0);  // the converter adds the 1
  const ModelFamily& qwen35 = family_of(Architecture::Qwen35);
  CHECK(hf_name_from_gguf("blk.2.ssm_a", qwen35) == "model.layers.2.linear_attn.A");
  CHECK(hf_name_from_gguf("blk.2.ssm_dt.bias", qwen35) == "model.layers.2.linear_attn.dt_bias");
  CHECK(hf_name_from_gguf("blk.2.attn_qkv.weight", qwen35) == "model.layers.2.linear_attn.in_proj_qkv.weight");
  CHECK(hf_name_from_gguf("blk.2.attn_gate.weight", qwen35) == "model.layers.2.linear_attn.in_proj_z.weight");
  CHECK(hf_name_from_gguf("blk.1.post_attention_norm.weight", qwen35) == "model.layers.1.post_attention_layernorm.weight");
  CHECK(hf_name_from_gguf("blk.2.attn_qkv.weight", family_of(Architecture::Phi3)) == "model.layers.2.self_attn.qkv_proj.weight");
}
