#pragma once
// What every tensor a model reader accepted must satisfy: its byte span matches its dtype and
// shape, and lies inside the file (its first and last bytes are readable; outside the mapping that
// read faults, which the fuzzer reports). Small tensors are also converted to float32, as loading
// a model would.
#include "common/error.hpp"
#include "fuzz/fuzz_support.hpp"
#include "model/dtype.hpp"
#include "model/tensor.hpp"

namespace troupe::fuzz {

inline void check_tensor(const TensorView& tensor) {
  const int64_t elements = tensor.elements();
  if (elements < 0) violated("tensor with a negative element count", tensor.name);
  if (static_cast<int64_t>(tensor.data.size()) != static_cast<int64_t>(dtype_bytes_for(tensor.dtype, elements))) {
    violated("tensor bytes do not match dtype and shape", tensor.name);
  }
  if (!tensor.data.empty()) {
    volatile std::byte first = tensor.data.front();
    volatile std::byte last = tensor.data.back();
    (void)first;
    (void)last;
  }
  if (elements > 0 && elements <= 4096) {
    try {
      (void)tensor_to_f32(tensor);
    } catch (const ModelError&) {
      // A clear refusal is acceptable; anything else is not.
    } catch (const std::exception& e) {
      violated("an accepted tensor could not be read as float32", e.what());
    }
  }
}

}  // namespace troupe::fuzz
