#include "gpu/cpu/cpu_weight.hpp"

#include <cblas.h>

#include <algorithm>
#include <stdexcept>

#include "gpu/cpu/blockwise_matmul.hpp"
#include "gpu/cpu/half_matmul.hpp"
#include "gpu/cpu/int8_matmul.hpp"
#include "gpu/cpu/interleaved_matmul.hpp"
#include "gpu/cpu/interleaved_weights.hpp"
#include "common/error.hpp"
#include "model/dequantize.hpp"
#include "model/model_files.hpp"

namespace troupe::cpu {
namespace {

// Types the float-activation products expand block by block (32-weight blocks).
bool blockwise_supports(DType t) { return t == DType::Q4_0 || t == DType::Q4_1 || t == DType::Q8_0; }

// 16-bit float types, kept as stored and widened as they are read (half_matmul.hpp).
bool is_half(DType t) { return t == DType::F16 || t == DType::BF16; }

bool keeps(DType t, int64_t cols, CpuWeight::Mode mode) {
  if (!mode.keep_blocks || t == DType::F32) return false;
  if (is_half(t)) return true;
  if (cols % dtype_block_elements(t) != 0) return false;
  return mode.int8_activations ? int8_matmul_supports(t) : blockwise_supports(t);
}

}  // namespace

void CpuWeight::add_segment(Segment s) {
  s.first_row = rows_;
  rows_ += s.rows;
  if (!segments_.empty() && segments_.back().storage == s.storage) {  // merge with its neighbour
    Segment& last = segments_.back();
    last.rows += s.rows;
    last.f32.insert(last.f32.end(), s.f32.begin(), s.f32.end());
    last.blocks.insert(last.blocks.end(), s.blocks.begin(), s.blocks.end());
  } else {
    segments_.push_back(std::move(s));
  }
  takes_quantized_ = mode_.int8_activations && std::all_of(segments_.begin(), segments_.end(), [](const Segment& g) {
                       return g.storage != DType::F32 && !is_half(g.storage);
                     });
}

int64_t CpuWeight::grouped_rows(const Segment& s) const {
  if (!mode_.int8_activations || !interleaved_supports(s.storage)) return 0;
  return s.rows / kInterleavedRows * kInterleavedRows;
}

// Once, after the last part: neighbouring parts are merged first, so groups of 8 may span two.
void CpuWeight::interleave_segments() {
  for (Segment& s : segments_) {
    if (grouped_rows(s) == 0) continue;
    // The groups take the bytes of the rows they hold; the rows short of a group stay after them.
    const std::vector<std::byte> groups = interleave_rows(s.storage, s.blocks.data(), s.rows, cols_);
    std::copy(groups.begin(), groups.end(), s.blocks.begin());
  }
}

CpuWeight CpuWeight::from_f32(std::vector<float> values, int64_t rows, int64_t cols) {
  if (static_cast<int64_t>(values.size()) != rows * cols) throw std::invalid_argument("CpuWeight: size is not rows x cols");
  CpuWeight w;
  w.cols_ = cols;
  w.add_segment(Segment{DType::F32, 0, rows, 0, std::move(values), {}});
  return w;
}

CpuWeight CpuWeight::from_blocks(DType type, std::vector<std::byte> blocks, int64_t rows, int64_t cols, Mode mode) {
  if (!keeps(type, cols, mode)) {
    throw std::invalid_argument("CpuWeight: cannot multiply " + std::string(dtype_name(type)) + " blocks with " +
                                (mode.int8_activations ? "int8" : "float") + " activations in rows of " + std::to_string(cols));
  }
  const auto row_bytes = static_cast<int64_t>(dtype_bytes_for(type, cols));
  if (static_cast<int64_t>(blocks.size()) != rows * row_bytes) throw std::invalid_argument("CpuWeight: block bytes do not fill rows x cols");
  CpuWeight w;
  w.cols_ = cols;
  w.mode_ = mode;
  w.add_segment(Segment{type, 0, rows, row_bytes, {}, WeightBytes(blocks.begin(), blocks.end())});
  w.interleave_segments();
  return w;
}

CpuWeight CpuWeight::load(const ModelFiles& model, const std::vector<Part>& parts, Mode mode) {
  if (parts.empty()) throw std::invalid_argument("CpuWeight: no tensors");
  CpuWeight w;
  w.cols_ = parts.front().col_range().size();
  w.mode_ = mode;
  // A tensor widened to float32 is widened once for neighbouring parts that read it (Falcon-H1's
  // in_proj in five runs of rows, each with its multiplier).
  std::string widened_name;
  std::vector<float> widened;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const Part& part = parts[i];
    const bool last_of_tensor = i + 1 == parts.size() || parts[i + 1].name != part.name;
    const IndexRange cols = part.col_range();
    if (cols.size() != w.cols_) throw std::invalid_argument("CpuWeight: " + part.name + " has another column count");
    const int64_t nrows = part.row_count(), stored_cols = part.stored_cols();
    // MXFP4 (gpt-oss's experts) is kept with a float16 scale instead of its exponent byte (18 bytes
    // a block against 17), which the int8 kernels multiply as IQ4_NL with MXFP4's table.
    const DType stored_type = model.tensor(part.name).dtype;
    const DType type = stored_type == DType::MXFP4 ? DType::MXFP4_F16 : stored_type;
    // A slice that cuts the blocks the whole tensor would keep is refused rather than widened to
    // float32 (several times the memory, unasked).
    const auto block = dtype_block_elements(type);
    if (keeps(type, stored_cols, mode) && (cols.begin % block != 0 || cols.end % block != 0)) {
      throw ConfigError(part.name + " is stored in " + std::string(dtype_name(type)) + " blocks of " +
                        std::to_string(block) + " columns, which columns [" + std::to_string(cols.begin) + ", " +
                        std::to_string(cols.end) + ") would cut");
    }
    // A 16-bit weight with a multiplier (Falcon-H1's µP) is widened to float32 with it applied.
    if (keeps(type, w.cols_, mode) && !(is_half(type) && part.scale != 1.0f)) {
      if (part.scale != 1.0f) {
        throw ConfigError(part.name + ": a multiplier on a weight kept in " + std::string(dtype_name(type)) +
                          " blocks is not supported (llama.cpp's converter folds it into the weights)");
      }
      StoredRows stored = model.load_stored(part.name, part.shape);
      if (stored_type == DType::MXFP4) {
        const int64_t elements = part.shape.front() * stored_cols;
        std::vector<std::byte> f16(static_cast<std::size_t>(dtype_bytes_for(DType::MXFP4_F16, elements)));
        mxfp4_to_f16_scale(stored.bytes.data(), elements / dtype_block_elements(DType::MXFP4), f16.data());
        stored.bytes = std::move(f16);
      }
      const auto row_bytes = static_cast<int64_t>(dtype_bytes_for(type, w.cols_));
      std::vector<std::byte> bytes =
          part.whole() ? std::move(stored.bytes)
                       : select_rows(stored.bytes, static_cast<int64_t>(dtype_bytes_for(type, stored_cols)),
                                     part.row_ranges(), static_cast<int64_t>(dtype_bytes_for(type, cols.begin)), row_bytes);
      w.add_segment(Segment{type, 0, nrows, row_bytes, {}, WeightBytes(bytes.begin(), bytes.end())});
    } else {
      if (widened_name != part.name) {
        widened = model.load_f32(part.name, part.shape);
        widened_name = part.name;
      }
      // The last part to read it takes the widened tensor itself (a copy for the others).
      std::vector<float> values = last_of_tensor ? select_part(std::move(widened), part) : select_part(widened, part);
      if (last_of_tensor) widened_name.clear();
      if (part.scale != 1.0f) {
        for (float& v : values) v *= part.scale;
      }
      w.add_segment(Segment{DType::F32, 0, nrows, 0, std::move(values), {}});
    }
    // The copy is what we read from now on (once no next part reads the tensor).
    if (last_of_tensor) model.release_pages(part.name);
  }
  w.interleave_segments();
  return w;
}

