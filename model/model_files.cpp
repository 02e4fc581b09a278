#include "model/model_files.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <regex>
#include <set>
#include <tuple>
#include <sstream>

#include "common/error.hpp"
#include "model/config_readers.hpp"
#include "model/fp8_weights.hpp"
#include "model/gpt_oss_experts.hpp"
#include "model/latent_heads.hpp"
#include "model/model_family.hpp"
#include "model/nemotron_h_names.hpp"
#include "model/qwen3_next_projections.hpp"

namespace troupe {

namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

json::value read_json(const fs::path& p) {
  std::ifstream in(p);
  if (!in) throw ModelError("cannot read " + p.string());
  std::stringstream ss;
  ss << in.rdbuf();
  try {
    return json::parse(ss.str());
  } catch (const std::exception& e) {
    throw ModelError(p.string() + ": not valid JSON: " + e.what());
  }
}

// Rows in RoPE's interleaved pair order (a llama GGUF; Cohere's and GLM-4's checkpoints) back to
// the half-split order: within each head's first `rotary` rows, file row 2j holds Hugging Face row j
// and file row 2j+1 holds row j + rotary/2; the head's rows past `rotary` (partial rotary) stay.
// `in` holds head-major rows of `row_bytes` bytes each (one element for a bias), of any type.
template <typename T>
std::vector<T> unpermute_rope_rows(const std::vector<T>& in, int64_t heads, int64_t head_dim, int64_t rotary,
                                   int64_t row_bytes) {
  std::vector<T> out(in);
  const auto* src_base = reinterpret_cast<const std::byte*>(in.data());
  auto* dst_base = reinterpret_cast<std::byte*>(out.data());
  const int64_t half = rotary / 2;
  for (int64_t h = 0; h < heads; ++h) {
    for (int64_t j = 0; j < half; ++j) {
      for (int64_t k = 0; k < 2; ++k) {
        const std::byte* src = src_base + ((h * head_dim) + 2 * j + k) * row_bytes;
        std::byte* dst = dst_base + ((h * head_dim) + j + k * half) * row_bytes;
        std::copy(src, src + row_bytes, dst);
      }
    }
  }
  return out;
}

// The name of a language-model tensor under the plain causal-LM scheme: multimodal checkpoints
// (Gemma3ForConditionalGeneration) keep the text model under language_model (transformers 4:
// language_model.model.*, language_model.lm_head.*; transformers 5: model.language_model.*).
// nullopt for the other towers' tensors (vision, projector).
std::optional<std::string> language_model_name(const std::string& name) {
  static const std::vector<std::pair<std::string, std::string>> kPrefixes{
      {"language_model.model.", "model."},
      {"model.language_model.", "model."},
      {"language_model.lm_head.", "lm_head."},
  };
  for (const auto& [from, to] : kPrefixes) {
    if (name.starts_with(from)) return to + name.substr(from.size());
  }
  // Llama 4's tower is vision_model, Kimi K2.5's projector mm_projector, Qwen2-VL's tower visual.
  for (const char* tower : {"vision_tower.", "vision_model.", "multi_modal_projector.", "mm_projector.", "visual.",
                            "model.vision_tower.", "model.vision_model.", "model.multi_modal_projector.", "model.visual."}) {
    if (name.starts_with(tower)) return std::nullopt;
  }
  return name;
}

// generation_config.json's eos_token_id (one id or a list) ends generation too, as in vLLM: chat
// models list their end-of-turn tokens there (Gemma 3's <end_of_turn>).
void merge_generation_eos(const fs::path& path, std::vector<int32_t>& eos) {
  if (!fs::exists(path)) return;
  const json::value v = read_json(path);
  const json::value* ids = v.is_object() ? v.as_object().if_contains("eos_token_id") : nullptr;
  if (ids == nullptr || ids->is_null()) return;
  const auto add = [&](const json::value& id) {
    if (!id.is_number()) throw ModelError(path.string() + ": eos_token_id is not a token id");
    const auto value = id.to_number<int32_t>();
    if (std::find(eos.begin(), eos.end(), value) == eos.end()) eos.push_back(value);
  };
  if (ids->is_array()) {
    for (const auto& id : ids->as_array()) add(id);
  } else {
    add(*ids);
  }
}

// Applies `r` to `name` once, at its first occurrence (or at the start alone: a `from` of "^…").
void rename_part(std::string& name, const TensorRename& r) {
  if (r.from.starts_with('^')) {
    const std::string_view from = r.from.substr(1);
    if (name.starts_with(from)) name.replace(0, from.size(), r.to);
  } else if (const std::size_t at = name.find(r.from); at != std::string::npos) {
    name.replace(at, r.from.size(), r.to);
  }
}

}  // namespace

