#pragma once
// Writes small GGUF files byte by byte for tests of the reader's edge cases (every metadata type,
// unsupported tensor types, corrupt headers) without depending on the reader itself.
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace troupe::test {

class GgufBuilder {
 public:
  template <typename T>
  void kv(const std::string& key, uint32_t type, T value) {
    str(key);
    pod(type);
    pod(value);
    ++kv_count_;
  }
  void kv_string(const std::string& key, const std::string& value) {
    str(key);
    pod(uint32_t{8});
    str(value);
    ++kv_count_;
  }
  template <typename T>
  void kv_array(const std::string& key, uint32_t element_type, const std::vector<T>& values) {
    str(key);
    pod(uint32_t{9});
    pod(element_type);
    pod(static_cast<uint64_t>(values.size()));
    for (const T& v : values) pod(v);
    ++kv_count_;
  }
  void kv_string_array(const std::string& key, const std::vector<std::string>& values) {
    str(key);
    pod(uint32_t{9});
    pod(uint32_t{8});
    pod(static_cast<uint64_t>(values.size()));
    for (const auto& v : values) str(v);
    ++kv_count_;
  }
  // A tensor with `dims` innermost first (GGUF order) and its raw data.
  void tensor(const std::string& name, std::vector<uint64_t> dims, uint32_t ggml_type, const std::string& data) {
    tensors_.push_back({name, std::move(dims), ggml_type, data});
  }

  std::string build(uint32_t version = 3, uint32_t magic = 0x46554747u) const {
    Bytes out;
    out.pod(magic);
    out.pod(version);
    out.pod(static_cast<uint64_t>(tensors_.size()));
    out.pod(kv_count_);
    out.s += meta_.s;
    uint64_t offset = 0;
    std::vector<uint64_t> offsets;
    for (const auto& t : tensors_) {
      out.str(t.name);
      out.pod(static_cast<uint32_t>(t.dims.size()));
      for (uint64_t d : t.dims) out.pod(d);
      out.pod(t.type);
      out.pod(offset);
      offsets.push_back(offset);
      offset += (t.data.size() + 31) / 32 * 32;
    }
    while (out.s.size() % 32 != 0) out.s.push_back('\0');
    for (const auto& t : tensors_) {
      out.s += t.data;
      while (out.s.size() % 32 != 0) out.s.push_back('\0');
    }
    return out.s;
  }

 private:
  struct Bytes {
    std::string s;
    template <typename T>
    void pod(T v) {
      char buf[sizeof(T)];
      std::memcpy(buf, &v, sizeof(T));
      s.append(buf, sizeof(T));
    }
    void str(const std::string& v) {
      pod(static_cast<uint64_t>(v.size()));
      s += v;
    }
  };
  struct Tensor {
    std::string name;
    std::vector<uint64_t> dims;
    uint32_t type;
    std::string data;
  };
  template <typename T>
  void pod(T v) { meta_.pod(v); }
  void str(const std::string& v) { meta_.str(v); }

  Bytes meta_;
  uint64_t kv_count_ = 0;
  std::vector<Tensor> tensors_;
};

}  // namespace troupe::test
