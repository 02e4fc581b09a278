#pragma once
// Helpers shared by the tests: locating and reading committed fixtures.
#include <boost/json.hpp>
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

// The fixtures folder compiled in, unless TROUPE_FIXTURES_DIR names another at run time (test
// binaries carried to another machine, as tools/gpu/device_check.sh does).
inline std::filesystem::path fixture(const std::string& relative) {
  const char* moved = std::getenv("TROUPE_FIXTURES_DIR");
  return std::filesystem::path(moved != nullptr && *moved != '\0' ? moved : TROUPE_FIXTURES_DIR) / relative;
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
