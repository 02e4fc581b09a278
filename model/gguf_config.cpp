#include <algorithm>
#include <array>
#include <utility>

#include "common/error.hpp"
#include "model/config_readers.hpp"

namespace troupe {

namespace {

// Token texts that end a turn in the chat formats of the supported families. GGUF files record a
// single eos id (SmolLM2's is <|endoftext|>), yet chat models finish turns with these.
constexpr std::array<std::string_view, 5> kEndOfTurnTokens{
    "<|im_end|>", "<|eot_id|>", "<|endoftext|>", "<|end_of_text|>", "<|eom_id|>"};
constexpr int64_t kTokenTypeControl = 3;

}  // namespace

ModelSpec spec_from_gguf(const GgufFile& gguf) {
  const std::string source = gguf.path().string();
  auto fail = [&](const std::string& msg) -> void { throw ModelError(source + ": " + msg); };
  const std::string arch = gguf.get_string("general.architecture").value_or("");
  ModelSpec spec;
  if (arch == "llama") {
    spec.arch = Architecture::Llama;
  } else if (arch == "qwen2") {
    spec.arch = Architecture::Qwen2;
  } else if (arch == "qwen3") {
    spec.arch = Architecture::Qwen3;
  } else {
    fail("general.architecture \"" + arch + "\" is not supported (supported: llama, qwen2, qwen3)");
  }
  auto required = [&](const std::string& key) -> int64_t {
    auto v = gguf.get_int(arch + "." + key);
    if (!v) fail("missing metadata key " + arch + "." + key);
    return *v;
  };
  spec.num_layers = required("block_count");
  spec.hidden_size = required("embedding_length");
  spec.intermediate_size = required("feed_forward_length");
  spec.num_heads = required("attention.head_count");
  // Checked before they divide anything below (ModelSpec's own validation comes later).
  const std::array<std::pair<const char*, int64_t>, 4> dimensions{{{"block_count", spec.num_layers},
                                                                    {"embedding_length", spec.hidden_size},
                                                                    {"feed_forward_length", spec.intermediate_size},
                                                                    {"attention.head_count", spec.num_heads}}};
  for (const auto& [key, value] : dimensions) {
    if (value <= 0) fail(arch + "." + key + " is " + std::to_string(value) + ": it must be positive");
  }
  spec.num_kv_heads = gguf.get_int(arch + ".attention.head_count_kv").value_or(spec.num_heads);
  spec.head_dim = gguf.get_int(arch + ".attention.key_length").value_or(spec.hidden_size / spec.num_heads);
  spec.max_position = required("context_length");
  spec.rms_eps = gguf.get_float(arch + ".attention.layer_norm_rms_epsilon").value_or(1e-6);
  spec.rope.theta = gguf.get_float(arch + ".rope.freq_base").value_or(10000.0);
  if (auto type = gguf.get_string(arch + ".rope.scaling.type"); type && *type != "none") {
    if (*type != "linear") fail("rope scaling type \"" + *type + "\" is not supported (supported: linear)");
    spec.rope.type = "linear";
    spec.rope.factor = gguf.get_float(arch + ".rope.scaling.factor").value_or(1.0);
  }

  // llama3-style scaling is stored as per-frequency divisors rather than as parameters.
  if (const TensorView* freqs = gguf.find_tensor("rope_freqs.weight")) {
    spec.rope.freq_divisors = tensor_to_f32(*freqs);
    spec.rope.type = "llama3";
  }

  const TensorView* embd = gguf.find_tensor("token_embd.weight");
  if (!embd) fail("missing tensor token_embd.weight");
  const auto* tokens = gguf.get_string_array("tokenizer.ggml.tokens");
  spec.vocab_size = gguf.get_int(arch + ".vocab_size").value_or(embd->shape.front());

  spec.attention_bias = gguf.find_tensor("blk.0.attn_q.bias") != nullptr;
  spec.qk_norm = gguf.find_tensor("blk.0.attn_q_norm.weight") != nullptr;
  if (spec.arch == Architecture::Qwen3 && !spec.qk_norm) fail("qwen3 model lacks blk.0.attn_q_norm.weight");
  spec.tie_word_embeddings = gguf.find_tensor("output.weight") == nullptr;

  if (auto bos = gguf.get_int("tokenizer.ggml.bos_token_id")) spec.bos_token_id = static_cast<int32_t>(*bos);
  if (auto eos = gguf.get_int("tokenizer.ggml.eos_token_id")) spec.eos_token_ids.push_back(static_cast<int32_t>(*eos));
  if (auto eot = gguf.get_int("tokenizer.ggml.eot_token_id")) spec.eos_token_ids.push_back(static_cast<int32_t>(*eot));
  if (tokens) {
    auto types = gguf.get_int_array("tokenizer.ggml.token_type");
    for (std::size_t id = 0; id < tokens->size(); ++id) {
      bool control = types && id < types->size() && (*types)[id] == kTokenTypeControl;
      for (auto t : kEndOfTurnTokens) {
        if (control && (*tokens)[id] == t) spec.eos_token_ids.push_back(static_cast<int32_t>(id));
      }
    }
  }
  std::sort(spec.eos_token_ids.begin(), spec.eos_token_ids.end());
  spec.eos_token_ids.erase(std::unique(spec.eos_token_ids.begin(), spec.eos_token_ids.end()), spec.eos_token_ids.end());
  spec.name = gguf.get_string("general.name").value_or("");
  spec.validate(source);
  return spec;
}

}  // namespace troupe
