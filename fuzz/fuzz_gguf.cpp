// The GGUF reader on arbitrary files: header, metadata of every type, tensor infos, data offsets;
// then what troupe reads from a GGUF it accepted (the model spec, the tokenizer). A file either
// loads or is refused with ModelError (the message names the file and the problem); nothing else.
#include "fuzz/fuzz_support.hpp"
#include "fuzz/memory_file.hpp"
#include "common/error.hpp"
#include "fuzz/tensor_checks.hpp"
#include "model/config_readers.hpp"
#include "model/gguf_file.hpp"
#include "pipeline/tokenizer/gguf_tokenizer.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static troupe::fuzz::MemoryFile file("fuzz.gguf");
  file.write(data, size);
  try {
    const troupe::GgufFile gguf(file.path());
    for (const auto& tensor : gguf.tensors()) troupe::fuzz::check_tensor(tensor);
    try {
      (void)troupe::spec_from_gguf(gguf);
    } catch (const troupe::ModelError&) {
    }
    try {
      const troupe::Tokenizer tokenizer = troupe::tokenizer_from_gguf(gguf);
      const std::vector<int32_t> ids = tokenizer.encode("fuzz: héllo wörld 123", true);
      (void)tokenizer.decode(ids, false);
    } catch (const troupe::ModelError&) {
    }
  } catch (const troupe::ModelError&) {
  } catch (const std::exception& e) {
    troupe::fuzz::violated("gguf", e.what());
  }
  return 0;
}