int64_t CpuWeight::bytes() const {
  int64_t total = 0;
  for (const Segment& s : segments_) total += static_cast<int64_t>(s.f32.size() * sizeof(float) + s.blocks.size());
  return total;
}

std::vector<DType> CpuWeight::storages() const {
  std::vector<DType> out;
  for (const Segment& s : segments_) out.push_back(s.storage);
  return out;
}

void CpuWeight::row(int64_t r, float* out) const {
  for (const Segment& s : segments_) {
    if (r < s.first_row || r >= s.first_row + s.rows) continue;
    const int64_t local = r - s.first_row;
    if (s.storage == DType::F32) {
      std::copy_n(s.f32.data() + local * cols_, cols_, out);
    } else if (local < grouped_rows(s)) {
      thread_local std::vector<std::byte> blocks;
      blocks.resize(static_cast<std::size_t>(s.row_bytes));
      deinterleave_row(s.storage, s.blocks.data(), cols_, local, blocks.data());
      dequantize(s.storage, blocks.data(), out, cols_);
    } else {
      dequantize(s.storage, s.blocks.data() + local * s.row_bytes, out, cols_);
    }
    return;
  }
  throw std::out_of_range("CpuWeight::row: row " + std::to_string(r) + " of " + std::to_string(rows_));
}