std::optional<std::string> hf_name_from_gguf(const std::string& gguf_name, const ModelFamily& family) {
  // Families with norms on the sublayers' outputs: llama.cpp's names for the norms around
  // attention and the MLP (Gemma's, OLMo's and GLM's spellings), under the family's own.
  const NormNames& norms = family.norm_names;
  const std::map<std::string, std::string_view> sandwich{
      {"post_attention_norm", norms.attention_out}, {"attn_post_norm", norms.attention_out},
      {"ffn_norm", norms.mlp_in},
      {"post_ffw_norm", norms.mlp_out}, {"ffn_post_norm", norms.mlp_out},
  };
  static const std::map<std::string, std::string> kGlobal{
      {"token_embd.weight", "model.embed_tokens.weight"},
      {"position_embd.weight", "model.embed_positions.weight"},  // GPT-2's, StarCoder 1's
      {"output.weight", "lm_head.weight"},
      // Gemma 4 E2B/E4B's per-layer embeddings.
      {"per_layer_token_embd.weight", "model.embed_tokens_per_layer.weight"},
      {"per_layer_model_proj.weight", "model.per_layer_model_projection.weight"},
      {"per_layer_proj_norm.weight", "model.per_layer_projection_norm.weight"},
  };
  if (gguf_name == family.gguf_final_norm) return "model.norm.weight";
  // The biases of the final LayerNorm and of the vocabulary projection (StarCoder2's, Phi-2's).
  if (gguf_name == "output_norm.bias") return "model.norm.bias";
  if (gguf_name == "output.bias") return "lm_head.bias";
  static const std::map<std::string, std::string> kLayer{
      {"attn_norm", "input_layernorm"},       {"ffn_norm", "post_attention_layernorm"},
      {"attn_q", "self_attn.q_proj"},         {"attn_k", "self_attn.k_proj"},
      {"attn_v", "self_attn.v_proj"},         {"attn_output", "self_attn.o_proj"},
      {"attn_qkv", "self_attn.qkv_proj"},     // fused (Phi-2's older files; Phi-3's, below)
      {"attn_norm_2", "attention_layernorm_2"},  // Falcon 40B's ln_attn (its attn_norm is then ln_mlp): falcon_gguf_norms
      {"attn_q_norm", "self_attn.q_norm"},    {"attn_k_norm", "self_attn.k_norm"},
      {"ffn_gate", "mlp.gate_proj"},          {"ffn_up", "mlp.up_proj"},
      {"ffn_down", "mlp.down_proj"},
      // Latent attention (deepseek2); k_b and v_b are llama.cpp's split of kv_b_proj.
      {"attn_q_a", "self_attn.q_a_proj"},     {"attn_q_a_norm", "self_attn.q_a_layernorm"},
      {"attn_q_b", "self_attn.q_b_proj"},     {"attn_kv_a_mqa", "self_attn.kv_a_proj_with_mqa"},
      {"attn_kv_a_norm", "self_attn.kv_a_layernorm"}, {"attn_kv_b", "self_attn.kv_b_proj"},
      {"attn_k_b", "self_attn.k_b_proj"},     {"attn_v_b", "self_attn.v_b_proj"},
      // gpt-oss's and GLM-4.5's norm before the MLP, and Seed-OSS's (the sandwich-norm families have
      // their own map above).
      {"post_attention_norm", "post_attention_layernorm"}, {"attn_post_norm", "post_attention_layernorm"},
  };
  static const std::map<std::string, std::string> kFused{
      {"attn_qkv", "self_attn.qkv_proj"},
      {"ffn_up", "mlp.gate_up_proj"},
  };
  if (auto it = kGlobal.find(gguf_name); it != kGlobal.end()) return it->second;
  // Experts: the router, the experts' projections stacked as one [experts, rows, cols] tensor
  // each (ModelFiles::split_stacked_experts serves expert E's part under its own name), or, in
  // files converted before llama.cpp stacked them, one tensor per expert (blk.N.ffn_gate.E.weight).
  const ExpertNames& experts = family.expert_names;
  const auto expert_part = [&](const std::string& kind) {
    return kind == "gate" ? experts.gate : kind == "up" ? experts.up : experts.down;
  };
  static const std::regex kStacked(R"(blk\.(\d+)\.ffn_(gate|up|down)_exps\.(weight|bias))");
  static const std::regex kSingle(R"(blk\.(\d+)\.ffn_(gate|up|down)\.(\d+)\.weight)");
  std::smatch m;
  static const std::regex kRouter(R"(blk\.(\d+)\.ffn_gate_inp\.(weight|bias))");
  if (std::regex_match(gguf_name, m, kRouter)) {
    return "model.layers." + m[1].str() + "." + std::string(experts.block) + "." + std::string(experts.router) + "." +
           m[2].str();
  }
  // Shared experts (GLM-4.5, Qwen2-MoE): a dense MLP beside the routed ones, and its gate. Granite's
  // sliding-window releases keep the shared MLP's gate and up fused in ffn_up_shexp (llama.cpp's
  // converter), served as the gate_up_proj every fused MLP is split from.
  static const std::regex kShared(R"(blk\.(\d+)\.ffn_(gate|up|down)_shexp\.weight)");
  if (family.arch == Architecture::GraniteSwa && std::regex_match(gguf_name, m, kShared) && m[2].str() == "up") {
    return shared_expert_prefix(experts, m[1].str()) + "gate_up_proj.weight";
  }
  if (std::regex_match(gguf_name, m, kShared)) return shared_expert_prefix(experts, m[1].str()) + m[2].str() + "_proj.weight";
  static const std::regex kSharedGate(R"(blk\.(\d+)\.ffn_gate_inp_shexp\.weight)");
  if (std::regex_match(gguf_name, m, kSharedGate)) {
    return "model.layers." + m[1].str() + "." + std::string(experts.block) + "." + std::string(experts.shared_gate) + ".weight";
  }
  // The experts' latent projections (Nemotron 3 Super: fc1_latent_proj, fc2_latent_proj).
  static const std::regex kLatent(R"(blk\.(\d+)\.ffn_latent_(down|up)\.weight)");
  if (std::regex_match(gguf_name, m, kLatent)) {
    return "model.layers." + m[1].str() + "." + std::string(experts.block) + "." +
           (m[2].str() == "down" ? "fc1_latent_proj" : "fc2_latent_proj") + ".weight";
  }
  // The router's selection bias (DeepSeek-V3's e_score_correction_bias).
  static const std::regex kSelectionBias(R"(blk\.(\d+)\.exp_probs_b\.bias)");
  if (std::regex_match(gguf_name, m, kSelectionBias)) {
    return "model.layers." + m[1].str() + "." + std::string(experts.block) + "." + std::string(experts.selection_bias);
  }
  // Gate and up fused, stacked ([experts, 2 · width, hidden]: Mistral Small 4's, as transformers 5 holds
  // them), which split_fused_experts serves per expert.
  static const std::regex kFusedExperts(R"(blk\.(\d+)\.ffn_gate_up_exps\.weight)");
  if (std::regex_match(gguf_name, m, kFusedExperts)) {
    return "model.layers." + m[1].str() + "." + std::string(experts.block) + ".experts.gate_up_proj";
  }
  // Biases stay stacked ([experts, rows]); weights are split per expert below.
  if (std::regex_match(gguf_name, m, kStacked)) {
    return "model.layers." + m[1].str() + "." + std::string(experts.block) + ".experts." +
           std::string(expert_part(m[2].str())) + "." + m[3].str();
  }
  // gpt-oss's per-head sink logits (Hugging Face names them without .weight).
  static const std::regex kSinks(R"(blk\.(\d+)\.attn_sinks\.weight)");
  if (std::regex_match(gguf_name, m, kSinks)) return "model.layers." + m[1].str() + ".self_attn.sinks";
  if (std::regex_match(gguf_name, m, kSingle)) {
    return "model.layers." + m[1].str() + "." + std::string(experts.block) + ".experts." + m[3].str() + "." +
           std::string(expert_part(m[2].str())) + ".weight";
  }
  // Qwen3.5's gated delta net, under llama.cpp's names (ssm_a holds −exp(A_log): linear_attn.A).
  static const std::map<std::string, std::string> kDeltaNet{
      {"attn_qkv.weight", "in_proj_qkv.weight"}, {"attn_gate.weight", "in_proj_z.weight"},
      {"ssm_beta.weight", "in_proj_b.weight"},   {"ssm_alpha.weight", "in_proj_a.weight"},
      {"ssm_conv1d.weight", "conv1d.weight"},    {"ssm_dt.bias", "dt_bias"},
      {"ssm_a", "A"},                            {"ssm_norm.weight", "norm.weight"},
      {"ssm_out.weight", "out_proj.weight"},     {"ssm_ba.weight", "in_proj_ba.weight"},  // Qwen3-Next's, fused
  };
  static const std::regex kDeltaNetName(R"(blk\.(\d+)\.(\w+(\.weight|\.bias)?))");
  if (family.gated_delta_net && std::regex_match(gguf_name, m, kDeltaNetName)) {
    if (auto it = kDeltaNet.find(m[2].str()); it != kDeltaNet.end()) {
      return "model.layers." + m[1].str() + ".linear_attn." + it->second;
    }
  }
  // Granite 4.0-H's, Nemotron-H's and Falcon-H1's Mamba-2 layers, under llama.cpp's names (ssm_a holds −exp(A_log): mamba.A).
  static const std::map<std::string, std::string> kMamba2{
      {"ssm_in.weight", "in_proj.weight"},   {"ssm_conv1d.weight", "conv1d.weight"}, {"ssm_conv1d.bias", "conv1d.bias"},
      {"ssm_dt.bias", "dt_bias"},            {"ssm_a", "A"},                         {"ssm_d", "D"},
      {"ssm_norm.weight", "norm.weight"},    {"ssm_out.weight", "out_proj.weight"},
  };
  const bool mamba2 = family.arch == Architecture::GraniteHybrid || family.arch == Architecture::NemotronH ||
                      family.arch == Architecture::FalconH1;
  if (mamba2 && std::regex_match(gguf_name, m, kDeltaNetName)) {
    if (auto it = kMamba2.find(m[2].str()); it != kMamba2.end()) return "model.layers." + m[1].str() + ".mamba." + it->second;
  }
  // Gemma 4's: its layer scalar, the norms around the experts beside its dense MLP, the router's
  // norm and the experts' scales, its per-layer inputs' projections (its fused experts: above).
  static const std::map<std::string, std::string> kGemma4{
      {"layer_output_scale.weight", "layer_scalar"},
      {"pre_ffw_norm_2.weight", "pre_feedforward_layernorm_2.weight"},
      {"post_ffw_norm_1.weight", "post_feedforward_layernorm_1.weight"},
      {"post_ffw_norm_2.weight", "post_feedforward_layernorm_2.weight"},
      {"ffn_gate_inp.scale", "mlp.router.scale"},
      {"ffn_down_exps.scale", "mlp.router.per_expert_scale"},
      {"inp_gate.weight", "per_layer_input_gate.weight"},
      {"proj.weight", "per_layer_projection.weight"},
      {"post_norm.weight", "post_per_layer_input_norm.weight"},
  };
  // Gemma 3n's: AltUp's and LAuReL's, and the per-layer inputs' projections as Gemma 4's.
  static const std::map<std::string, std::string> kGemma3n{
      {"altup_correct_scale.weight", "altup.correct_output_scale"},
      {"altup_correct_coef.weight", "altup.correction_coefs.weight"},
      {"altup_predict_coef.weight", "altup.prediction_coefs.weight"},
      {"altup_router.weight", "altup.modality_router.weight"},
      {"altup_router_norm.weight", "altup.router_norm.weight"},
      {"laurel_l.weight", "laurel.linear_left.weight"},
      {"laurel_r.weight", "laurel.linear_right.weight"},
      {"laurel_post_norm.weight", "laurel.post_laurel_norm.weight"},
      {"inp_gate.weight", "per_layer_input_gate.weight"},
      {"proj.weight", "per_layer_projection.weight"},
      {"post_norm.weight", "post_per_layer_input_norm.weight"},
  };
  static const std::regex kQualified(R"(blk\.(\d+)\.(\w+\.\w+))");
  if (family.arch == Architecture::Gemma4 && std::regex_match(gguf_name, m, kQualified)) {
    if (auto it = kGemma4.find(m[2].str()); it != kGemma4.end()) return "model.layers." + m[1].str() + "." + it->second;
  }
  if (family.arch == Architecture::Gemma3n && std::regex_match(gguf_name, m, kQualified)) {
    if (auto it = kGemma3n.find(m[2].str()); it != kGemma3n.end()) return "model.layers." + m[1].str() + "." + it->second;
  }
  // Gemma 3n's stream projections, stacked ([streams − 1, hidden, hidden]): split_altup_projections.
  if (gguf_name == "altup_proj.weight") return "model.altup_projections.weight";
  if (gguf_name == "altup_unembd_proj.weight") return "model.altup_unembed_projections.weight";
  // Falcon-H1's norm before the MLP, which llama.cpp's converter names without ".weight".
  static const std::regex kBareFfnNorm(R"(blk\.(\d+)\.ffn_norm)");
  if (std::regex_match(gguf_name, m, kBareFfnNorm)) return "model.layers." + m[1].str() + ".post_attention_layernorm.weight";
  // LFM2's short convolution (its Hugging Face names: conv.in_proj, conv.conv, conv.out_proj).
  static const std::regex kShortConv(R"(blk\.(\d+)\.shortconv\.(conv|in_proj|out_proj)\.(weight|bias))");
  if (std::regex_match(gguf_name, m, kShortConv)) {
    return "model.layers." + m[1].str() + ".conv." + m[2].str() + "." + m[3].str();
  }
  static const std::regex kBlock(R"(blk\.(\d+)\.(\w+)\.(weight|bias))");
  if (std::regex_match(gguf_name, m, kBlock)) {
    if (auto it = sandwich.find(m[2].str()); family.sandwich_norms && it != sandwich.end()) {
      return "model.layers." + m[1].str() + "." + std::string(it->second) + "." + m[3].str();
    }
    if (auto it = kFused.find(m[2].str()); family.fused_projections && it != kFused.end()) {
      return "model.layers." + m[1].str() + "." + it->second + "." + m[3].str();
    }
    if (auto it = kLayer.find(m[2].str()); it != kLayer.end()) {
      return "model.layers." + m[1].str() + "." + it->second + "." + m[3].str();
    }
  }
  return std::nullopt;
}

