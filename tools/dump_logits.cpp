// troupe-dump-logits: what a backend computes for given token ids, for parity checks against
// transformers and between backends (tools/gpu/device_check.sh, tools/gpu/model_parity.py).
//
//   troupe-dump-logits MODEL --device cuda --prompts prompts.json --logits out.f32 --greedy out.json [--tokens 32]
//
// prompts.json: {"sequences": [[ids], ...]}. The sequences run as one batch from position 0 with
// every token's logits; --logits gets them as raw little-endian float32 [sum of lengths, vocab],
// sequence after sequence (the layout of tests/fixtures/models/*/logits_*.f32). --greedy then
// decodes --tokens greedy tokens for every sequence, all in one batch per step, and writes
// {"device", "dtype", "sequences": [{"ids": [...], "top2_gap": [...]}]}, top2_gap[i] being the
// logit margin of token i over the runner-up (a near-tie may flip between backends).
#include <algorithm>
#include <fstream>
#include <iostream>
#include <numeric>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include "gpu/backend_factory.hpp"
#include "model/model_files.hpp"
#include "pipeline/sampling/sampler.hpp"

using namespace troupe;

namespace {

std::vector<std::vector<int32_t>> read_sequences(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const boost::json::value doc = boost::json::parse(text);  // outlives the loop (C++20 range-for)
  std::vector<std::vector<int32_t>> out;
  for (const auto& s : doc.as_object().at("sequences").as_array()) {
    std::vector<int32_t> ids;
    for (const auto& id : s.as_array()) ids.push_back(id.to_number<int32_t>());
    if (ids.empty()) throw std::runtime_error(path + ": an empty sequence");
    out.push_back(std::move(ids));
  }
  if (out.empty()) throw std::runtime_error(path + ": no sequences");
  return out;
}

float top2_gap(const float* row, int64_t vocab) {
  float first = -INFINITY, second = -INFINITY;
  for (int64_t i = 0; i < vocab; ++i) {
    if (row[i] > first) {
      second = first;
      first = row[i];
    } else if (row[i] > second) {
      second = row[i];
    }
  }
  return first - second;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Logits and greedy tokens of a model on one backend, for parity checks"};
  std::string model_path, prompts, logits_path, greedy_path, device = "cpu", dtype = "auto", kv_cache_dtype = "auto";
  int64_t tokens = 32;
  int threads = 0;
  app.add_option("model", model_path, "Hugging Face directory or .gguf file")->required();
  app.add_option("--prompts", prompts, "JSON file {\"sequences\": [[ids], ...]}")->required();
  app.add_option("--logits", logits_path, "Write every prompt token's logits here (float32)");
  app.add_option("--greedy", greedy_path, "Write greedy continuations here (JSON)");
  app.add_option("--tokens", tokens, "Greedy tokens per sequence")->check(CLI::PositiveNumber);
  app.add_option("--device", device, "cpu, cuda or cuda:N");
  app.add_option("--dtype", dtype, "CUDA: auto, bfloat16 or float16");
  app.add_option("--kv-cache-dtype", kv_cache_dtype, "KV cache element type (as troupe serve)");
  app.add_option("--threads", threads, "CPU threads (0: all cores)");
  bool float_activations = false;
  app.add_flag("--cpu-float-activations", float_activations, "CPU: exact float32 activations (as troupe serve)");
  CLI11_PARSE(app, argc, argv);
  try {
    const ModelFiles model = ModelFiles::open(model_path);
    const auto seqs = read_sequences(prompts);
    BackendOptions options;
    options.device = device;
    options.dtype = dtype;
    options.kv_cache_dtype = kv_cache_dtype;
    options.cpu_int8_activations = !float_activations;
    options.threads = threads;
    options.kv_block_size = 16;
    int64_t blocks = 0;
    std::vector<int64_t> first_block;
    for (const auto& s : seqs) {
      first_block.push_back(blocks);
      blocks += (static_cast<int64_t>(s.size()) + tokens + 15) / 16;
    }
    options.max_kv_tokens = blocks * 16;
    auto backend = make_backend(model, options);

    StepBatch batch;
    for (std::size_t i = 0; i < seqs.size(); ++i) {
      SequenceStep step;
      step.tokens = seqs[i];
      step.all_logits = true;
      const int64_t n = (static_cast<int64_t>(seqs[i].size()) + tokens + 15) / 16;
      step.block_table.resize(static_cast<std::size_t>(n));
      std::iota(step.block_table.begin(), step.block_table.end(), static_cast<int32_t>(first_block[i]));
      batch.sequences.push_back(std::move(step));
    }
    StepLogits logits;
    backend->forward(batch, logits);
    if (!logits_path.empty()) {
      std::ofstream out(logits_path, std::ios::binary);
      out.write(reinterpret_cast<const char*>(logits.values.data()),
                static_cast<std::streamsize>(logits.values.size() * sizeof(float)));
      if (!out) throw std::runtime_error("cannot write " + logits_path);
    }
    if (!greedy_path.empty()) {
      const int64_t vocab = logits.vocab;
      std::vector<boost::json::array> ids(seqs.size()), gaps(seqs.size());
      for (int64_t t = 0; t < tokens; ++t) {
        for (std::size_t i = 0; i < seqs.size(); ++i) {
          SequenceStep& step = batch.sequences[i];
          const int64_t row = logits.first_row[i] + (step.all_logits ? static_cast<int64_t>(step.tokens.size()) - 1 : 0);
          const float* r = logits.row(row);
          const int32_t next = argmax({r, static_cast<std::size_t>(vocab)});
          ids[i].push_back(next);
          gaps[i].push_back(top2_gap(r, vocab));
          step.num_cached += static_cast<int64_t>(step.tokens.size());
          step.tokens = {next};
          step.all_logits = false;
        }
        if (t + 1 < tokens) backend->forward(batch, logits);
      }
      boost::json::array out_seqs;
      for (std::size_t i = 0; i < seqs.size(); ++i) out_seqs.push_back({{"ids", ids[i]}, {"top2_gap", gaps[i]}});
      std::ofstream out(greedy_path);
      out << boost::json::serialize(
          boost::json::object{{"device", std::string(backend->name())}, {"dtype", dtype}, {"sequences", out_seqs}});
      if (!out) throw std::runtime_error("cannot write " + greedy_path);
    }
    std::cerr << "troupe-dump-logits: " << backend->name() << ", " << seqs.size() << " sequences, vocab " << logits.vocab
              << "\n";
  } catch (const std::exception& e) {
    std::cerr << "troupe-dump-logits: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
