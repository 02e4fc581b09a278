#include "model/gguf_file.hpp"

#include <cstring>
#include <limits>
#include <string_view>

#include "common/error.hpp"

namespace troupe {
namespace {

// Bounds-checked little-endian reader over the mapped header. Every failure names the file and
// the byte offset, since a truncated download is the usual cause.
class Cursor {
 public:
  Cursor(std::span<const std::byte> bytes, std::string file) : bytes_(bytes), file_(std::move(file)) {}

  template <typename T>
  T read(const char* what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }

  std::string read_string(const char* what) {
    const auto len = read<uint64_t>(what);
    need(len, what);
    std::string s(reinterpret_cast<const char*>(bytes_.data() + pos_), len);
    pos_ += len;
    return s;
  }

  std::size_t position() const { return pos_; }
  std::size_t remaining() const { return bytes_.size() - pos_; }

  [[noreturn]] void fail(const std::string& msg) const {
    throw ModelError(file_ + ": " + msg + " (at byte " + std::to_string(pos_) + ")");
  }

 private:
  void need(uint64_t n, const char* what) {
    if (n > bytes_.size() - pos_) {
      fail(std::string("file is truncated: cannot read ") + what + " (" + std::to_string(n) +
           " bytes needed, " + std::to_string(bytes_.size() - pos_) + " left)");
    }
  }

  std::span<const std::byte> bytes_;
  std::string file_;
  std::size_t pos_ = 0;
};

std::string_view value_type_name(GgufValueType t) {
  static constexpr std::string_view names[] = {"u8",  "i8",   "u16",    "i16",   "u32",
                                               "i32", "f32",  "bool",   "string", "array",
                                               "u64", "i64",  "f64"};
  auto i = static_cast<uint32_t>(t);
  return i < std::size(names) ? names[i] : "unknown";
}

bool is_integer(GgufValueType t) {
  switch (t) {
    case GgufValueType::U8: case GgufValueType::I8: case GgufValueType::U16:
    case GgufValueType::I16: case GgufValueType::U32: case GgufValueType::I32:
    case GgufValueType::U64: case GgufValueType::I64:
      return true;
    default:
      return false;
  }
}

int64_t read_integer(Cursor& c, GgufValueType t, const char* what) {
  switch (t) {
    case GgufValueType::U8: return c.read<uint8_t>(what);
    case GgufValueType::I8: return c.read<int8_t>(what);
    case GgufValueType::U16: return c.read<uint16_t>(what);
    case GgufValueType::I16: return c.read<int16_t>(what);
    case GgufValueType::U32: return c.read<uint32_t>(what);
    case GgufValueType::I32: return c.read<int32_t>(what);
    case GgufValueType::I64: return c.read<int64_t>(what);
    case GgufValueType::U64: {
      auto v = c.read<uint64_t>(what);
      if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        c.fail(std::string(what) + " is a u64 too large to use");
      }
      return static_cast<int64_t>(v);
    }
    default: c.fail("internal: not an integer type");
  }
}

GgufValueType read_value_type(Cursor& c, const std::string& key) {
  auto raw = c.read<uint32_t>("metadata value type");
  if (raw > static_cast<uint32_t>(GgufValueType::F64)) {
    c.fail("metadata key '" + key + "' has unknown value type " + std::to_string(raw));
  }
  return static_cast<GgufValueType>(raw);
}

GgufValue read_value(Cursor& c, GgufValueType type, const std::string& key) {
  GgufValue v;
  v.type = type;
  const char* what = "metadata value";
  if (is_integer(type)) {
    v.value = read_integer(c, type, what);
    return v;
  }
  switch (type) {
    case GgufValueType::F32: v.value = static_cast<double>(c.read<float>(what)); return v;
    case GgufValueType::F64: v.value = c.read<double>(what); return v;
    case GgufValueType::BOOL: v.value = c.read<uint8_t>(what) != 0; return v;
    case GgufValueType::STRING: v.value = c.read_string(what); return v;
    case GgufValueType::ARRAY: break;
    default: c.fail("internal: unhandled value type");
  }
  v.element_type = read_value_type(c, key);
  const auto count = c.read<uint64_t>("array length");
  const GgufValueType et = v.element_type;
  if (et == GgufValueType::ARRAY) c.fail("metadata key '" + key + "' holds nested arrays");
  // Guard against absurd counts from corrupt files before reserving memory: every element takes at
  // least one byte (a string its 8-byte length), so more elements than the bytes left cannot be.
  const uint64_t min_element_bytes = et == GgufValueType::STRING ? 8 : 1;
  if (count > c.remaining() / min_element_bytes) {
    c.fail("metadata key '" + key + "' claims " + std::to_string(count) + " array elements, more than the " +
           std::to_string(c.remaining()) + " bytes left can hold");
  }
  if (is_integer(et)) {
    std::vector<int64_t> xs;
    xs.reserve(count);
    for (uint64_t i = 0; i < count; ++i) xs.push_back(read_integer(c, et, what));
    v.value = std::move(xs);
  } else if (et == GgufValueType::F32 || et == GgufValueType::F64) {
    std::vector<double> xs;
    xs.reserve(count);
    for (uint64_t i = 0; i < count; ++i) {
      xs.push_back(et == GgufValueType::F32 ? c.read<float>(what) : c.read<double>(what));
    }
    v.value = std::move(xs);
  } else if (et == GgufValueType::BOOL) {
    std::vector<bool> xs;
    xs.reserve(count);
    for (uint64_t i = 0; i < count; ++i) xs.push_back(c.read<uint8_t>(what) != 0);
    v.value = std::move(xs);
  } else {
    std::vector<std::string> xs;
    xs.reserve(count);
    for (uint64_t i = 0; i < count; ++i) xs.push_back(c.read_string(what));
    v.value = std::move(xs);
  }
  return v;
}

}  // namespace