ModelFiles ModelFiles::open(const fs::path& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) return open_hf_directory(path);
  if (fs::is_regular_file(path, ec)) {
    if (path.extension() == ".gguf") return open_gguf(path);
    throw ModelError(path.string() + ": not a .gguf file or a model directory");
  }
  throw ModelError(path.string() + ": no such file or directory");
}

ModelFiles ModelFiles::open_hf_directory(const fs::path& dir) {
  ModelFiles m;
  m.path_ = dir;
  m.format_ = ModelFormat::Safetensors;
  const fs::path config = dir / "config.json";
  if (!fs::exists(config)) throw ModelError(dir.string() + ": no config.json in the model directory");
  m.spec_ = spec_from_hf_config_file(config);

  std::vector<fs::path> files;
  const fs::path index = dir / "model.safetensors.index.json";
  if (fs::exists(index)) {
    json::value v = read_json(index);
    const json::value* map = v.is_object() ? v.as_object().if_contains("weight_map") : nullptr;
    if (!map || !map->is_object()) throw ModelError(index.string() + ": no \"weight_map\" object");
    std::set<std::string> unique;
    for (const auto& [name, file] : map->as_object()) {
      if (!file.is_string()) throw ModelError(index.string() + ": weight_map entry for " + std::string(name) + " is not a file name");
      unique.insert(std::string(file.as_string()));
    }
    for (const auto& f : unique) files.push_back(dir / f);
  } else if (fs::exists(dir / "model.safetensors")) {
    files.push_back(dir / "model.safetensors");
  } else {
    throw ModelError(dir.string() + ": no model.safetensors or model.safetensors.index.json");
  }
  for (const auto& f : files) {
    auto shard = std::make_shared<const SafetensorsFile>(f);
    for (const auto& t : shard->tensors()) {
      std::optional<std::string> name = language_model_name(t.name);
      if (!name) continue;  // a vision tower's tensor
      if (m.spec_.arch == Architecture::NemotronH) *name = nemotron_h_name(*name, m.spec_);
      for (const TensorRename& r : family_of(m.spec_.arch).hf_renames) rename_part(*name, r);
      if (!m.tensors_.emplace(*name, t).second) {
        throw ModelError(f.string() + ": tensor '" + t.name + "' also appears in another shard");
      }
    }
    m.shards_.push_back(std::move(shard));
  }
  merge_generation_eos(dir / "generation_config.json", m.spec_.eos_token_ids);
  if (const std::optional<Fp8Blocks> fp8 = read_fp8_quantization(config)) convert_fp8_weights(*fp8, m.tensors_, m.owned_);
  m.transpose_conv1d_weights();
  m.regroup_qkv_by_group();
  m.use_backend_names();
  return m;
}

