#pragma once
// Element types of weight tensors, across safetensors and GGUF. Quantized types store blocks of
// `block_elements()` values in `block_bytes()` bytes; a tensor row always holds whole blocks.
#include <cstdint>
#include <optional>
#include <string_view>

namespace troupe {

enum class DType {
  F32, F16, BF16,
  Q4_0, Q4_1, Q5_0, Q5_1, Q8_0,
  Q4_K, Q5_K, Q6_K,
  Q2_K, Q3_K, IQ4_NL, IQ4_XS,
  // GGML's lattice types (model/iq_quants.hpp): 256-weight blocks of indices into fixed tables.
  IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S, IQ1_S, IQ1_M,
  MXFP4,
  // MXFP4's values with a float16 scale, in IQ4_NL's block layout (f16 d + 16 nibble bytes): the CPU
  // backend's form of MXFP4 blocks (mxfp4_to_f16_scale), which its IQ4_NL kernels multiply with
  // MXFP4's table. No file stores it.
  MXFP4_F16,
  // FP8 (e4m3) values, one byte each, of a block-scaled FP8 checkpoint (model/fp8_weights.hpp),
  // which ModelFiles converts at load; no backend reads it.
  F8_E4M3,
  U8,  // raw bytes (safetensors' U8: gpt-oss's MXFP4 blocks and scales as Hugging Face stores them)
};

std::string_view dtype_name(DType t);
int64_t dtype_block_elements(DType t);  // 1 for F32/F16/BF16, 32 for legacy quants, IQ4_NL and MXFP4, 256 for K-quants and the other IQ types
int64_t dtype_block_bytes(DType t);     // bytes of one block

// Bytes taken by `elements` values; throws std::invalid_argument if not a whole number of blocks.
uint64_t dtype_bytes_for(DType t, int64_t elements);

// GGML's numbering, as stored in GGUF tensor infos. nullopt for types troupe does not read.
std::optional<DType> dtype_from_ggml(uint32_t ggml_type);
uint32_t dtype_to_ggml(DType t);
// The name GGML uses for a type id, for error messages about unsupported types ("IQ2_XXS", ...).
std::string_view ggml_type_name(uint32_t ggml_type);

// safetensors' dtype strings ("F32", "F16", "BF16", "F8_E4M3", "U8"). nullopt for anything else.
std::optional<DType> dtype_from_safetensors(std::string_view name);

}  // namespace troupe
