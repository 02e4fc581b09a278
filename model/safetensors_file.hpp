#pragma once
// One .safetensors file, mmapped: an 8-byte little-endian header length, a JSON header mapping
// tensor names to {dtype, shape, data_offsets}, then the raw tensor bytes.
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "common/mapped_file.hpp"
#include "model/tensor.hpp"

namespace troupe {

class SafetensorsFile {
 public:
  // Throws ModelError naming the file and the tensor at fault (truncated data, overlapping or
  // out-of-range offsets, a dtype other than F32/F16/BF16, a size that does not match the shape).
  explicit SafetensorsFile(const std::filesystem::path& path);

  const std::filesystem::path& path() const { return file_.path(); }
  const std::vector<TensorView>& tensors() const { return tensors_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

 private:
  MappedFile file_;
  std::vector<TensorView> tensors_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace troupe
