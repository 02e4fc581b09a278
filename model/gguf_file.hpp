#pragma once
// GGUF v3 reader (v2 is read too): header, metadata key/values of every value type, tensor infos
// and the aligned tensor data section, all by mmap. See docs/ARCHITECTURE.md for the layout.
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "common/mapped_file.hpp"
#include "model/tensor.hpp"

namespace troupe {

// GGUF metadata value types, numbered as in the file format.
enum class GgufValueType : uint32_t {
  U8 = 0, I8 = 1, U16 = 2, I16 = 3, U32 = 4, I32 = 5, F32 = 6, BOOL = 7,
  STRING = 8, ARRAY = 9, U64 = 10, I64 = 11, F64 = 12,
};

// One metadata value. Integers of every width are held as int64_t (u64 values above INT64_MAX are
// rejected at load), floats as double; arrays keep their element type.
struct GgufValue {
  GgufValueType type = GgufValueType::U8;
  GgufValueType element_type = GgufValueType::U8;  // meaningful when type == ARRAY
  std::variant<int64_t, double, bool, std::string,
               std::vector<int64_t>, std::vector<double>, std::vector<bool>,
               std::vector<std::string>>
      value;
};

class GgufFile {
 public:
  // Throws ModelError naming the file and what is wrong (bad magic, truncated, unknown tensor type,
  // tensor data outside the file, ...).
  explicit GgufFile(const std::filesystem::path& path);

  const std::filesystem::path& path() const { return file_.path(); }
  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }

  const std::map<std::string, GgufValue>& metadata() const { return metadata_; }
  bool has(const std::string& key) const { return metadata_.count(key) != 0; }
  const GgufValue* find(const std::string& key) const;

  // Typed accessors: nullopt / empty when the key is absent; ModelError naming the key and file
  // when it is present with an incompatible type. Integer accessors accept every integer type
  // (writers use u32 where the spec says u64).
  std::optional<int64_t> get_int(const std::string& key) const;
  std::optional<double> get_float(const std::string& key) const;  // float or integer types
  std::optional<bool> get_bool(const std::string& key) const;
  std::optional<std::string> get_string(const std::string& key) const;
  const std::vector<std::string>* get_string_array(const std::string& key) const;
  std::optional<std::vector<int64_t>> get_int_array(const std::string& key) const;
  std::optional<std::vector<double>> get_float_array(const std::string& key) const;

  const std::vector<TensorView>& tensors() const { return tensors_; }
  const TensorView* find_tensor(const std::string& name) const;

 private:
  MappedFile file_;
  uint32_t version_ = 0;
  uint64_t alignment_ = 32;
  std::map<std::string, GgufValue> metadata_;
  std::vector<TensorView> tensors_;
  std::map<std::string, std::size_t> tensor_index_;
};

}  // namespace troupe