void CpuWeight::matmul(const float* a, float* c, int64_t m, bool accumulate, ThreadPool* pool) const {
  if (m <= 0) return;
  if (takes_quantized_) {
    thread_local QuantizedActivations quantized;
    quantize_activations(a, m, cols_, cols_, quantized, pool);
    matmul(quantized, c, accumulate, pool);
    return;
  }
  thread_local QuantizedActivations quantized_rows;  // for the int8 segments of a mixed weight
  QuantizedActivations& quantized = quantized_rows;  // named here: the pool's threads have their own
  bool quantized_ready = false;
  for (const Segment& s : segments_) {
    float* cs = c + s.first_row;  // C's columns of this segment; row stride rows_
    if (s.storage == DType::F32 && m == 1) {  // OpenBLAS 0.3.21 does not route this to GEMV itself
      cblas_sgemv(CblasRowMajor, CblasNoTrans, static_cast<int>(s.rows), static_cast<int>(cols_), 1.0f, s.f32.data(),
                  static_cast<int>(cols_), a, 1, accumulate ? 1.0f : 0.0f, cs, 1);
    } else if (s.storage == DType::F32) {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(m), static_cast<int>(s.rows),
                  static_cast<int>(cols_), 1.0f, a, static_cast<int>(cols_), s.f32.data(), static_cast<int>(cols_),
                  accumulate ? 1.0f : 0.0f, cs, static_cast<int>(rows_));
    } else if (is_half(s.storage) && m <= kHalfMatmulMaxRows) {  // half_matmul.hpp
      const HalfMatmulJob job{s.storage, reinterpret_cast<const std::uint16_t*>(s.blocks.data()), cols_, rows_, a, cs, m,
                              accumulate};
      parallel_for(pool, s.rows, [&](int64_t n0, int64_t n1) { half_matmul(job, n0, n1); });
    } else if (is_half(s.storage)) {
      matmul_segment_tiled(s, a, c, m, accumulate, pool);
    } else if (mode_.int8_activations) {  // a weight mixing float32 and int8 segments
      if (!quantized_ready) quantize_activations(a, m, cols_, cols_, quantized, pool);
      quantized_ready = true;
      matmul_segment_int8(s, quantized, c, accumulate, pool);
    } else if (m <= kBlockwiseMaxRows) {  // blockwise_matmul.hpp
      matmul_segment_blockwise(s, a, c, m, accumulate, pool);
    } else {
      matmul_segment_tiled(s, a, c, m, accumulate, pool);
    }
  }
}

void CpuWeight::matmul(const QuantizedActivations& a, float* c, bool accumulate, ThreadPool* pool) const {
  if (!takes_quantized_) throw std::logic_error("CpuWeight: this weight does not take quantized activations");
  if (a.cols() != cols_) throw std::invalid_argument("CpuWeight: quantized activations have the wrong width");
  if (a.rows() <= 0) return;
  for (const Segment& s : segments_) matmul_segment_int8(s, a, c, accumulate, pool);
}

