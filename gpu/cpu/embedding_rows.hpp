#pragma once
// An embedding table read a row at a time where the model keeps it (the file's mapping), never
// copied: Gemma 3n's and Gemma 4 E2B/E4B's per-layer embeddings, billions of weights of which a
// token reads one row (layers × 256 values). Copied like a projection weight, such a table cost a
// second resident copy (1.6 GB for a Q6_K E2B, 9 GB widened from an E4B's bfloat16) and seconds
// of load; read in place, a step faults in only the rows its tokens use.
#include <cstdint>
#include <memory>

#include "model/model_files.hpp"

namespace troupe::cpu {

class EmbeddingRows {
 public:
  EmbeddingRows() = default;
  // Tensor `name` of `model`, checked to be [rows, cols] of a type model/dequantize.hpp reads whole
  // rows of (float types, or block types whose blocks fill a row).
  EmbeddingRows(const ModelFiles& model, const std::string& name, int64_t rows, int64_t cols);

  int64_t rows() const { return rows_; }
  int64_t bytes() const { return rows_ * row_bytes_; }
  // Row r as float32 into out[cols].
  void row(int64_t r, float* out) const;

 private:
  ModelFiles::MappedTensor table_;
  int64_t rows_ = 0, cols_ = 0, row_bytes_ = 0;
};

}  // namespace troupe::cpu
