#include "model/tensor.hpp"

#include <functional>
#include <numeric>

#include "model/dequantize.hpp"

namespace troupe {

int64_t TensorView::elements() const {
  return std::accumulate(shape.begin(), shape.end(), int64_t{1}, std::multiplies<>());
}

int64_t TensorView::row_length() const { return shape.empty() ? 1 : shape.back(); }

int64_t TensorView::rows() const {
  const int64_t n = row_length();
  return n == 0 ? 0 : elements() / n;
}

std::vector<float> tensor_to_f32(const TensorView& t) {
  std::vector<float> out(static_cast<std::size_t>(t.elements()));
  dequantize(t.dtype, t.data.data(), out.data(), t.elements());
  return out;
}

}  // namespace troupe
