#include "model/fp8_weights.hpp"

#include <boost/json.hpp>

#include <array>
#include <atomic>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>
#include <thread>

#include "common/error.hpp"
#include "common/float16.hpp"

namespace troupe {

namespace json = boost::json;

std::optional<Fp8Blocks> read_fp8_quantization(const std::filesystem::path& config_json) {
  std::ifstream in(config_json);
  std::stringstream text;
  text << in.rdbuf();
  json::value config;
  try {
    config = json::parse(text.str());
  } catch (const std::exception&) {
    return std::nullopt;  // the config readers report a malformed config.json
  }
  const json::object* top = config.if_object();
  const json::value* q = top ? top->if_contains("quantization_config") : nullptr;
  if (q == nullptr || !q->is_object()) return std::nullopt;
  const json::object& o = q->as_object();
  const json::value* method = o.if_contains("quant_method");
  const std::string name = method && method->is_string() ? std::string(method->as_string()) : "";
  const std::string where = config_json.string() + ": quantization_config";
  if (name == "mxfp4") return std::nullopt;  // gpt-oss's experts (model/gpt_oss_experts.hpp)
  if (name != "fp8") {
    throw ModelError(where + " quant_method \"" + name +
                     "\" is not supported (troupe reads block-scaled \"fp8\" checkpoints, gpt-oss's \"mxfp4\", and GGUF files)");
  }
  if (const json::value* fmt = o.if_contains("fmt"); fmt && fmt->is_string() && fmt->as_string() != "e4m3") {
    throw ModelError(where + " fmt \"" + std::string(fmt->as_string()) + "\" is not supported (e4m3 is)");
  }
  const json::value* size = o.if_contains("weight_block_size");
  Fp8Blocks blocks;
  if (size == nullptr) return blocks;  // transformers' default blocks; one-element scales read per tensor
  if (size->is_null()) {
    blocks.per_tensor = true;
    return blocks;
  }
  if (!size->is_array() || size->as_array().size() != 2) {
    throw ModelError(where + ": weight_block_size must be two numbers, or null for one scale per weight");
  }
  blocks.rows = size->as_array()[0].to_number<int64_t>();
  blocks.cols = size->as_array()[1].to_number<int64_t>();
  if (blocks.rows <= 0 || blocks.cols <= 0) throw ModelError(where + ": weight_block_size must be positive");
  return blocks;
}

float fp8_e4m3_to_float(std::uint8_t byte) {
  const float sign = byte & 0x80 ? -1.0f : 1.0f;
  const int exponent = (byte >> 3) & 0xF, mantissa = byte & 0x7;
  if (exponent == 0xF && mantissa == 0x7) return std::numeric_limits<float>::quiet_NaN();
  if (exponent == 0) return sign * std::ldexp(static_cast<float>(mantissa) / 8.0f, -6);  // subnormal
  return sign * std::ldexp(1.0f + static_cast<float>(mantissa) / 8.0f, exponent - 7);
}

namespace {

constexpr int64_t kQ8Block = 32, kQ8Bytes = 34;

// ggml's quantize_row_q8_0: d = max|x| / 127, q = round(x / d) (as x · (1 / d)), d kept as float16.
void quantize_q8_0(const float* x, int64_t n, std::byte* out) {
  for (int64_t b = 0; b < n / kQ8Block; ++b, x += kQ8Block, out += kQ8Bytes) {
    float amax = 0.0f;
    for (int64_t i = 0; i < kQ8Block; ++i) amax = std::max(amax, std::fabs(x[i]));
    const float d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
    const std::uint16_t h = float_to_fp16(d);
    std::memcpy(out, &h, 2);
    for (int64_t i = 0; i < kQ8Block; ++i) out[2 + i] = std::byte(static_cast<std::uint8_t>(static_cast<std::int8_t>(std::round(x[i] * id))));
  }
}

// One weight's rows, each value its e4m3 number times its block's scale, as Q8_0 blocks (float32
// when a row is not whole blocks).
std::shared_ptr<std::vector<std::byte>> convert(const Fp8Blocks& blocks, const TensorView& t, const TensorView& scale_view) {
  static const std::array<float, 256> kE4m3 = [] {
    std::array<float, 256> table{};
    for (int b = 0; b < 256; ++b) table[static_cast<std::size_t>(b)] = fp8_e4m3_to_float(static_cast<std::uint8_t>(b));
    return table;
  }();
  const int64_t rows = t.shape[0], cols = t.shape[1], block_cols = (cols + blocks.cols - 1) / blocks.cols;
  const std::vector<float> scales = tensor_to_f32(scale_view);
  const bool q8 = cols % kQ8Block == 0;
  auto bytes = std::make_shared<std::vector<std::byte>>(
      static_cast<std::size_t>(q8 ? rows * (cols / kQ8Block) * kQ8Bytes : rows * cols * 4));
  std::vector<float> row(static_cast<std::size_t>(cols));
  const auto* values = reinterpret_cast<const std::uint8_t*>(t.data.data());
  for (int64_t r = 0; r < rows; ++r) {
    const float* block_scales = scales.data() + (r / blocks.rows) * block_cols;
    for (int64_t c = 0; c < cols; ++c) {
      row[static_cast<std::size_t>(c)] = kE4m3[values[r * cols + c]] * block_scales[c / blocks.cols];
    }
    if (q8) {
      quantize_q8_0(row.data(), cols, bytes->data() + r * (cols / kQ8Block) * kQ8Bytes);
    } else {
      std::memcpy(bytes->data() + r * cols * 4, row.data(), static_cast<std::size_t>(cols) * 4);
    }
  }
  return bytes;
}

}  // namespace

void convert_fp8_weights(const Fp8Blocks& blocks, std::map<std::string, TensorView>& tensors,
                         std::vector<std::shared_ptr<const std::vector<std::byte>>>& owned) {
  // Every FP8 weight and its scales, checked before any is converted.
  std::vector<std::pair<TensorView*, std::map<std::string, TensorView>::iterator>> jobs;
  for (auto& [name, t] : tensors) {
    if (t.dtype != DType::F8_E4M3) continue;
    if (t.shape.size() != 2) throw ModelError(t.file + ": FP8 tensor '" + t.name + "' is not a matrix");
    const auto found = tensors.find(name + "_scale_inv");
    if (found == tensors.end()) throw ModelError(t.file + ": FP8 tensor '" + t.name + "' has no " + name + "_scale_inv");
    const int64_t rows = t.shape[0], cols = t.shape[1];
    if (found->second.elements() == 1) {  // one scale for the whole weight
      jobs.emplace_back(&t, found);
      continue;
    }
    if (blocks.per_tensor) {
      throw ModelError(found->second.file + ": '" + found->second.name + "' should be one number (weight_block_size null: "
                       "per-tensor FP8)");
    }
    const int64_t block_rows = (rows + blocks.rows - 1) / blocks.rows, block_cols = (cols + blocks.cols - 1) / blocks.cols;
    if (found->second.shape != std::vector<int64_t>{block_rows, block_cols}) {
      throw ModelError(found->second.file + ": '" + found->second.name + "' should be [" + std::to_string(block_rows) + ", " +
                       std::to_string(block_cols) + "], the " + std::to_string(blocks.rows) + "x" +
                       std::to_string(blocks.cols) + " blocks of a [" + std::to_string(rows) + ", " +
                       std::to_string(cols) + "] weight");
    }
    jobs.emplace_back(&t, found);
  }
  // Converted on every core, a weight at a time (a 671B checkpoint is 671 GB of them).
  std::vector<std::shared_ptr<std::vector<std::byte>>> converted(jobs.size());
  std::atomic<std::size_t> next{0};
  const auto work = [&] {
    for (std::size_t i = next++; i < jobs.size(); i = next++) {
      const TensorView& t = *jobs[i].first;
      const TensorView& scale = jobs[i].second->second;
      // A one-element scale is one block as large as the weight.
      const Fp8Blocks own = scale.elements() == 1 ? Fp8Blocks{t.shape[0], t.shape[1], true} : blocks;
      converted[i] = convert(own, t, scale);
    }
  };
  std::vector<std::thread> threads(std::min<std::size_t>(jobs.size(), std::max(1u, std::thread::hardware_concurrency())));
  for (std::thread& thread : threads) thread = std::thread(work);
  for (std::thread& thread : threads) thread.join();
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    TensorView& t = *jobs[i].first;
    t.dtype = t.shape[1] % kQ8Block == 0 ? DType::Q8_0 : DType::F32;
    t.data = std::span<const std::byte>(converted[i]->data(), converted[i]->size());
    owned.push_back(std::move(converted[i]));
    tensors.erase(jobs[i].second);
  }
}

}  // namespace troupe
