#pragma once
// The element type of the CPU backend's paged KV cache (`--kv-cache-dtype`). A cached row (one
// token's keys or values for one kv head, head_dim values) is stored as:
//   Float32  4 bytes a value: exact, the reference;
//   Float16  IEEE half (round to nearest even; llama.cpp's default cache type);
//   BFloat16 float32's top half (round to nearest even): float32's range, 8 bits of mantissa;
//   Fp8E4m3  OCP float8 e4m3fn (vLLM's `fp8`): 1 sign, 4 exponent (bias 7), 3 mantissa bits, no
//            infinity, largest finite 448; larger magnitudes saturate to ±448 (as vLLM's kernels
//            do with scale 1.0 and no calibration);
//   Q8_0     llama.cpp's block of 32: a half scale d = max|x| / 127 and 32 int8 q = round(x / d)
//            (ties away from zero): 34 bytes per 32 values.
// Every stored value decodes to a float32 exactly, so each fast decoder must equal the scalar
// kv_decode_row bit for bit; attention always computes in float32.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace troupe::cpu {

enum class KvDtype { Float32, Float16, BFloat16, Fp8E4m3, Q8_0 };

// vLLM's spellings (float32/fp32, float16/fp16/half, bfloat16/bf16, fp8/fp8_e4m3) and llama.cpp's
// q8_0, case-sensitive as vLLM's choices are. "auto" is the caller's to resolve (see
// resolve_kv_dtype). Throws std::invalid_argument naming the accepted values.
KvDtype parse_kv_dtype(std::string_view name);

// "auto" becomes the dtype of the model's own float weights, as vLLM's auto does: `model_dtype`
// is float32, float16 or bfloat16 (a quantized GGUF's is float16, llama.cpp's cache default).
KvDtype resolve_kv_dtype(std::string_view name, std::string_view model_dtype);

const char* kv_dtype_name(KvDtype dtype);

// Bytes of one cached row of `head_dim` values.
int64_t kv_row_bytes(KvDtype dtype, int64_t head_dim);

// Empty when rows of `head_dim` values can be stored as `dtype`, else why not (Q8_0 needs a
// multiple of 32).
std::string kv_dtype_unsupported(KvDtype dtype, int64_t head_dim);

// The scalar references: `n` values of one row (n as for kv_row_bytes).
void kv_encode_row(KvDtype dtype, const float* src, int64_t n, std::byte* dst);
void kv_decode_row(KvDtype dtype, const std::byte* src, int64_t n, float* dst);

// One float8 e4m3fn value (the scalar conversions kv_encode_row uses).
std::uint8_t float_to_fp8_e4m3(float x);
float fp8_e4m3_to_float(std::uint8_t v);

// kv_decode_row on AVX2/F16C, for n a multiple of 8 (32 for Q8_0); only where avx2_available().
// Equal to kv_decode_row bit for bit.
void kv_decode_row_avx2(KvDtype dtype, const std::byte* src, int64_t n, float* dst);

}  // namespace troupe::cpu
