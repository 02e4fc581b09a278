#pragma once
// Helpers shared by the tests: locating and reading committed fixtures.
//
// The largest fixtures (tokenizer vocabularies as GGUF, the expected ids of the tokenizer corpus,
// the chat-template renderings) are committed xz-compressed as NAME.xz, which keeps the tree small
// enough to travel to a lent GPU machine (xz -9e: a quarter smaller than gzip -9 on these).
// fixture() and unpacked() hand out such a file's path as if it were committed plain: it is
// unpacked once, into the temporary folder under a hash of its bytes, and that copy's path
// returned.
#include <lzma.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <cstdint>
#include <string>
#include <vector>

namespace troupe::test {

// `path` when it exists; else, when `path`.xz does, the path of its unpacked copy (made on first
// use: <temp>/troupe-fixtures-<uid>/<hash>-<folder>/<file name>, written under a temporary name and
// renamed, so concurrent test processes agree and a copy that exists is whole, among links to the
// folder's other plain files — the folder's hash in the name, since two folders may pack the same
// bytes beside different configs); else `path`, for the caller's own "missing" error.
inline std::filesystem::path unpacked(const std::filesystem::path& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path packed = path;
  packed += ".xz";
  if (fs::exists(path, ec) || !fs::exists(packed, ec)) return path;
  std::ifstream in(packed, std::ios::binary);
  const std::vector<uint8_t> compressed((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  uint32_t bytes = 2166136261u, folder = 2166136261u;  // FNV-1a of the packed bytes, and of the folder
  for (const uint8_t b : compressed) bytes = (bytes ^ b) * 16777619u;
  for (const char c : fs::absolute(path.parent_path()).string()) folder = (folder ^ static_cast<unsigned char>(c)) * 16777619u;
  char key[24];
  std::snprintf(key, sizeof key, "%08x-%08x", bytes, folder);
  const fs::path dir = fs::temp_directory_path() / ("troupe-fixtures-" + std::to_string(getuid())) / key;
  const fs::path out = dir / path.filename();
  if (fs::exists(out, ec)) return out;
  fs::create_directories(dir);
  // Beside it, links to its folder's plain files: a loader reads tokenizer_config.json beside a
  // tokenizer.json or tokenizer.model. (Another process may have made them already.)
  for (const fs::directory_entry& sibling : fs::directory_iterator(path.parent_path())) {
    if (sibling.is_regular_file() && sibling.path().extension() != ".xz") {
      fs::create_symlink(fs::absolute(sibling.path()), dir / sibling.path().filename(), ec);
    }
  }
  lzma_stream xz = LZMA_STREAM_INIT;
  if (lzma_stream_decoder(&xz, UINT64_MAX, 0) != LZMA_OK) throw std::runtime_error("cannot start an xz decoder");
  std::vector<uint8_t> buffer(1 << 20);
  const fs::path part = dir / (path.filename().string() + ".part" + std::to_string(getpid()));
  std::ofstream write(part, std::ios::binary);
  xz.next_in = compressed.data();
  xz.avail_in = compressed.size();
  lzma_ret status = LZMA_OK;
  while (status == LZMA_OK) {
    xz.next_out = buffer.data();
    xz.avail_out = buffer.size();
    status = lzma_code(&xz, LZMA_FINISH);
    write.write(reinterpret_cast<const char*>(buffer.data()), static_cast<std::streamsize>(buffer.size() - xz.avail_out));
  }
  lzma_end(&xz);
  write.close();
  if (status != LZMA_STREAM_END || !write) throw std::runtime_error("cannot unpack fixture " + packed.string());
  fs::rename(part, out);
  return out;
}

// The fixtures folder compiled in, unless TROUPE_FIXTURES_DIR names another at run time (test
// binaries carried to another machine, as tools/gpu/device_check.sh does).
inline std::filesystem::path fixture(const std::string& relative) {
  const char* moved = std::getenv("TROUPE_FIXTURES_DIR");
  return unpacked(std::filesystem::path(moved != nullptr && *moved != '\0' ? moved : TROUPE_FIXTURES_DIR) / relative);
}

inline std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read fixture " + p.string());
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline boost::json::value read_json(const std::filesystem::path& p) { return boost::json::parse(read_text(p)); }

inline std::vector<float> read_f32(const std::filesystem::path& p) {
  const std::string bytes = read_text(p);
  std::vector<float> v(bytes.size() / sizeof(float));
  std::memcpy(v.data(), bytes.data(), v.size() * sizeof(float));
  return v;
}

// The token ids of a reference fixture's cases (models/<folder>/reference.json): the sequences of
// the case called `case_name`, or of every case in order when it is empty.
inline std::vector<std::vector<int32_t>> reference_sequences(const std::string& folder, const std::string& case_name = "") {
  const auto j = read_json(fixture("models/" + folder + "/reference.json")).as_object();
  std::vector<std::vector<int32_t>> out;
  for (const auto& c : j.at("cases").as_array()) {
    if (!case_name.empty() && c.at("name").as_string() != case_name) continue;
    for (const auto& s : c.at("sequences").as_array()) {
      std::vector<int32_t> ids;
      for (const auto& id : s.as_array()) ids.push_back(id.to_number<int32_t>());
      out.push_back(std::move(ids));
    }
  }
  if (out.empty()) throw std::runtime_error("no case " + case_name + " in " + folder);
  return out;
}

// A scratch directory unique to the calling test, removed when it goes out of scope.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "troupe-test-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

inline void write_bytes(const std::filesystem::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace troupe::test
