#include "gpu/cpu/cpu_weight.hpp"

#include <cblas.h>

#include <algorithm>
#include <stdexcept>

#include "gpu/cpu/blockwise_matmul.hpp"
#include "gpu/cpu/cpu_kernels.hpp"
#include "model/dequantize.hpp"
#include "model/model_files.hpp"

namespace troupe::cpu {
namespace {

bool keeps_blocks(DType t) { return t == DType::Q4_0 || t == DType::Q4_1 || t == DType::Q8_0; }
constexpr int64_t kBlock = 32;  // weights per block of every kept type

}  // namespace

CpuWeight CpuWeight::from_f32(std::vector<float> values, int64_t rows, int64_t cols) {
  if (static_cast<int64_t>(values.size()) != rows * cols) throw std::invalid_argument("CpuWeight: size is not rows x cols");
  CpuWeight w;
  w.rows_ = rows;
  w.cols_ = cols;
  w.f32_ = std::move(values);
  return w;
}

CpuWeight CpuWeight::from_blocks(DType type, std::vector<std::byte> blocks, int64_t rows, int64_t cols) {
  if (!keeps_blocks(type) || cols % kBlock != 0) {
    throw std::invalid_argument("CpuWeight: blocks must be Q4_0, Q4_1 or Q8_0 rows of a multiple of 32 weights");
  }
  CpuWeight w;
  w.rows_ = rows;
  w.cols_ = cols;
  w.storage_ = type;
  w.row_bytes_ = static_cast<int64_t>(dtype_bytes_for(type, cols));
  if (static_cast<int64_t>(blocks.size()) != rows * w.row_bytes_) throw std::invalid_argument("CpuWeight: block bytes do not fill rows x cols");
  w.blocks_ = std::move(blocks);
  return w;
}

CpuWeight CpuWeight::load(const ModelFiles& model, const std::vector<Part>& parts, bool keep_blocks) {
  if (parts.empty()) throw std::invalid_argument("CpuWeight: no tensors");
  const int64_t cols = parts.front().second.back();
  int64_t rows = 0;
  const DType first = model.tensor(parts.front().first).dtype;
  bool blocks = keep_blocks && keeps_blocks(first) && cols % kBlock == 0;
  for (const auto& [name, shape] : parts) {
    rows += shape.size() == 2 ? shape.front() : 1;
    blocks = blocks && model.tensor(name).dtype == first;
  }
  if (!blocks) {
    std::vector<float> values;
    values.reserve(static_cast<std::size_t>(rows * cols));
    for (const auto& [name, shape] : parts) {
      const std::vector<float> part = model.load_f32(name, shape);
      values.insert(values.end(), part.begin(), part.end());
    }
    return from_f32(std::move(values), rows, cols);
  }
  std::vector<std::byte> bytes;
  bytes.reserve(static_cast<std::size_t>(rows) * dtype_bytes_for(first, cols));
  for (const auto& [name, shape] : parts) {
    const StoredRows part = model.load_stored(name, shape);
    bytes.insert(bytes.end(), part.bytes.begin(), part.bytes.end());
  }
  return from_blocks(first, std::move(bytes), rows, cols);
}

int64_t CpuWeight::bytes() const {
  return storage_ == DType::F32 ? static_cast<int64_t>(f32_.size() * sizeof(float)) : static_cast<int64_t>(blocks_.size());
}

void CpuWeight::row(int64_t r, float* out) const {
  if (storage_ == DType::F32) {
    std::copy_n(f32_.data() + r * cols_, cols_, out);
  } else {
    dequantize(storage_, blocks_.data() + r * row_bytes_, out, cols_);
  }
}

void CpuWeight::matmul(const float* a, float* c, int64_t m, bool accumulate, ThreadPool* pool) const {
  if (m <= 0) return;
  if (storage_ == DType::F32) {
    matmul_nt(a, f32_.data(), c, m, rows_, cols_, accumulate);
  } else if (m <= kBlockwiseMaxRows) {  // blockwise_matmul.hpp
    matmul_blockwise(a, c, m, accumulate, pool);
  } else {
    matmul_tiled(a, c, m, accumulate, pool);
  }
}

void CpuWeight::matmul_blockwise(const float* a, float* c, int64_t m, bool accumulate, ThreadPool* pool) const {
  const BlockwiseJob job{storage_, reinterpret_cast<const std::uint8_t*>(blocks_.data()), row_bytes_, cols_, rows_,
                         a, c, m, accumulate};
  parallel_for(pool, rows_, [&](int64_t n0, int64_t n1) { blockwise(job, n0, n1); });
}

// Tiles of about 4 MiB of float32 rows: expanded by the pool, multiplied by OpenBLAS while still in
// cache, and never the whole matrix at once (a vocabulary projection would be hundreds of MiB).
void CpuWeight::matmul_tiled(const float* a, float* c, int64_t m, bool accumulate, ThreadPool* pool) const {
  const int64_t tile_rows = std::max<int64_t>(16, (int64_t{1} << 20) / cols_);
  thread_local std::vector<float> tile;
  for (int64_t n0 = 0; n0 < rows_; n0 += tile_rows) {
    const int64_t nt = std::min(tile_rows, rows_ - n0);
    tile.resize(static_cast<std::size_t>(nt * cols_));
    float* dst = tile.data();  // named here: `tile` is thread_local, the pool's threads have their own
    parallel_for(pool, nt, [&](int64_t r0, int64_t r1) {
      expand_blocks(storage_, reinterpret_cast<const std::uint8_t*>(blocks_.data()) + (n0 + r0) * row_bytes_,
                    dst + r0 * cols_, (r1 - r0) * cols_ / kBlock);
    });
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(m), static_cast<int>(nt),
                static_cast<int>(cols_), 1.0f, a, static_cast<int>(cols_), dst, static_cast<int>(cols_),
                accumulate ? 1.0f : 0.0f, c + n0, static_cast<int>(rows_));
  }
}

}  // namespace troupe::cpu
