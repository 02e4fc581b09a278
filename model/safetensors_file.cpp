#include "model/safetensors_file.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <cstring>

#include "common/error.hpp"

namespace troupe {

namespace json = boost::json;

SafetensorsFile::SafetensorsFile(const std::filesystem::path& path) : file_(path) {
  const std::string name = path.string();
  auto fail = [&](const std::string& msg) -> void { throw ModelError(name + ": " + msg); };
  if (file_.size() < 8) fail("file is truncated: no safetensors header");
  uint64_t header_len;
  std::memcpy(&header_len, file_.data(), 8);
  if (header_len > file_.size() - 8) {
    fail("file is truncated: header claims " + std::to_string(header_len) + " bytes, file has " +
         std::to_string(file_.size()));
  }
  const char* header_begin = reinterpret_cast<const char*>(file_.data() + 8);
  json::value header;
  try {
    header = json::parse(std::string_view(header_begin, header_len));
  } catch (const std::exception& e) {
    fail(std::string("header is not valid JSON: ") + e.what());
  }
  if (!header.is_object()) fail("header is not a JSON object");

  const uint64_t data_start = 8 + header_len;
  const uint64_t data_size = file_.size() - data_start;
  struct Range {
    uint64_t begin, end;
    std::string name;
  };
  std::vector<Range> ranges;

  for (const auto& [key, value] : header.as_object()) {
    const std::string tensor_name(key);
    if (tensor_name == "__metadata__") {
      if (value.is_object()) {
        for (const auto& [mk, mv] : value.as_object()) {
          if (mv.is_string()) metadata_[std::string(mk)] = std::string(mv.as_string());
        }
      }
      continue;
    }
    const std::string where = "tensor '" + tensor_name + "'";
    const json::object* info = value.if_object();
    if (!info || !info->contains("dtype") || !info->contains("shape") ||
        !info->contains("data_offsets")) {
      fail(where + " lacks dtype, shape or data_offsets");
    }
    TensorView t;
    t.name = tensor_name;
    t.file = name;
    const json::string* dtype_str = info->at("dtype").if_string();
    if (!dtype_str) fail(where + ": dtype is not a string");
    auto dtype = dtype_from_safetensors(std::string_view(*dtype_str));
    if (!dtype) {
      fail(where + " has dtype " + std::string(*dtype_str) +
           "; troupe reads F32, F16, BF16, F8_E4M3 (block-scaled FP8) and U8 safetensors");
    }
    t.dtype = *dtype;
    try {
      for (const auto& d : info->at("shape").as_array()) t.shape.push_back(d.to_number<int64_t>());
      const auto& offs = info->at("data_offsets").as_array();
      if (offs.size() != 2) fail(where + ": data_offsets must have two entries");
      Range r{offs[0].to_number<uint64_t>(), offs[1].to_number<uint64_t>(), tensor_name};
      if (r.begin > r.end || r.end > data_size) {
        fail("file is truncated or corrupt: " + where + " spans data bytes " +
             std::to_string(r.begin) + ".." + std::to_string(r.end) + " of " +
             std::to_string(data_size));
      }
      for (int64_t d : t.shape) {
        if (d < 0) fail(where + " has a negative dimension");
      }
      const uint64_t expected = dtype_bytes_for(t.dtype, t.elements());
      if (r.end - r.begin != expected) {
        fail(where + " holds " + std::to_string(r.end - r.begin) + " bytes, its shape and dtype need " +
             std::to_string(expected));
      }
      t.data = file_.bytes().subspan(data_start + r.begin, r.end - r.begin);
      ranges.push_back(std::move(r));
    } catch (const ModelError&) {
      throw;
    } catch (const std::exception& e) {
      fail(where + ": malformed shape or data_offsets (" + e.what() + ")");
    }
    tensors_.push_back(std::move(t));
  }

  std::sort(ranges.begin(), ranges.end(), [](const Range& a, const Range& b) { return a.begin < b.begin; });
  for (std::size_t i = 1; i < ranges.size(); ++i) {
    if (ranges[i].begin < ranges[i - 1].end) {
      fail("tensors '" + ranges[i - 1].name + "' and '" + ranges[i].name + "' overlap");
    }
  }
}

}  // namespace troupe