GgufFile::GgufFile(const std::filesystem::path& path) : file_(path) {
  const std::string name = path.string();
  Cursor c(file_.bytes(), name);
  const auto magic = c.read<uint32_t>("magic");
  if (magic != 0x46554747u) {  // "GGUF" little-endian
    c.fail("not a GGUF file (bad magic)");
  }
  version_ = c.read<uint32_t>("version");
  if (version_ < 2 || version_ > 3) {
    c.fail("unsupported GGUF version " + std::to_string(version_) + " (expected 2 or 3)");
  }
  const auto tensor_count = c.read<uint64_t>("tensor count");
  const auto kv_count = c.read<uint64_t>("metadata count");
  if (tensor_count > file_.size() || kv_count > file_.size()) {
    c.fail("corrupt header: " + std::to_string(tensor_count) + " tensors, " +
           std::to_string(kv_count) + " metadata entries");
  }

  for (uint64_t i = 0; i < kv_count; ++i) {
    std::string key = c.read_string("metadata key");
    const GgufValueType type = read_value_type(c, key);
    metadata_[key] = read_value(c, type, key);
  }
  if (auto a = get_int("general.alignment")) {
    if (*a <= 0 || (*a & (*a - 1)) != 0) c.fail("general.alignment must be a power of two");
    alignment_ = static_cast<uint64_t>(*a);
  }

  struct RawInfo {
    std::string name;
    std::vector<int64_t> shape;
    DType dtype;
    uint64_t offset;
  };
  std::vector<RawInfo> infos;
  infos.reserve(tensor_count);
  for (uint64_t i = 0; i < tensor_count; ++i) {
    RawInfo info;
    info.name = c.read_string("tensor name");
    const auto n_dims = c.read<uint32_t>("tensor rank");
    if (n_dims == 0 || n_dims > 4) {
      c.fail("tensor '" + info.name + "' has rank " + std::to_string(n_dims) + " (expected 1-4)");
    }
    // GGUF lists dimensions innermost first; TensorView wants outermost first.
    info.shape.resize(n_dims);
    // No type stores an element in less than one bit, so a tensor of more elements than 8 per byte
    // of the file cannot be in it (and the product of four dimensions could overflow).
    const uint64_t max_elements = static_cast<uint64_t>(file_.size()) * 8;
    uint64_t elements = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      const auto dim = c.read<uint64_t>("tensor dimension");
      if (dim > (uint64_t{1} << 40)) c.fail("tensor '" + info.name + "' has an absurd dimension");
      info.shape[n_dims - 1 - d] = static_cast<int64_t>(dim);
      if (dim != 0 && elements > max_elements / dim) {
        c.fail("tensor '" + info.name + "' has more elements than the file can hold");
      }
      elements *= dim;
    }
    const auto ggml_type = c.read<uint32_t>("tensor type");
    auto dtype = dtype_from_ggml(ggml_type);
    if (!dtype) {
      c.fail("tensor '" + info.name + "' has type " + std::string(ggml_type_name(ggml_type)) +
             " (ggml id " + std::to_string(ggml_type) +
             "), which troupe does not read; supported: F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, "
             "Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ1_S, IQ1_M, IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S, IQ4_NL, "
             "IQ4_XS, MXFP4");
    }
    info.dtype = *dtype;
    info.offset = c.read<uint64_t>("tensor offset");
    infos.push_back(std::move(info));
  }

  const uint64_t data_start = (c.position() + alignment_ - 1) / alignment_ * alignment_;
  tensors_.reserve(infos.size());
  for (auto& info : infos) {
    TensorView t;
    t.name = std::move(info.name);
    t.dtype = info.dtype;
    t.shape = std::move(info.shape);
    t.file = name;
    uint64_t nbytes = 0;
    try {
      nbytes = dtype_bytes_for(t.dtype, t.elements());
    } catch (const std::invalid_argument& e) {
      throw ModelError(name + ": tensor '" + t.name + "': " + e.what());
    }
    if (info.offset % alignment_ != 0) {
      throw ModelError(name + ": tensor '" + t.name + "' data offset " +
                       std::to_string(info.offset) + " is not aligned to " +
                       std::to_string(alignment_));
    }
    const uint64_t begin = data_start + info.offset;
    if (begin > file_.size() || nbytes > file_.size() - begin) {
      throw ModelError(name + ": file is truncated: tensor '" + t.name + "' needs bytes " +
                       std::to_string(begin) + ".." + std::to_string(begin + nbytes) +
                       " but the file has " + std::to_string(file_.size()));
    }
    t.data = file_.bytes().subspan(begin, nbytes);
    if (!tensor_index_.emplace(t.name, tensors_.size()).second) {
      throw ModelError(name + ": tensor '" + t.name + "' appears twice");
    }
    tensors_.push_back(std::move(t));
  }
}