ModelFiles ModelFiles::open_gguf(const fs::path& file) {
  ModelFiles m;
  m.path_ = file;
  m.format_ = ModelFormat::Gguf;
  m.gguf_ = std::make_shared<const GgufFile>(file);
  m.spec_ = spec_from_gguf(*m.gguf_);
  for (const auto& t : m.gguf_->tensors()) {
    if (auto hf = hf_name_from_gguf(t.name, family_of(m.spec_.arch))) m.tensors_.emplace(*hf, t);
  }
  m.use_backend_names();
  m.serve_xielu_params();
  m.falcon_gguf_norms();
  return m;
}

// Falcon 40B's and 180B's GGUFs (two norms in a layer) name the attention's norm (ln_attn) attn_norm_2 and
// the MLP's (ln_mlp) attn_norm, which Falcon 7B's (one norm) gives the attention and the MLP together:
// served as input_layernorm and post_attention_layernorm, the names their safetensors' have here.
void ModelFiles::falcon_gguf_norms() {
  for (int64_t i = 0; i < spec_.num_layers; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    for (const char* kind : {"weight", "bias"}) {
      const auto second = tensors_.find(p + "attention_layernorm_2." + kind);
      if (second == tensors_.end()) continue;
      const auto first = tensors_.find(p + "input_layernorm." + kind);
      if (first == tensors_.end()) throw ModelError(path_.string() + ": blk." + std::to_string(i) + ".attn_norm_2 without attn_norm");
      tensors_[p + "post_attention_layernorm." + kind] = first->second;
      tensors_[p + "input_layernorm." + kind] = second->second;
      tensors_.erase(p + "attention_layernorm_2." + kind);
    }
  }
}

