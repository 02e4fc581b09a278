#pragma once
// Turning a model's own configuration into a ModelSpec: Hugging Face `config.json` (both the
// transformers 4 and 5 spellings) or GGUF metadata.
#include <boost/json/fwd.hpp>
#include <filesystem>

#include "model/gguf_file.hpp"
#include "model/model_spec.hpp"

namespace troupe {

// `source` names the file in error messages. Unsupported architectures, missing sizes and
// unsupported options (activation, rope scaling, MLP bias) throw ModelError.
ModelSpec spec_from_hf_config(const boost::json::object& config, const std::string& source);
ModelSpec spec_from_hf_config_file(const std::filesystem::path& config_json);

// Sizes come from `<arch>.*` keys; biases, q/k norms and tied embeddings from which tensors exist.
ModelSpec spec_from_gguf(const GgufFile& gguf);

}  // namespace troupe