// Threads split the output rows: the interleaved groups of 8, then the row-major rest in the
// row-major kernel's pairs, as one range of work items.
void CpuWeight::matmul_segment_int8(const Segment& s, const QuantizedActivations& a, float* c, bool accumulate,
                                    ThreadPool* pool) const {
  const auto* data = reinterpret_cast<const std::uint8_t*>(s.blocks.data());
  const int64_t grouped = grouped_rows(s), groups = grouped / kInterleavedRows;
  const InterleavedMatmulJob grouped_job{s.storage, data, cols_, &a, c + s.first_row, rows_, accumulate};
  // Row-major row n sits at n · row_bytes whether or not the rows before it are grouped.
  const Int8MatmulJob row_job{s.storage, data, s.row_bytes, cols_, &a, c + s.first_row, rows_, accumulate};
  const int64_t pairs = (s.rows - grouped + 1) / 2;
  parallel_for(pool, groups + pairs, [&](int64_t i0, int64_t i1) {
    if (i0 < groups) interleaved_matmul(grouped_job, i0, std::min(i1, groups));
    if (i1 > groups) {
      const int64_t p0 = std::max(i0, groups) - groups, p1 = i1 - groups;
      int8_matmul(row_job, grouped + 2 * p0, std::min(grouped + 2 * p1, s.rows));
    }
  });
}

void CpuWeight::matmul_blockwise(const float* a, float* c, int64_t m, bool accumulate, ThreadPool* pool) const {
  if (segments_.size() != 1 || !blockwise_supports(segments_.front().storage)) throw std::logic_error("CpuWeight: not one Q4_0/Q4_1/Q8_0 segment");
  matmul_segment_blockwise(segments_.front(), a, c, m, accumulate, pool);
}

void CpuWeight::matmul_tiled(const float* a, float* c, int64_t m, bool accumulate, ThreadPool* pool) const {
  if (segments_.size() != 1 || !blockwise_supports(segments_.front().storage)) throw std::logic_error("CpuWeight: not one Q4_0/Q4_1/Q8_0 segment");
  matmul_segment_tiled(segments_.front(), a, c, m, accumulate, pool);
}

void CpuWeight::matmul_segment_blockwise(const Segment& s, const float* a, float* c, int64_t m, bool accumulate,
                                         ThreadPool* pool) const {
  const BlockwiseJob job{s.storage, reinterpret_cast<const std::uint8_t*>(s.blocks.data()), s.row_bytes, cols_, rows_,
                         a, c + s.first_row, m, accumulate};
  parallel_for(pool, s.rows, [&](int64_t n0, int64_t n1) { blockwise(job, n0, n1); });
}

// Tiles of about 4 MiB of float32 rows: expanded by the pool, multiplied by OpenBLAS while still in
// cache, and never the whole matrix at once (a vocabulary projection would be hundreds of MiB).
void CpuWeight::matmul_segment_tiled(const Segment& s, const float* a, float* c, int64_t m, bool accumulate,
                                     ThreadPool* pool) const {
  constexpr int64_t kBlock = 32;
  const int64_t tile_rows = std::max<int64_t>(16, (int64_t{1} << 20) / cols_);
  thread_local std::vector<float> tile;
  const auto* blocks = reinterpret_cast<const std::uint8_t*>(s.blocks.data());
  for (int64_t n0 = 0; n0 < s.rows; n0 += tile_rows) {
    const int64_t nt = std::min(tile_rows, s.rows - n0);
    tile.resize(static_cast<std::size_t>(nt * cols_));
    float* dst = tile.data();  // named here: `tile` is thread_local, the pool's threads have their own
    parallel_for(pool, nt, [&](int64_t r0, int64_t r1) {
      if (is_half(s.storage)) {  // widened exactly, row by row
        dequantize(s.storage, reinterpret_cast<const std::byte*>(blocks + (n0 + r0) * s.row_bytes), dst + r0 * cols_,
                   (r1 - r0) * cols_);
      } else {
        expand_blocks(s.storage, blocks + (n0 + r0) * s.row_bytes, dst + r0 * cols_, (r1 - r0) * cols_ / kBlock);
      }
    });
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(m), static_cast<int>(nt),
                static_cast<int>(cols_), 1.0f, a, static_cast<int>(cols_), dst, static_cast<int>(cols_),
                accumulate ? 1.0f : 0.0f, c + s.first_row + n0, static_cast<int>(rows_));
  }
}

}  // namespace troupe::cpu
