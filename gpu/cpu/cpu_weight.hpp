#pragma once
// One projection weight of the CPU backend, [out rows, in columns] in PyTorch's layout. Its rows
// are held in segments (the parts stacked into it: q, k and v; gate and up), each either float32
// or the file's own GGUF blocks. A decode step reads every weight once, so its speed is bytes per
// weight: a Q4_K block spends 144 bytes on 256 weights (0.56 B each) where float32 spends 1024.
//
// 16-bit float weights (BF16, F16: safetensors checkpoints, unquantized GGUF tensors) are kept as
// stored too, in either mode, and multiplied by float activations as half_matmul.hpp widens them
// (exactly) — half the bytes of a float32 copy, the same products up to the order of the sums; a
// 16-bit weight with a multiplier (Falcon-H1's µP) is widened to float32 with it applied.
//
// Two ways to multiply kept blocks, chosen when the weight is made (CpuWeight::Mode):
//  - int8 activations (the default): the input rows are quantized to int8 blocks once and
//    multiplied with integer dot products for every row count. Every block type of
//    int8_matmul_supports() is kept; rows of every type but Q5_1 are regrouped eight at a time
//    (interleaved_weights.hpp, the same bytes) for interleaved_matmul.hpp's kernel; Q5_1 rows, and
//    any last rows short of a group, stay row-major for int8_matmul.hpp's.
//  - float activations (exact): blocks of Q4_0, Q4_1 and Q8_0 are expanded to the weights of
//    model/dequantize.cpp and multiplied in float32 (blockwise_matmul.hpp, or float32 tiles and
//    OpenBLAS for many rows); other types are widened to float32 at load. Only the order of the
//    sums differs from the float32 form: the reference the parity tests compare with.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "gpu/cpu/huge_pages.hpp"
#include "gpu/cpu/quantized_activations.hpp"
#include "gpu/cpu/thread_pool.hpp"
#include "model/dtype.hpp"
#include "model/tensor_split.hpp"

namespace troupe {
class ModelFiles;
}

namespace troupe::cpu {

struct CpuWeightMode {
  bool keep_blocks = true;        // false: every part widened to float32
  bool int8_activations = true;   // false: the exact float-activation products
};

class CpuWeight {
 public:
  // One stored [out, in] tensor and the part of it this weight holds (a tensor-parallel rank's
  // shard, model/tensor_split.hpp). Kept blocks split only at block boundaries.
  using Part = TensorPart;

  using Mode = CpuWeightMode;

  // The rows of `parts` stacked in order. Each part keeps its blocks when `mode` can multiply its
  // type (and its rows are whole blocks); otherwise it is widened to float32. Neighbouring parts
  // of one storage type share a segment.
  static CpuWeight load(const ModelFiles& model, const std::vector<Part>& parts, Mode mode);
  static CpuWeight from_f32(std::vector<float> values, int64_t rows, int64_t cols);
  // Rows of `type` blocks as they are; throws std::invalid_argument for a type `mode` cannot
  // multiply or bytes that do not fill rows x cols.
  static CpuWeight from_blocks(DType type, std::vector<std::byte> blocks, int64_t rows, int64_t cols,
                               Mode mode = Mode{});

  int64_t rows() const { return rows_; }
  int64_t cols() const { return cols_; }
  int64_t bytes() const;
  // The storage of each segment, in row order (F32 or a block type), for tests and logs.
  std::vector<DType> storages() const;

  // C[m, rows] = A[m, cols] · W^T, added to C when `accumulate`; C's row stride is rows().
  void matmul(const float* a, float* c, int64_t m, bool accumulate, ThreadPool* pool) const;

  // True when every segment multiplies int8 activations, so that a caller may quantize the input
  // once (fused with the norm before it) and call the overload below.
  bool takes_quantized() const { return takes_quantized_; }
  void matmul(const QuantizedActivations& a, float* c, bool accumulate, ThreadPool* pool) const;

  // Row r as float32 into out[cols] (the embedding lookup).
  void row(int64_t r, float* out) const;

  // The float-activation products of a Q4_0/Q4_1/Q8_0 single-segment weight, callable directly by
  // tests and by tools/cpu_matmul_bench.cpp, which measures where each is fastest.
  void matmul_blockwise(const float* a, float* c, int64_t m, bool accumulate, ThreadPool* pool) const;
  void matmul_tiled(const float* a, float* c, int64_t m, bool accumulate, ThreadPool* pool) const;

 private:
  using WeightBytes = HugePageBytes;
  struct Segment {
    DType storage = DType::F32;
    int64_t first_row = 0, rows = 0;
    int64_t row_bytes = 0;             // bytes of one stored row (blocks)
    std::vector<float> f32;            // [rows, cols] when storage is F32
    WeightBytes blocks;                // rows * row_bytes otherwise
  };
  void add_segment(Segment s);
  // How many of a segment's first rows are interleave_rows' groups of 8 (once the weight is made);
  // the rest of its blocks are row-major.
  int64_t grouped_rows(const Segment& s) const;
  void interleave_segments();
  void matmul_segment_int8(const Segment& s, const QuantizedActivations& a, float* c, bool accumulate, ThreadPool* pool) const;
  void matmul_segment_blockwise(const Segment& s, const float* a, float* c, int64_t m, bool accumulate, ThreadPool* pool) const;
  void matmul_segment_tiled(const Segment& s, const float* a, float* c, int64_t m, bool accumulate, ThreadPool* pool) const;

  int64_t rows_ = 0, cols_ = 0;
  Mode mode_;
  bool takes_quantized_ = false;
  std::vector<Segment> segments_;
};

}  // namespace troupe::cpu