// Apertus's xIELU parameters are tensors of each layer in its safetensors (mlp.act_fn.alpha_p, alpha_n,
// beta, eps) and per-layer metadata arrays in llama.cpp's GGUF (xielu.alpha_p, ...): served here as the
// former, one float32 scalar each, so that backends read one layout.
void ModelFiles::serve_xielu_params() {
  if (spec_.activation != Activation::Xielu) return;
  for (const char* param : {"alpha_p", "alpha_n", "beta", "eps"}) {
    const std::string key = std::string("xielu.") + param;
    const std::optional<std::vector<double>> values = gguf_->get_float_array(key);
    if (!values || static_cast<int64_t>(values->size()) != spec_.num_layers) {
      throw ModelError(path_.string() + ": " + key + " must list one value per layer (" + std::to_string(spec_.num_layers) + ")");
    }
    for (int64_t i = 0; i < spec_.num_layers; ++i) {
      auto bytes = std::make_shared<std::vector<std::byte>>(sizeof(float));
      const auto value = static_cast<float>((*values)[static_cast<std::size_t>(i)]);
      std::memcpy(bytes->data(), &value, sizeof(float));
      tensors_["model.layers." + std::to_string(i) + ".mlp.act_fn." + param] =
          TensorView{key + "[" + std::to_string(i) + "]", DType::F32, {1}, std::span<const std::byte>(bytes->data(), bytes->size()),
                     path_.string()};
      owned_.push_back(std::move(bytes));
    }
  }
}

// What either format stores fused, stacked, reordered or shaped otherwise, under the names and
// shapes decoder_layout gives the backends. Each step changes only the tensors it finds, so every
// model goes through all of them, whatever its format and family.
void ModelFiles::use_backend_names() {
  split_fused_projections();
  split_stacked_experts();
  split_latent_heads();
  if (spec_.arch == Architecture::GptOss) split_gpt_oss_experts(spec_, tensors_, owned_);
  if (spec_.arch == Architecture::Qwen3Next) split_qwen3_next_projections(spec_, tensors_, owned_);
  split_fused_experts();
  squeeze_selection_biases();
  stack_head_norms();
  split_altup_projections();
}

// StableLM 2 12B's q and k norms are a LayerNorm per head, each its own tensor
// (self_attn.q_layernorm.norms.H.weight, [head_dim]); llama.cpp's GGUF stacks them, [heads,
// head_dim], as self_attn.q_norm.weight is served here too. The heads' weights are copied side by
// side into one float32 tensor of that name.
void ModelFiles::stack_head_norms() {
  for (int64_t i = 0; i < spec_.num_layers; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".self_attn.";
    for (const auto& [stored, served, heads] : {std::tuple{"q_layernorm", "q_norm", spec_.num_heads},
                                                std::tuple{"k_layernorm", "k_norm", spec_.num_kv_heads}}) {
      const std::string first = p + stored + ".norms.0.weight";
      if (find(first) == nullptr) continue;
      auto bytes = std::make_shared<std::vector<std::byte>>(static_cast<std::size_t>(heads * spec_.head_dim) * sizeof(float));
      for (int64_t h = 0; h < heads; ++h) {
        const std::string name = p + stored + ".norms." + std::to_string(h) + ".weight";
        const std::vector<float> w = load_f32(name, {spec_.head_dim});
        std::memcpy(bytes->data() + h * spec_.head_dim * sizeof(float), w.data(), w.size() * sizeof(float));
        tensors_.erase(name);
      }
      TensorView stacked{p + stored + ".norms (stacked)", DType::F32, {heads, spec_.head_dim},
                         std::span<const std::byte>(bytes->data(), bytes->size()), path_.string()};
      owned_.push_back(std::move(bytes));
      tensors_[p + served + ".weight"] = std::move(stacked);
    }
  }
}

// Phi-3 stores q | k | v as the rows of one qkv_proj and gate | up as those of one gate_up_proj
// (GLM-4 and Granite 4.0-H's safetensors only the latter, Granite's under its own name, renamed).
// A matrix's rows are contiguous (a quantized row is whole blocks), so each part is a view of the
// same bytes under the name the other families give it, and backends see no fused tensor. Every
// fused tensor a model has is split, whatever its family.
void ModelFiles::split_fused_projections() {
  for (int64_t i = 0; i < spec_.num_layers; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    for (const std::string kind : {".weight", ".bias"}) {  // a bias's rows are its values
      if (find(p + "self_attn.qkv_proj" + kind) == nullptr) continue;
      split_rows(p + "self_attn.qkv_proj" + kind, {{p + "self_attn.q_proj" + kind, spec_.q_width()},
                                                   {p + "self_attn.k_proj" + kind, spec_.kv_width()},
                                                   {p + "self_attn.v_proj" + kind, spec_.kv_width()}});
    }
    // Gate and up are halves of its rows (a shared MLP's width is not the dense one's).
    if (const TensorView* gate_up = find(p + "mlp.gate_up_proj.weight"); gate_up != nullptr) {
      const int64_t half = gate_up->shape.size() == 2 ? gate_up->shape[0] / 2 : 0;
      if (half == 0 || gate_up->shape[0] % 2 != 0) {
        throw ModelError(gate_up->file + ": tensor '" + gate_up->name + "' has shape " + shape_string(gate_up->shape) +
                         ", expected [2 × width, hidden] (gate's rows, then up's)");
      }
      split_rows(p + "mlp.gate_up_proj.weight", {{p + "mlp.gate_proj.weight", half}, {p + "mlp.up_proj.weight", half}});
    }
  }
}

