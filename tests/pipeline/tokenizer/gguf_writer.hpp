#pragma once
// A minimal GGUF v3 writer for tokenizer tests: metadata only (strings, string arrays, u32 and
// bool values), no tensors.
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace troupe::test {

class GgufWriter {
 public:
  void add_string(const std::string& key, const std::string& value) {
    key_header(key, 8);
    string(value);
  }
  void add_strings(const std::string& key, const std::vector<std::string>& values) {
    key_header(key, 9);
    u32(8);
    u64(values.size());
    for (const auto& v : values) string(v);
  }
  void add_u32(const std::string& key, uint32_t value) {
    key_header(key, 4);
    u32(value);
  }
  void add_bool(const std::string& key, bool value) {
    key_header(key, 7);
    body_.push_back(value ? '\1' : '\0');
  }
  // Writes the file to `path` and returns it.
  std::filesystem::path write(const std::filesystem::path& path) const {
    std::string out = "GGUF";
    auto put = [&](uint64_t v, int n) {
      for (int i = 0; i < n; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
    };
    put(3, 4);
    put(0, 8);
    put(count_, 8);
    out += body_;
    while (out.size() % 32 != 0) out.push_back('\0');
    std::ofstream(path, std::ios::binary) << out;
    return path;
  }

 private:
  void u32(uint32_t v) {
    for (int i = 0; i < 4; ++i) body_.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
  }
  void u64(uint64_t v) {
    for (int i = 0; i < 8; ++i) body_.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
  }
  void string(const std::string& s) {
    u64(s.size());
    body_ += s;
  }
  void key_header(const std::string& key, uint32_t type) {
    string(key);
    u32(type);
    ++count_;
  }
  std::string body_;
  uint64_t count_ = 0;
};

}  // namespace troupe::test
