#include <boost/json.hpp>
#include <fstream>
#include <sstream>

#include "common/error.hpp"
#include "model/config_readers.hpp"

namespace troupe {

namespace json = boost::json;

namespace {

class ConfigView {
 public:
  ConfigView(const json::object& o, std::string source) : o_(o), source_(std::move(source)) {}

  const json::value* find(std::string_view key) const {
    auto it = o_.find(key);
    return (it == o_.end() || it->value().is_null()) ? nullptr : &it->value();
  }
  int64_t integer(std::string_view key) const {
    auto v = optional_integer(key);
    if (!v) fail("missing \"" + std::string(key) + "\"");
    return *v;
  }
  std::optional<int64_t> optional_integer(std::string_view key) const {
    const json::value* v = find(key);
    if (!v) return std::nullopt;
    try {
      return v->to_number<int64_t>();
    } catch (const std::exception&) {
      fail("\"" + std::string(key) + "\" is not an integer");
    }
  }
  std::optional<double> number(std::string_view key) const {
    const json::value* v = find(key);
    if (!v) return std::nullopt;
    try {
      return v->to_number<double>();
    } catch (const std::exception&) {
      fail("\"" + std::string(key) + "\" is not a number");
    }
  }
  std::optional<bool> boolean(std::string_view key) const {
    const json::value* v = find(key);
    if (!v) return std::nullopt;
    if (!v->is_bool()) fail("\"" + std::string(key) + "\" is not true/false");
    return v->as_bool();
  }
  std::optional<std::string> string(std::string_view key) const {
    const json::value* v = find(key);
    if (!v) return std::nullopt;
    if (!v->is_string()) fail("\"" + std::string(key) + "\" is not a string");
    return std::string(v->as_string());
  }
  [[noreturn]] void fail(const std::string& msg) const { throw ModelError(source_ + ": " + msg); }
  const std::string& source() const { return source_; }

 private:
  const json::object& o_;
  std::string source_;
};

std::vector<int32_t> token_ids(const json::value* v) {
  std::vector<int32_t> ids;
  if (!v) return ids;
  if (v->is_array()) {
    for (const auto& x : v->as_array()) ids.push_back(x.to_number<int32_t>());
  } else {
    ids.push_back(v->to_number<int32_t>());
  }
  return ids;
}

// transformers 4 writes rope_theta + rope_scaling at the top level; transformers 5 writes
// rope_parameters holding rope_type, rope_theta and the scaling fields.
void read_rope(const ConfigView& cfg, RopeSpec& rope) {
  const json::object* params = nullptr;
  if (const json::value* p = cfg.find("rope_parameters"); p && p->is_object()) params = &p->as_object();
  if (auto theta = cfg.number("rope_theta")) rope.theta = *theta;
  const json::object* scaling = nullptr;
  if (const json::value* s = cfg.find("rope_scaling"); s && s->is_object()) scaling = &s->as_object();
  if (params) {
    ConfigView p(*params, cfg.source() + " rope_parameters");
    if (auto theta = p.number("rope_theta")) rope.theta = *theta;
    scaling = params;
  }
  if (!scaling) return;
  ConfigView s(*scaling, cfg.source() + " rope scaling");
  std::string type = s.string("rope_type").value_or(s.string("type").value_or("default"));
  rope.type = type;
  if (type == "default") return;
  if (type != "linear" && type != "llama3") {
    cfg.fail("rope scaling type \"" + type + "\" is not supported (supported: default, linear, llama3)");
  }
  rope.factor = s.number("factor").value_or(1.0);
  if (type == "llama3") {
    rope.low_freq_factor = s.number("low_freq_factor").value_or(1.0);
    rope.high_freq_factor = s.number("high_freq_factor").value_or(4.0);
    rope.original_max_position = s.integer("original_max_position_embeddings");
  }
}

}  // namespace

ModelSpec spec_from_hf_config(const json::object& config, const std::string& source) {
  ConfigView cfg(config, source);
  ModelSpec spec;
  const std::string model_type = cfg.string("model_type").value_or("");
  if (model_type == "llama") {
    spec.arch = Architecture::Llama;
  } else if (model_type == "qwen2") {
    spec.arch = Architecture::Qwen2;
  } else if (model_type == "qwen3") {
    spec.arch = Architecture::Qwen3;
  } else {
    cfg.fail("model_type \"" + model_type + "\" is not supported (supported: llama, qwen2, qwen3)");
  }
  spec.hidden_size = cfg.integer("hidden_size");
  spec.intermediate_size = cfg.integer("intermediate_size");
  spec.num_layers = cfg.integer("num_hidden_layers");
  spec.num_heads = cfg.integer("num_attention_heads");
  spec.num_kv_heads = cfg.optional_integer("num_key_value_heads").value_or(spec.num_heads);
  spec.head_dim = cfg.optional_integer("head_dim").value_or(spec.num_heads > 0 ? spec.hidden_size / spec.num_heads : 0);
  spec.vocab_size = cfg.integer("vocab_size");
  spec.max_position = cfg.integer("max_position_embeddings");
  spec.rms_eps = cfg.number("rms_norm_eps").value_or(1e-6);
  spec.tie_word_embeddings = cfg.boolean("tie_word_embeddings").value_or(false);
  read_rope(cfg, spec.rope);

  const std::string act = cfg.string("hidden_act").value_or("silu");
  if (act != "silu") cfg.fail("hidden_act \"" + act + "\" is not supported (troupe runs SiLU-gated MLPs)");
  if (cfg.boolean("mlp_bias").value_or(false)) cfg.fail("mlp_bias = true is not supported");
  switch (spec.arch) {
    case Architecture::Llama:
      spec.attention_bias = cfg.boolean("attention_bias").value_or(false);
      break;
    case Architecture::Qwen2:
      spec.attention_bias = true;  // Qwen2 always has q/k/v biases
      break;
    case Architecture::Qwen3:
      spec.attention_bias = cfg.boolean("attention_bias").value_or(false);
      spec.qk_norm = true;
      break;
  }
  if (const json::value* bos = cfg.find("bos_token_id")) spec.bos_token_id = bos->to_number<int32_t>();
  spec.eos_token_ids = token_ids(cfg.find("eos_token_id"));
  spec.name = cfg.string("_name_or_path").value_or("");
  spec.validate(source);
  return spec;
}

ModelSpec spec_from_hf_config_file(const std::filesystem::path& config_json) {
  std::ifstream in(config_json);
  if (!in) throw ModelError("cannot read " + config_json.string());
  std::stringstream ss;
  ss << in.rdbuf();
  json::value v;
  try {
    v = json::parse(ss.str());
  } catch (const std::exception& e) {
    throw ModelError(config_json.string() + ": not valid JSON: " + e.what());
  }
  if (!v.is_object()) throw ModelError(config_json.string() + ": not a JSON object");
  return spec_from_hf_config(v.as_object(), config_json.string());
}

}  // namespace troupe
