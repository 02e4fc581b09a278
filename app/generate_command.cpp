// `troupe generate MODEL --prompt TEXT [--chat] --max-tokens N`: one sequence, run to completion on
// one backend, without the serving pipeline, its text streamed to stdout as it is generated. It is
// the quickest end-to-end check of a model and the tool behind the decode-speed figures in
// docs/BENCHMARKS.md. `--prompt-ids` takes token ids instead of text; `--print-ids` prints ids.
#include <cctype>
#include <chrono>
#include <fstream>
#include <optional>
#include <iterator>
#include <iostream>
#include <numeric>
#include <sstream>

#include "app/commands.hpp"
#include "app/model_resolver.hpp"
#include "common/error.hpp"
#include "gpu/backend_factory.hpp"
#include "pipeline/model_text.hpp"
#include "pipeline/sampling/sampler.hpp"
#include "pipeline/tokenizer/incremental_detokenizer.hpp"

namespace troupe::app {

namespace {

struct GenerateOptions {
  std::string model;
  std::string prompt;
  std::string prompt_ids;
  bool chat = false;
  std::string chat_template;
  bool cpu_float_activations = false;
  int64_t max_tokens = 64;
  bool ignore_eos = false;
  std::string device = "auto";
  int threads = 0;
  int tensor_parallel_size = 0;  // 0: the whole model in one backend
  std::string dtype = "auto";
  std::string kv_cache_dtype = "auto";
  int64_t max_num_batched_tokens = 512;  // the prompt's chunk: tokens per forward step, as serve's
  SamplingParams sampling;
  uint64_t seed = 0;
  bool print_ids = false;
};

// "1,2,3", or "@FILE" for the same list in a file (a long prompt's ids exceed what one command-line
// argument may hold: 128 KiB on Linux, about 25,000 ids). Whitespace around ids is ignored.
std::vector<int32_t> parse_ids(const std::string& arg) {
  std::string text = arg;
  if (!arg.empty() && arg.front() == '@') {
    std::ifstream in(arg.substr(1));
    if (!in) throw ConfigError("--prompt-ids: cannot read " + arg.substr(1));
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  std::erase_if(text, [](unsigned char c) { return std::isspace(c) != 0; });
  std::vector<int32_t> ids;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    try {
      std::size_t used = 0;
      long v = std::stol(item, &used);
      if (used != item.size() || v < 0 || v > INT32_MAX) throw std::invalid_argument(item);
      ids.push_back(static_cast<int32_t>(v));
    } catch (const std::exception&) {
      throw ConfigError("--prompt-ids: '" + item + "' is not a token id (expected comma-separated integers)");
    }
  }
  if (ids.empty()) throw ConfigError("--prompt-ids: no token ids given");
  return ids;
}

void run_generate(const GenerateOptions& opt, CLI::App* cmd) {
  using clock = std::chrono::steady_clock;
  const ModelFiles model = ModelFiles::open(resolve_model(opt.model));
  const ModelSpec& spec = model.spec();
  if (opt.prompt.empty() == opt.prompt_ids.empty()) throw ConfigError("give exactly one of --prompt and --prompt-ids");
  // Ids in, ids out needs no tokenizer: a bare checkpoint (no tokenizer files) runs too.
  std::optional<ModelText> text;
  if (opt.prompt_ids.empty() || !opt.print_ids) text.emplace(load_model_text(model, opt.chat_template));
  std::vector<int32_t> prompt;
  if (!opt.prompt_ids.empty()) {
    prompt = parse_ids(opt.prompt_ids);
  } else if (opt.chat) {
    boost::json::array messages{boost::json::object{{"role", "user"}, {"content", opt.prompt}}};
    prompt = text->encode_chat(messages, {});
  } else {
    prompt = text->tokenizer.encode(opt.prompt, /*add_special_tokens=*/true);
  }
  if (prompt.empty()) throw ConfigError("the prompt encodes to no tokens");
  if (static_cast<int64_t>(prompt.size()) + opt.max_tokens > spec.max_position) {
    throw ConfigError("prompt (" + std::to_string(prompt.size()) + " tokens) plus --max-tokens " +
                      std::to_string(opt.max_tokens) + " exceed the model's context of " +
                      std::to_string(spec.max_position));
  }

  BackendOptions bopt;
  bopt.device = opt.device;
  bopt.threads = opt.threads;
  bopt.dtype = opt.dtype;
  bopt.kv_cache_dtype = opt.kv_cache_dtype;
  bopt.max_kv_tokens = static_cast<int64_t>(prompt.size()) + opt.max_tokens;
  bopt.cpu_int8_activations = !opt.cpu_float_activations;
  const auto t_load = clock::now();
  auto backend = opt.tensor_parallel_size > 0 ? make_tensor_parallel_backend(model, bopt, opt.tensor_parallel_size)
                                              : make_backend(model, bopt);
  const double load_s = std::chrono::duration<double>(clock::now() - t_load).count();

  SamplingParams sp = opt.sampling;
  if (cmd->count("--seed") > 0) sp.seed = opt.seed;
  Sampler sampler(sp);

  SequenceStep seq;
  seq.state_slot = 0;  // the one sequence's (models with per-sequence state need one)
  seq.block_table.resize(static_cast<std::size_t>(backend->kv_num_blocks()));
  std::iota(seq.block_table.begin(), seq.block_table.end(), 0);
  StepBatch batch;
  StepLogits logits;
  std::vector<int32_t> generated;
  std::optional<IncrementalDetokenizer> detok;
  if (!opt.print_ids) detok.emplace(text->tokenizer);

  const auto t0 = clock::now();
  // The prompt runs in chunks of at most --max-num-batched-tokens, as `troupe serve` and
  // llama.cpp's ubatches run it: a step holds activations for each of its tokens, so memory grew
  // with the prompt (1B shape: peak RSS 1.69 GB for a 4,000-token prompt in one step, 1.25 GB in
  // chunks of 512; 5.7 GiB resident during a 32K one), and the chunks ran faster too (157 against
  // 142-150 tok/s for that prompt). Only the last chunk's logits count.
  const auto chunk = static_cast<std::size_t>(opt.max_num_batched_tokens);
  std::size_t done = 0;
  for (; prompt.size() - done > chunk; done += chunk) {
    seq.tokens.assign(prompt.begin() + static_cast<std::ptrdiff_t>(done),
                      prompt.begin() + static_cast<std::ptrdiff_t>(done + chunk));
    batch.sequences = {seq};
    backend->forward(batch, logits);
    seq.num_cached += static_cast<int64_t>(chunk);
  }
  seq.tokens.assign(prompt.begin() + static_cast<std::ptrdiff_t>(done), prompt.end());
  clock::time_point t_first;
  while (static_cast<int64_t>(generated.size()) < opt.max_tokens) {
    batch.sequences = {seq};
    backend->forward(batch, logits);
    const int32_t token = sampler.sample({logits.row(0), static_cast<std::size_t>(logits.vocab)});
    if (generated.empty()) t_first = clock::now();
    generated.push_back(token);
    // The token that ends generation is not part of the text, as the server leaves it out (vLLM's
    // rule), also where it is no special token (Gemma 4's <turn|> in a GGUF that types it normal).
    const bool eos = std::find(spec.eos_token_ids.begin(), spec.eos_token_ids.end(), token) != spec.eos_token_ids.end();
    if (eos && !opt.ignore_eos && !opt.print_ids) break;
    if (opt.print_ids) {
      std::cout << (generated.size() > 1 ? "," : "") << token << std::flush;
    } else {
      std::cout << detok->push(token) << std::flush;
    }
    if (eos && !opt.ignore_eos) break;
    seq.num_cached += static_cast<int64_t>(seq.tokens.size());
    seq.tokens = {token};
  }
  if (!opt.print_ids) std::cout << detok->finish();
  std::cout << "\n";
  const auto t_end = clock::now();
  const double prefill_s = std::chrono::duration<double>(t_first - t0).count();
  const double decode_s = std::chrono::duration<double>(t_end - t_first).count();
  const auto decoded = static_cast<double>(generated.size() - 1);
  std::cerr << "troupe: " << backend->name() << ", load " << load_s << " s, prompt " << prompt.size()
            << " tokens in " << prefill_s << " s (" << static_cast<double>(prompt.size()) / prefill_s
            << " tok/s), generated " << generated.size() << " tokens, decode "
            << (decoded > 0 ? decoded / decode_s : 0.0) << " tok/s\n";
}

}  // namespace

void add_generate_command(CLI::App& app) {
  auto opt = std::make_shared<GenerateOptions>();
  CLI::App* cmd = app.add_subcommand("generate", "Generate text for one prompt on one backend");
  cmd->add_option("model", opt->model, "Model: a Hugging Face directory, a .gguf file, or the alias smollm2")->required();
  cmd->add_option("--prompt", opt->prompt, "Prompt text");
  cmd->add_option("--prompt-ids", opt->prompt_ids, "Prompt as comma-separated token ids, or @FILE holding them");
  cmd->add_flag("--chat", opt->chat, "Wrap --prompt as a user message in the model's chat template");
  cmd->add_option("--chat-template", opt->chat_template, "Chat template (a Jinja file, or the template itself) for --chat");
  cmd->add_flag("--print-ids", opt->print_ids, "Print generated token ids instead of text");
  cmd->add_option("--max-tokens", opt->max_tokens, "Tokens to generate")->check(CLI::PositiveNumber);
  cmd->add_flag("--ignore-eos", opt->ignore_eos, "Keep generating past end-of-sequence tokens");
  cmd->add_option("--device", opt->device, "auto, cpu, cuda or cuda:N");
  cmd->add_option("--threads", opt->threads, "CPU threads (0: all cores)");
  cmd->add_option("--tensor-parallel-size", opt->tensor_parallel_size,
                  "Ranks that split the model and sum their parts (with --device cpu, each on its own cores)")
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--cpu-float-activations", opt->cpu_float_activations, kCpuFloatActivationsHelp);
  cmd->add_option("--dtype", opt->dtype, "CUDA weights and activations: auto (bfloat16), bfloat16 or float16");
  cmd->add_option("--kv-cache-dtype", opt->kv_cache_dtype,
                  "KV cache element type: auto (the model's float dtype; float16 for a quantized GGUF), float32, float16, bfloat16, fp8 (e4m3) or q8_0 (CPU)");
  cmd->add_option("--max-num-batched-tokens", opt->max_num_batched_tokens,
                  "Prompt tokens per forward step: a longer prompt runs in chunks of this many, as in serve")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--temperature", opt->sampling.temperature, "0 (default) is greedy")->check(CLI::NonNegativeNumber);
  cmd->add_option("--top-k", opt->sampling.top_k, "Sample from the k most likely tokens (0: all)");
  cmd->add_option("--top-p", opt->sampling.top_p, "Nucleus sampling threshold")->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--min-p", opt->sampling.min_p, "Drop tokens below min-p × the top probability")->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--seed", opt->seed, "Seed for sampling");
  cmd->callback([opt, cmd] { run_generate(*opt, cmd); });
}

}  // namespace troupe::app
