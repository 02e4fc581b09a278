#pragma once
// A view of one tensor's bytes inside a mapped model file. Shapes are outermost dimension first,
// as PyTorch and safetensors write them: a linear layer's weight is [out_features, in_features]
// and each of its out_features rows is contiguous. (GGUF lists dimensions innermost first; the
// GGUF reader reverses them so both formats agree.)
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "model/dtype.hpp"

namespace troupe {

struct TensorView {
  std::string name;                 // name as stored in the file
  DType dtype = DType::F32;
  std::vector<int64_t> shape;       // outermost first
  std::span<const std::byte> data;  // exactly dtype_bytes_for(dtype, elements()) bytes
  std::string file;                 // the file it came from, for error messages

  int64_t elements() const;
  int64_t rows() const;             // product of all but the last dimension (1 for a vector)
  int64_t row_length() const;       // last dimension
};

// All elements as float32 (dequantizing or widening as needed).
std::vector<float> tensor_to_f32(const TensorView& t);

}  // namespace troupe
