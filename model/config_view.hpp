#pragma once
// A view of a config.json object for the readers of model/hf_config.cpp and model/hybrid_configs.cpp:
// typed fields with messages that name the file and the key, null fields counted as absent.
#include <boost/json.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace troupe::config_json {

namespace json = boost::json;

class ConfigView {
 public:
  ConfigView(const json::object& o, std::string source) : o_(o), source_(std::move(source)) {}

  const json::value* find(std::string_view key) const {
    auto it = o_.find(key);
    return (it == o_.end() || it->value().is_null()) ? nullptr : &it->value();
  }
  bool present(std::string_view key) const { return o_.find(key) != o_.end(); }  // null counts
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
  // A list of layer indices (Qwen3-MoE's mlp_only_layers, Llama 4's moe_layers), each below
  // `layers`; nullopt when the key holds no list.
  std::optional<std::vector<int64_t>> layer_indices(std::string_view key, int64_t layers) const {
    const json::value* v = find(key);
    if (!v || !v->is_array()) return std::nullopt;
    std::vector<int64_t> out;
    for (const json::value& layer : v->as_array()) {
      const int64_t i = layer.is_number() ? layer.to_number<int64_t>() : -1;
      if (i < 0 || i >= layers) fail(std::string(key) + " lists a layer that does not exist");
      out.push_back(i);
    }
    return out;
  }
  [[noreturn]] void fail(const std::string& msg) const { throw ModelError(source_ + ": " + msg); }
  const std::string& source() const { return source_; }

 private:
  const json::object& o_;
  std::string source_;
};

}  // namespace troupe::config_json
