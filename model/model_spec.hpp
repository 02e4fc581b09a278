#pragma once
// The shape of a decoder-only transformer, whatever file it came from. Everything a backend needs
// to size buffers and run the forward pass; nothing about where the weights live.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace troupe {

enum class Architecture { Llama, Qwen2, Qwen3 };

std::string_view architecture_name(Architecture a);

// Rotary position embedding. Frequencies follow Hugging Face's half-split ("neox") rotation:
// dimension i of the first half pairs with i + head_dim/2.
struct RopeSpec {
  double theta = 10000.0;
  std::string type = "default";      // default | linear | llama3
  double factor = 1.0;               // linear and llama3
  double low_freq_factor = 1.0;      // llama3
  double high_freq_factor = 4.0;     // llama3
  int64_t original_max_position = 0; // llama3
  // Per-frequency divisors, as GGUF stores llama3 scaling (tensor rope_freqs.weight); when
  // present they replace the formula above. head_dim/2 entries.
  std::vector<float> freq_divisors;
};

struct ModelSpec {
  Architecture arch = Architecture::Llama;
  int64_t num_layers = 0;
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t num_heads = 0;
  int64_t num_kv_heads = 0;
  int64_t head_dim = 0;
  int64_t vocab_size = 0;
  int64_t max_position = 0;  // the model's trained context length
  RopeSpec rope;
  double rms_eps = 1e-6;
  bool attention_bias = false;  // q/k/v projections carry biases (Qwen2)
  bool qk_norm = false;         // per-head RMSNorm on q and k before RoPE (Qwen3)
  bool tie_word_embeddings = false;
  std::optional<int32_t> bos_token_id;
  std::vector<int32_t> eos_token_ids;  // any of them ends generation
  std::string name;                    // a human-readable model name, for logs and /v1/models

  int64_t q_width() const { return num_heads * head_dim; }
  int64_t kv_width() const { return num_kv_heads * head_dim; }

  // Throws ModelError (prefixed with `source`) when sizes are missing or inconsistent.
  void validate(const std::string& source) const;
};

// Inverse frequencies (radians per position) for the head_dim/2 rotation pairs, with scaling.
std::vector<double> rope_inverse_frequencies(const ModelSpec& spec);

}  // namespace troupe
