#pragma once
// Which layers of a GGUF model slide, and other per-layer flags, as llama.cpp reads them from the
// metadata (spec_from_gguf and the family readers beside it).
#include <optional>
#include <string>
#include <vector>

#include "model/gguf_file.hpp"
#include "model/model_spec.hpp"

namespace troupe::gguf_readers {

// A per-layer array of flags at `key` (booleans, or integers read as nonzero), or nullopt when the
// key holds no array; an array that does not list every layer is an error.
std::optional<std::vector<bool>> per_layer_flags(const GgufFile& gguf, const std::string& key, int64_t layers);

// Which layers slide, as llama.cpp reads attention.sliding_window_pattern: a per-layer array
// (true: sliding), or a period n (every n-th layer global), `default_period` when absent; the sliding
// ones see `window` positions (ModelSpec::layer_window).
void read_window_pattern(const GgufFile& gguf, const std::string& arch, int64_t window, int64_t default_period,
                         ModelSpec& spec);

}  // namespace troupe::gguf_readers
