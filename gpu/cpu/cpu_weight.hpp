#pragma once
// One projection weight of the CPU backend, [out rows, in columns] in PyTorch's layout, held as
// float32 or — for GGUF's 32-element block types Q4_0, Q4_1 and Q8_0 — as the file's blocks
// themselves. A decode step reads every weight once, so its speed is bytes per weight: a Q4_1
// block spends 20 bytes on 32 weights (0.625 B each) where float32 spends 128.
//
// Both forms compute the same products: a block is expanded with the arithmetic of
// model/dequantize.cpp (so every weight value equals the float32 form's), and only the order of
// the sums differs. The float32 form stays the reference the CUDA kernels are checked against.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "gpu/cpu/thread_pool.hpp"
#include "model/dtype.hpp"

namespace troupe {
class ModelFiles;
}

namespace troupe::cpu {

class CpuWeight {
 public:
  // One stored tensor: its Hugging Face name and expected shape ([out, in] or [out] for a vector).
  using Part = std::pair<std::string, std::vector<int64_t>>;

  // The rows of `parts` stacked in order (q, k, v; or gate, up). They keep their blocks when
  // `keep_blocks` is set and all parts share one of the block types above; otherwise the weight is
  // float32.
  static CpuWeight load(const ModelFiles& model, const std::vector<Part>& parts, bool keep_blocks);
  static CpuWeight from_f32(std::vector<float> values, int64_t rows, int64_t cols);
  // Rows of `type` blocks (Q4_0, Q4_1 or Q8_0; cols a multiple of 32) as they are.
  static CpuWeight from_blocks(DType type, std::vector<std::byte> blocks, int64_t rows, int64_t cols);

  int64_t rows() const { return rows_; }
  int64_t cols() const { return cols_; }
  DType storage() const { return storage_; }  // F32 or the block type kept
  int64_t bytes() const;

  // C[m, rows] = A[m, cols] · W^T, added to C when `accumulate`. A quantized weight is multiplied
  // block by block for up to kBlockwiseMaxRows activation rows (blockwise_matmul.hpp: each block
  // read once for all rows); for more, row tiles are expanded to float32 for an OpenBLAS GEMM.
  void matmul(const float* a, float* c, int64_t m, bool accumulate, ThreadPool* pool) const;
  // Row r as float32 into out[cols] (the embedding lookup).
  void row(int64_t r, float* out) const;
  // The float32 values; only for a weight whose storage() is F32.
  const float* f32() const { return f32_.data(); }

  // The two ways matmul() multiplies a quantized weight, callable directly by tests and by
  // tools/cpu_matmul_bench.cpp, which measured where one overtakes the other.
  void matmul_blockwise(const float* a, float* c, int64_t m, bool accumulate, ThreadPool* pool) const;
  void matmul_tiled(const float* a, float* c, int64_t m, bool accumulate, ThreadPool* pool) const;

 private:

  int64_t rows_ = 0, cols_ = 0;
  DType storage_ = DType::F32;
  int64_t row_bytes_ = 0;              // bytes of one stored row (quantized storage)
  std::vector<float> f32_;             // [rows, cols] when storage_ is F32
  std::vector<std::byte> blocks_;      // rows_ * row_bytes_ otherwise
};

}  // namespace troupe::cpu
