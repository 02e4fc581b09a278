// The real default model (SmolLM2-135M-Instruct, Q4_1 GGUF) decoded greedily on the CPU backend,
// against two independent references recorded by tools/make_llamacpp_reference.py:
//  - llama.cpp (llama-cpp-python) on the same file. llama.cpp quantizes activations to 8 bits for
//    its dot products, so where two candidates are nearly tied its argmax can legitimately differ
//    from float32 arithmetic; on the prompts where it decodes like float32 does, we must match it.
//  - transformers in float32 on the same weights dequantized by the gguf package: the same
//    arithmetic as ours, so all 64 tokens must match up to near-ties.
#include <catch2/catch.hpp>

#include "gpu/cpu/cpu_backend.hpp"
#include "tests/support/fixtures.hpp"
#include "tests/support/greedy.hpp"

using namespace troupe;

namespace {

std::vector<int32_t> ids_of(const boost::json::value& v) {
  std::vector<int32_t> ids;
  for (const auto& x : v.as_array()) ids.push_back(x.to_number<int32_t>());
  return ids;
}

std::size_t common_prefix(const std::vector<int32_t>& a, const std::vector<int32_t>& b) {
  std::size_t n = 0;
  while (n < a.size() && n < b.size() && a[n] == b[n]) ++n;
  return n;
}

}  // namespace

TEST_CASE("SmolLM2 GGUF greedy decoding matches llama.cpp and float32 transformers", "[gpu][cpu][smollm2]") {
  const char* model_path = std::getenv("TROUPE_DEFAULT_MODEL");
  REQUIRE(model_path != nullptr);  // the test command fetches the default model and sets this
  const auto ref = test::read_json(test::fixture("smollm2/greedy_reference.json")).as_object();
  const ModelFiles model = ModelFiles::open(model_path);
  BackendOptions options;
  options.max_kv_tokens = 256;
  CpuBackend backend(model, options);

  int matched_llama_cpp = 0;
  for (const auto& p : ref.at("prompts").as_array()) {
    const std::string name(p.at("name").as_string());
    INFO("prompt " << name);
    const auto prompt = ids_of(p.at("prompt_ids"));
    const auto llama_cpp = ids_of(p.at("generated_ids"));
    const auto hf_fp32 = ids_of(p.at("hf_fp32_generated_ids"));
    const auto ours = test::greedy_on_backend(backend, prompt, static_cast<int64_t>(hf_fp32.size()), backend.kv_num_blocks());

    // Against float32 transformers: every token up to the first near-tie (margin < 0.02 logits,
    // where summation order alone may flip the choice).
    std::size_t must_match = hf_fp32.size();
    const auto& margins = p.at("hf_fp32_top1_margin").as_array();
    for (std::size_t i = 0; i < margins.size(); ++i) {
      if (margins[i].to_number<double>() < 0.02) {
        must_match = i;
        break;
      }
    }
    INFO("tokens that must match float32 transformers: " << must_match);
    CHECK(common_prefix(ours, hf_fp32) >= must_match);

    // Where llama.cpp's own arithmetic decodes the first 32 tokens as float32 does, ours must
    // equal llama.cpp's for those 32.
    if (p.at("hf_fp32_agrees_for_first").to_number<int64_t>() >= 32) {
      CHECK(common_prefix(ours, llama_cpp) >= 32);
      ++matched_llama_cpp;
    }
  }
  CHECK(matched_llama_cpp >= 2);
}