// GGUF stores each projection of a layer's experts as one [experts, rows, cols] tensor (llama.cpp's
// ffn_gate_exps, ...), which hf_name_from_gguf names <block>.experts.<gate|up|down>.weight. Expert
// E's matrix is the E-th run of rows: a view of the same bytes under the name a Hugging Face
// checkpoint gives it, so backends and tensor-parallel sharding see one matrix per expert.
void ModelFiles::split_latent_heads() {
  troupe::split_latent_heads(
      spec_, [&](const std::string& name) { return find(name) != nullptr; },
      [&](const std::string& stacked, const RowParts& parts) { split_rows(stacked, parts); });
}

// transformers 5 holds a layer's experts as two 3-D tensors, and checkpoints saved from it (Qwen3.5's
// mixtures of experts; Granite's, renamed) store them so: <block>.experts.gate_up_proj
// [experts, 2 × width, hidden], expert E's gate rows then its up rows, and <block>.experts.down_proj
// [experts, hidden, width]. Each expert's matrices are runs of rows: views under the per-expert
// names. (gpt-oss's fused experts are laid out otherwise: split_gpt_oss_experts.)
void ModelFiles::split_fused_experts() {
  if (!spec_.moe || spec_.arch == Architecture::GptOss) return;
  const ExpertNames& n = family_of(spec_.arch).expert_names;
  const int64_t experts = spec_.moe->num_experts, width = spec_.moe->intermediate_size, hidden = spec_.hidden_size;
  // Qwen3-VL-MoE's checkpoints (saved by transformers 4) hold them input-major, [experts, hidden, 2 ×
  // width] and [experts, width, hidden]: each expert's matrix transposed into a buffer of our own
  // first, as transformers 5 transposes them at load.
  const auto output_major = [&](const std::string& name, int64_t rows, int64_t cols) {
    const TensorView* t = find(name);
    if (t == nullptr || t->shape != std::vector<int64_t>{experts, cols, rows} || rows == cols) return;
    transpose_matrices(name, experts, {experts, rows, cols});
  };
  for (int64_t i = 0; i < spec_.num_layers; ++i) {
    const std::string block = "model.layers." + std::to_string(i) + "." + std::string(n.block) + ".experts.";
    const auto expert = [&](int64_t e, std::string_view kind) {
      return block + std::to_string(e) + "." + std::string(kind) + ".weight";
    };
    output_major(block + "gate_up_proj", 2 * width, hidden);
    output_major(block + "down_proj", hidden, width);
    if (const TensorView* gate_up = find(block + "gate_up_proj"); gate_up != nullptr) {
      check_shape(*gate_up, {experts, 2 * width, hidden});
      std::vector<std::pair<std::string, int64_t>> parts;
      for (int64_t e = 0; e < experts; ++e) {
        parts.emplace_back(expert(e, n.gate), width);
        parts.emplace_back(expert(e, n.up), width);
      }
      split_rows(block + "gate_up_proj", parts);
    }
    if (const TensorView* down = find(block + "down_proj"); down != nullptr) {
      check_shape(*down, {experts, hidden, width});
      std::vector<std::pair<std::string, int64_t>> parts;
      for (int64_t e = 0; e < experts; ++e) parts.emplace_back(expert(e, n.down), hidden);
      split_rows(block + "down_proj", parts);
    }
  }
}

// `name` holds `matrices` matrices of [cols, rows] one after another (elements of a float type): each
// is transposed into [rows, cols], in a buffer of our own, served as `name` of `shape`.
void ModelFiles::transpose_matrices(const std::string& name, int64_t matrices, const std::vector<int64_t>& shape) {
  const TensorView& t = tensor(name);
  const int64_t rows = shape[shape.size() - 2], cols = shape.back();
  const auto element = static_cast<std::size_t>(dtype_block_bytes(t.dtype));
  if (dtype_block_elements(t.dtype) != 1 || t.elements() != matrices * rows * cols) {
    throw ModelError(t.file + ": tensor '" + t.name + "' has shape " + shape_string(t.shape) + ", expected " +
                     std::to_string(matrices) + " × [" + std::to_string(cols) + ", " + std::to_string(rows) +
                     "] of a float type (stored input-major)");
  }
  auto bytes = std::make_shared<std::vector<std::byte>>(t.data.size());
  for (int64_t m = 0; m < matrices; ++m) {
    const std::byte* in = t.data.data() + m * rows * cols * element;
    std::byte* out = bytes->data() + m * rows * cols * element;
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t c = 0; c < cols; ++c) std::memcpy(out + (r * cols + c) * element, in + (c * rows + r) * element, element);
    }
  }
  TensorView transposed = t;
  transposed.shape = shape;
  transposed.data = std::span<const std::byte>(bytes->data(), bytes->size());
  owned_.push_back(std::move(bytes));
  tensors_[name] = std::move(transposed);
}

// GPT-2's safetensors hold each projection as Conv1D's weight, [in, out] (transformers computes
// x W + b): transposed into the [out, in] every backend reads. llama.cpp's GGUF holds them so already.
void ModelFiles::transpose_conv1d_weights() {
  if (!family_of(spec_.arch).conv1d_weights) return;
  for (int64_t i = 0; i < spec_.num_layers; ++i) {
    for (const char* part : {"self_attn.qkv_proj", "self_attn.o_proj", "mlp.up_proj", "mlp.down_proj"}) {
      const std::string name = "model.layers." + std::to_string(i) + "." + part + ".weight";
      const TensorView* t = find(name);
      if (t == nullptr || t->shape.size() != 2) continue;  // a missing tensor is reported where a backend reads it
      transpose_matrices(name, 1, {t->shape[1], t->shape[0]});
    }
  }
}