const GgufValue* GgufFile::find(const std::string& key) const {
  auto it = metadata_.find(key);
  return it == metadata_.end() ? nullptr : &it->second;
}

const TensorView* GgufFile::find_tensor(const std::string& name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

namespace {
[[noreturn]] void wrong_type(const GgufFile& f, const std::string& key, const GgufValue& v,
                             const char* expected) {
  std::string got(value_type_name(v.type));
  if (v.type == GgufValueType::ARRAY) got += " of " + std::string(value_type_name(v.element_type));
  throw ModelError(f.path().string() + ": metadata key '" + key + "' is " + got + ", expected " +
                   expected);
}
}  // namespace

std::optional<int64_t> GgufFile::get_int(const std::string& key) const {
  const GgufValue* v = find(key);
  if (!v) return std::nullopt;
  if (!is_integer(v->type)) wrong_type(*this, key, *v, "an integer");
  return std::get<int64_t>(v->value);
}

std::optional<double> GgufFile::get_float(const std::string& key) const {
  const GgufValue* v = find(key);
  if (!v) return std::nullopt;
  if (is_integer(v->type)) return static_cast<double>(std::get<int64_t>(v->value));
  if (v->type != GgufValueType::F32 && v->type != GgufValueType::F64) {
    wrong_type(*this, key, *v, "a number");
  }
  return std::get<double>(v->value);
}

std::optional<bool> GgufFile::get_bool(const std::string& key) const {
  const GgufValue* v = find(key);
  if (!v) return std::nullopt;
  if (v->type != GgufValueType::BOOL) wrong_type(*this, key, *v, "a bool");
  return std::get<bool>(v->value);
}

std::optional<std::string> GgufFile::get_string(const std::string& key) const {
  const GgufValue* v = find(key);
  if (!v) return std::nullopt;
  if (v->type != GgufValueType::STRING) wrong_type(*this, key, *v, "a string");
  return std::get<std::string>(v->value);
}

const std::vector<std::string>* GgufFile::get_string_array(const std::string& key) const {
  const GgufValue* v = find(key);
  if (!v) return nullptr;
  if (v->type != GgufValueType::ARRAY || v->element_type != GgufValueType::STRING) {
    wrong_type(*this, key, *v, "an array of strings");
  }
  return &std::get<std::vector<std::string>>(v->value);
}

std::optional<std::vector<int64_t>> GgufFile::get_int_array(const std::string& key) const {
  const GgufValue* v = find(key);
  if (!v) return std::nullopt;
  if (v->type != GgufValueType::ARRAY || !is_integer(v->element_type)) {
    wrong_type(*this, key, *v, "an array of integers");
  }
  return std::get<std::vector<int64_t>>(v->value);
}

std::optional<std::vector<double>> GgufFile::get_float_array(const std::string& key) const {
  const GgufValue* v = find(key);
  if (!v) return std::nullopt;
  if (v->type != GgufValueType::ARRAY) wrong_type(*this, key, *v, "an array of numbers");
  if (is_integer(v->element_type)) {
    const auto& ints = std::get<std::vector<int64_t>>(v->value);
    return std::vector<double>(ints.begin(), ints.end());
  }
  if (v->element_type != GgufValueType::F32 && v->element_type != GgufValueType::F64) {
    wrong_type(*this, key, *v, "an array of numbers");
  }
  return std::get<std::vector<double>>(v->value);
}

}  // namespace troupe
