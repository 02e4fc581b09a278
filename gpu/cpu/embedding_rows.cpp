#include "gpu/cpu/embedding_rows.hpp"

#include <stdexcept>

#include "common/error.hpp"
#include "model/dequantize.hpp"

namespace troupe::cpu {

EmbeddingRows::EmbeddingRows(const ModelFiles& model, const std::string& name, int64_t rows, int64_t cols)
    : table_(model.mapped(name)), rows_(rows), cols_(cols) {
  const TensorView& t = table_.view;
  if (t.shape != std::vector<int64_t>{rows, cols}) {
    throw ModelError(t.file + ": tensor '" + t.name + "' is not a [" + std::to_string(rows) + ", " + std::to_string(cols) +
                     "] table");
  }
  if (cols % dtype_block_elements(t.dtype) != 0) {
    throw ModelError(t.file + ": tensor '" + t.name + "' has rows of " + std::to_string(cols) + " values, not whole blocks");
  }
  row_bytes_ = dtype_bytes_for(t.dtype, cols);
}

void EmbeddingRows::row(int64_t r, float* out) const {
  if (r < 0 || r >= rows_) throw std::out_of_range("embedding row " + std::to_string(r) + " of " + std::to_string(rows_));
  dequantize(table_.view.dtype, table_.view.data.data() + r * row_bytes_, out, cols_);
}

}  // namespace troupe::cpu