// Falcon's and GPT-NeoX's query_key_value go by key/value group: of its rows (and its bias's values),
// group g's are its heads / kv_heads query heads, then its key head, then its value head, d rows each
// (GPT-NeoX: a group per head, q k v; Falcon-7B: one group, every q then k and v). Regrouped here into
// q | k | v, which split_fused_projections serves as the three projections.
void ModelFiles::regroup_qkv_by_group() {
  // One group (Falcon-7B's multi_query) is q | k | v already.
  if (!family_of(spec_.arch).qkv_by_group || spec_.num_kv_heads == 1) return;
  const int64_t heads = spec_.num_heads, groups = spec_.num_kv_heads, d = spec_.head_dim;
  const int64_t per_group = heads / std::max<int64_t>(groups, 1), rows = (heads + 2 * groups) * d;
  for (int64_t i = 0; i < spec_.num_layers; ++i) {
    for (const std::string kind : {".weight", ".bias"}) {
      const std::string name = "model.layers." + std::to_string(i) + ".self_attn.qkv_proj" + kind;
      const TensorView* t = find(name);
      if (t == nullptr) continue;
      if (groups <= 0 || heads % groups != 0 || t->shape.empty() || t->shape[0] != rows) {
        throw ModelError(t->file + ": tensor '" + t->name + "' has shape " + shape_string(t->shape) + ", expected " +
                         std::to_string(rows) + " rows (" + std::to_string(heads) + " query heads and " +
                         std::to_string(groups) + " key/value heads of " + std::to_string(d) + ")");
      }
      const std::size_t row = t->data.size() / static_cast<std::size_t>(rows);  // whole rows, whatever the type
      auto bytes = std::make_shared<std::vector<std::byte>>(t->data.size());
      // `count` heads' rows from head block `from` of the stored order to head block `to` of q | k | v.
      const auto copy = [&, out = bytes->data()](int64_t to, int64_t from, int64_t count) {
        std::memcpy(out + static_cast<std::size_t>(to * d) * row, t->data.data() + static_cast<std::size_t>(from * d) * row,
                    static_cast<std::size_t>(count * d) * row);
      };
      for (int64_t g = 0; g < groups; ++g) {
        const int64_t from = g * (per_group + 2);  // in head-sized blocks of rows
        copy(g * per_group, from, per_group);               // its query heads
        copy(heads + g, from + per_group, 1);               // its key head
        copy(heads + groups + g, from + per_group + 1, 1);  // its value head
      }
      TensorView regrouped = *t;
      regrouped.data = std::span<const std::byte>(bytes->data(), bytes->size());
      owned_.push_back(std::move(bytes));
      tensors_[name] = std::move(regrouped);
    }
  }
}

// ERNIE 4.5 keeps its routers' selection bias as [1, experts] (one group; llama.cpp's GGUF too):
// the same bytes as the [experts] vector the others store.
void ModelFiles::squeeze_selection_biases() {
  if (!spec_.moe || !spec_.moe->selection_bias) return;
  const ExpertNames& n = family_of(spec_.arch).expert_names;
  for (int64_t i = 0; i < spec_.num_layers; ++i) {
    const auto it = tensors_.find("model.layers." + std::to_string(i) + "." + std::string(n.block) + "." +
                                  std::string(n.selection_bias));
    if (it != tensors_.end() && it->second.shape.size() == 2 && it->second.shape[0] == 1) {
      it->second.shape = {it->second.shape[1]};
    }
  }
}

void ModelFiles::split_stacked_experts() {
  if (!spec_.moe) return;
  const ExpertNames& n = family_of(spec_.arch).expert_names;
  for (int64_t i = 0; i < spec_.num_layers; ++i) {
    if (!spec_.sparse_mlp(i)) continue;
    const std::string block = "model.layers." + std::to_string(i) + "." + std::string(n.block) + ".experts.";
    for (const std::string_view kind : {n.gate, n.up, n.down}) {
      const std::string stacked = block + std::string(kind) + ".weight";
      const TensorView* t = find(stacked);
      if (t == nullptr) continue;  // one tensor per expert already
      if (t->shape.size() != 3 || t->shape[0] != spec_.moe->num_experts) {
        throw ModelError(t->file + ": tensor '" + t->name + "' has shape " + shape_string(t->shape) + ", expected [" +
                         std::to_string(spec_.moe->num_experts) + ", rows, cols] (one matrix per expert)");
      }
      std::vector<std::pair<std::string, int64_t>> parts;
      for (int64_t e = 0; e < spec_.moe->num_experts; ++e) {
        parts.emplace_back(block + std::to_string(e) + "." + std::string(kind) + ".weight", t->shape[1]);
      }
      split_rows(stacked, parts);
    }
  }
}

// Gemma 3n's stream projections as llama.cpp's converter stacks them, [streams − 1, hidden, hidden]:
// one row view per stream under Hugging Face's names (model.altup_projections.0.weight, ...).
void ModelFiles::split_altup_projections() {
  for (const std::string stem : {"model.altup_projections", "model.altup_unembed_projections"}) {
    if (spec_.altup_streams == 0 || find(stem + ".weight") == nullptr) continue;
    std::vector<std::pair<std::string, int64_t>> parts;
    for (int64_t i = 0; i + 1 < spec_.altup_streams; ++i) parts.emplace_back(stem + "." + std::to_string(i) + ".weight", spec_.hidden_size);
    split_rows(stem + ".weight", parts);
  }
}

