// The safetensors reader on arbitrary files: the 8-byte header length, the JSON header, dtypes,
// shapes and data offsets. A file either loads or is refused with ModelError; nothing else.
#include "fuzz/fuzz_support.hpp"
#include "fuzz/memory_file.hpp"
#include "common/error.hpp"
#include "fuzz/tensor_checks.hpp"
#include "model/safetensors_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static troupe::fuzz::MemoryFile file("fuzz.safetensors");
  file.write(data, size);
  try {
    const troupe::SafetensorsFile st(file.path());
    for (const auto& tensor : st.tensors()) troupe::fuzz::check_tensor(tensor);
  } catch (const troupe::ModelError&) {
  } catch (const std::exception& e) {
    troupe::fuzz::violated("safetensors", e.what());
  }
  return 0;
}