// `fused` is [rows, cols], or [n, rows / n, cols] (its rows stacked in n runs); `parts` name
// consecutive runs of its rows.
void ModelFiles::split_rows(const std::string& fused, const std::vector<std::pair<std::string, int64_t>>& parts) {
  const TensorView whole = tensor(fused);
  int64_t rows = 0;
  for (const auto& part : parts) rows += part.second;
  // A vector (a fused bias) is rows of one value each.
  const bool vector = whole.shape.size() == 1;
  const int64_t stored_rows = whole.shape.size() == 3 ? whole.shape[0] * whole.shape[1]
                              : whole.shape.size() == 2 || vector ? whole.shape[0] : -1;
  if (stored_rows != rows) {
    throw ModelError(whole.file + ": tensor '" + whole.name + "' has shape " + shape_string(whole.shape) + ", expected " +
                     std::to_string(rows) + " rows of " + std::to_string(whole.row_length()) + " (its parts' rows stacked)");
  }
  const int64_t row_length = vector ? 1 : whole.row_length();
  const auto row_bytes = static_cast<std::size_t>(dtype_bytes_for(whole.dtype, row_length));
  int64_t first = 0;
  for (const auto& [name, count] : parts) {
    TensorView view = whole;
    view.name = whole.name + " rows " + std::to_string(first) + ".." + std::to_string(first + count - 1);
    view.shape = vector ? std::vector<int64_t>{count} : std::vector<int64_t>{count, row_length};
    view.data = whole.data.subspan(static_cast<std::size_t>(first) * row_bytes, static_cast<std::size_t>(count) * row_bytes);
    tensors_[name] = std::move(view);
    first += count;
  }
  tensors_.erase(fused);
}

const TensorView* ModelFiles::find(const std::string& hf_name) const {
  auto it = tensors_.find(hf_name);
  return it == tensors_.end() ? nullptr : &it->second;
}

const TensorView& ModelFiles::tensor(const std::string& hf_name) const {
  if (const TensorView* t = find(hf_name)) return *t;
  throw ModelError(path_.string() + ": the model has no tensor " + hf_name + " (expected for a " +
                   std::string(architecture_name(spec_.arch)) + " model)");
}

void ModelFiles::check_shape(const TensorView& t, const std::vector<int64_t>& shape) const {
  if (t.shape != shape) {
    throw ModelError(t.file + ": tensor '" + t.name + "' has shape " + shape_string(t.shape) +
                     ", expected " + shape_string(shape));
  }
}

// The q/k heads whose rows the file stores in RoPE's interleaved pair order (a llama GGUF; Cohere's
// and GLM-4's checkpoints in any format), or 0 when `hf_name` is not one of them.
int64_t ModelFiles::permuted_rope_heads(const std::string& hf_name) const {
  const ModelFamily& family = family_of(spec_.arch);
  if (!family.interleaved_qk && (format_ != ModelFormat::Gguf || !family.gguf_permuted_qk)) return 0;
  if (hf_name.find("self_attn.q_proj.") != std::string::npos) return spec_.num_heads;
  if (hf_name.find("self_attn.k_proj.") != std::string::npos) return spec_.num_kv_heads;
  return 0;
}

std::vector<float> ModelFiles::load_f32(const std::string& hf_name, const std::vector<int64_t>& shape) const {
  const TensorView& t = tensor(hf_name);
  check_shape(t, shape);
  std::vector<float> values = tensor_to_f32(t);
  if (const int64_t heads = permuted_rope_heads(hf_name)) {
    const int64_t row_len = shape.size() == 2 ? shape[1] : 1;
    values = unpermute_rope_rows(values, heads, spec_.head_dim, spec_.rotary_dims(),
                                 row_len * static_cast<int64_t>(sizeof(float)));
  }
  return values;
}

ModelFiles::MappedTensor ModelFiles::mapped(const std::string& hf_name) const {
  const TensorView& t = tensor(hf_name);
  for (const auto& buffer : owned_) {
    if (t.data.data() >= buffer->data() && t.data.data() < buffer->data() + buffer->size()) return {t, buffer};
  }
  if (gguf_) return {t, gguf_};
  for (const auto& shard : shards_) {
    if (shard->path().string() == t.file) return {t, shard};
  }
  throw ModelError(path_.string() + ": tensor " + hf_name + " is in no file this model holds");
}

void ModelFiles::release_pages(const std::string& hf_name) const {
  const TensorView& t = tensor(hf_name);
  for (const auto& buffer : owned_) {  // not a file's pages: dropping them would lose the bytes
    if (t.data.data() >= buffer->data() && t.data.data() < buffer->data() + buffer->size()) return;
  }
  static const auto page = static_cast<std::uintptr_t>(sysconf(_SC_PAGESIZE));
  const auto begin = reinterpret_cast<std::uintptr_t>(t.data.data());
  const std::uintptr_t first = (begin + page - 1) / page * page, last = (begin + t.data.size()) / page * page;
  // Advice only: a failure leaves the pages resident, which is merely what happens without it.
  if (last > first) madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED);
}

std::size_t ModelFiles::drop_rearranged() {
  std::size_t bytes = 0;
  for (const auto& buffer : owned_) {
    bytes += buffer->size();
    std::erase_if(tensors_, [&](const auto& entry) {
      const std::byte* at = entry.second.data.data();
      return at >= buffer->data() && at < buffer->data() + buffer->size();
    });
  }
  owned_.clear();
  return bytes;
}

StoredRows ModelFiles::load_stored(const std::string& hf_name, const std::vector<int64_t>& shape) const {
  const TensorView& t = tensor(hf_name);
  check_shape(t, shape);
  StoredRows rows{t.dtype, std::vector<std::byte>(t.data.begin(), t.data.end())};
  if (const int64_t heads = permuted_rope_heads(hf_name)) {
    const auto row_bytes = static_cast<int64_t>(dtype_bytes_for(t.dtype, t.row_length()));
    rows.bytes = unpermute_rope_rows(rows.bytes, heads, spec_.head_dim, spec_.rotary_dims(), row_bytes);
  }
  return rows;
}

}  // namespace troupe
