// `troupe serve MODEL`: loads the model, starts the actor system and the HTTP server, and serves
// the OpenAI-compatible API until SIGINT or SIGTERM. Flags follow `vllm serve` where one with the
// same meaning exists.
#include <semaphore.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <mutex>
#include <fstream>
#include <sstream>
#include <iostream>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <thread>

#include <spdlog/spdlog.h>

#include "actors/engine_runtime.hpp"
#include "app/byte_size.hpp"
#include "app/commands.hpp"
#include "app/model_resolver.hpp"
#include "common/error.hpp"
#include "gpu/backend_factory.hpp"
#include "engine/draft_proposer.hpp"
#include "http/http_server.hpp"
#include "pipeline/speculative/speculative_config.hpp"
#include "telemetry/metric_labels.hpp"
#include "telemetry/request_log.hpp"

namespace troupe::app {

namespace {

struct ServeOptions {
  std::string model;
  std::string host = "0.0.0.0";
  uint16_t port = 8000;
  std::string served_model_name;
  int64_t max_model_len = 0;
  int64_t max_num_seqs = 64;
  int64_t max_num_batched_tokens = 512;
  int64_t block_size = 16;
  std::string kv_cache_memory = "1GiB";
  double gpu_memory_utilization = 0.9;
  std::string api_key;
  std::string api_keys_file;
  uint16_t metrics_port = 0;
  std::string device = "auto";
  int data_parallel_size = 1;
  int tensor_parallel_size = 0;  // 0: not asked for (one whole model per engine); 1 or more: a group of ranks
  std::string devices;  // "0,1": CUDA device indices, one engine each
  int threads = 0;
  std::string dtype = "auto";
  std::string kv_cache_dtype = "auto";
  int64_t max_queue_len = 1024;
  bool no_prefix_caching = false;
  int tokenizer_workers = 2;
  int tokenizer_delay_ms = 0;
  int64_t max_body_bytes = 4 << 20;
  double shutdown_timeout_s = 30;
  double prefill_budget_ms = 50;
  int64_t long_prefill_token_threshold = 0;
  double stream_write_timeout_s = 60;
  std::string metric_labels;       // --metric-labels k=v,...
  std::string log_format = "text";  // --log-format text|json
  bool enable_auto_tool_choice = false;  // accepted for vLLM's command lines: automatic tools are the default
  bool disable_auto_tool_choice = false;
  std::string tool_call_parser;
  std::string reasoning_parser;
  std::string chat_template;
  std::string structured_outputs_config;  // vLLM's --structured-outputs-config JSON
  std::string speculative_config;         // vLLM's --speculative-config JSON
  bool cpu_float_activations = false;
};

// system_fingerprint: "troupe-<version>-<8 hex>", the hex from an FNV-1a hash of what decides the
// output for a given request (the model file, its size, the context length, the devices), so it
// changes when the deployment does and not between restarts of the same one.
std::string system_fingerprint(const std::filesystem::path& model, int64_t max_model_len,
                               const std::vector<std::shared_ptr<Backend>>& backends) {
  std::string identity = std::filesystem::absolute(model).string() + "|" + std::to_string(max_model_len);
  std::error_code ec;
  if (std::filesystem::is_regular_file(model, ec)) identity += "|" + std::to_string(std::filesystem::file_size(model, ec));
  for (const auto& backend : backends) identity += "|" + backend->device_label();
  uint64_t hash = 1469598103934665603ULL;
  for (unsigned char c : identity) {
    hash ^= c;
    hash *= 1099511628211ULL;
  }
  char hex[9];
  std::snprintf(hex, sizeof hex, "%08x", static_cast<unsigned>(hash >> 32));
  return std::string("troupe-") + TROUPE_VERSION + "-" + hex;
}

// SIGINT/SIGTERM handling for the server's lifetime. A handler (not a blocked mask: OpenBLAS
// starts its threads before main, with signals unblocked) posts a semaphore — one of the few
// async-signal-safe calls — and a waiter thread drains the server: no new work, /health 503, up to
// --shutdown-timeout for running requests, then the rest end with an error event (see
// HttpServer::drain). A second signal while draining stops at once. Whatever way run_serve ends (a
// signal, or an exception while loading), the destructor wakes the waiter and joins it.
sem_t shutdown_semaphore;
std::atomic<int> shutdown_signal{0};

extern "C" void on_shutdown_signal(int sig) {
  shutdown_signal.store(sig);
  sem_post(&shutdown_semaphore);
}

// Streams cancelled at the end of a drain get this long to have their last events written.
constexpr std::chrono::seconds kShutdownFlush{5};

class ShutdownSignals {
 public:
  explicit ShutdownSignals(std::chrono::milliseconds grace) : grace_(grace) {
    sem_init(&shutdown_semaphore, 0, 0);
    struct sigaction action {};
    action.sa_handler = on_shutdown_signal;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, nullptr);
    sigaction(SIGTERM, &action, nullptr);
    waiter_ = std::thread([this] { wait_for_signals(); });
  }
  ~ShutdownSignals() {
    {
      std::lock_guard lock(mutex_);
      done_ = true;
      server_ = nullptr;
    }
    sem_post(&shutdown_semaphore);
    if (drainer_.joinable()) drainer_.join();
    waiter_.join();
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
  }
  // The server a signal drains; false when a signal already came (then do not start serving).
  bool attach(HttpServer* server) {
    std::lock_guard lock(mutex_);
    server_ = server;
    return !stopping_;
  }
  // The server stopped serving: signals no longer reach it, and a drain in progress has finished
  // with it before it is destroyed.
  void detach() {
    std::thread drainer;
    {
      std::lock_guard lock(mutex_);
      server_ = nullptr;
      drainer = std::move(drainer_);
    }
    if (drainer.joinable()) drainer.join();
  }

 private:
  void wait_for_signals() {
    for (;;) {
      while (sem_wait(&shutdown_semaphore) != 0 && errno == EINTR) {
      }
      std::lock_guard lock(mutex_);
      if (done_) return;
      const int sig = shutdown_signal.load();
      const char* name = sig == SIGINT ? "SIGINT" : "SIGTERM";
      if (stopping_) {
        spdlog::warn("troupe: {} received again, stopping now", name);
        if (server_ != nullptr) server_->stop();
        continue;
      }
      stopping_ = true;
      if (server_ == nullptr) continue;
      spdlog::info("troupe: {} received: draining (up to {} ms for running requests)", name, grace_.count());
      HttpServer* server = server_;
      // drain() blocks for up to the grace period; it runs apart so a second signal is still heard.
      drainer_ = std::thread([server, grace = grace_] {
        const std::size_t cancelled = server->drain(grace, kShutdownFlush);
        if (cancelled > 0) spdlog::warn("troupe: {} requests still running after the grace period were ended", cancelled);
        spdlog::info("troupe: drained, shutting down");
      });
    }
  }

  std::chrono::milliseconds grace_;
  std::thread waiter_;
  std::thread drainer_;
  std::mutex mutex_;
  HttpServer* server_ = nullptr;
  bool stopping_ = false;
  bool done_ = false;
};

// --api-keys-file: one "TENANT KEY" per line; blank lines and # comments ignored. Tenant names
// become metric labels, so their number is bounded by this file.
std::vector<HttpServerOptions::TenantKey> read_api_keys(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ConfigError("--api-keys-file " + path + ": cannot read it");
  std::vector<HttpServerOptions::TenantKey> keys;
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    std::istringstream fields(line);
    std::string tenant, key, extra;
    if (!(fields >> tenant) || tenant[0] == '#') continue;
    if (!(fields >> key) || (fields >> extra)) {
      throw ConfigError("--api-keys-file " + path + " line " + std::to_string(number) + ": expected 'TENANT KEY'");
    }
    keys.push_back({tenant, key});
  }
  if (keys.empty()) throw ConfigError("--api-keys-file " + path + ": no keys");
  return keys;
}

// One BackendOptions per engine. --devices 0,2 names CUDA devices; otherwise
// --data-parallel-size N engines on --device: cuda/auto take devices 0..N-1, cpu makes N CPU
// engines (labelled cpu:0..), each on its own share of the cores (split again among its
// tensor-parallel ranks).
// With --tensor-parallel-size N each engine's group takes N consecutive CUDA devices.
std::vector<BackendOptions> engine_backend_options(const ServeOptions& opt, const BackendOptions& base) {
  std::vector<BackendOptions> out;
  const int tp = std::max(1, opt.tensor_parallel_size);
  if (!opt.devices.empty()) {
    std::stringstream ss(opt.devices);
    std::string item;
    std::vector<int> devices;
    while (std::getline(ss, item, ',')) {
      try {
        devices.push_back(std::stoi(item));
      } catch (const std::exception&) {
        throw ConfigError("--devices " + opt.devices + ": '" + item + "' is not a device index");
      }
    }
    if (devices.size() % static_cast<std::size_t>(tp) != 0) {
      throw ConfigError("--devices lists " + std::to_string(devices.size()) + " devices; --tensor-parallel-size " +
                        std::to_string(tp) + " needs a multiple of " + std::to_string(tp) + " (that many per engine)");
    }
    for (std::size_t first = 0; first < devices.size(); first += static_cast<std::size_t>(tp)) {
      for (int r = 1; r < tp; ++r) {
        if (devices[first + static_cast<std::size_t>(r)] != devices[first] + r) {
          throw ConfigError("--devices " + opt.devices + ": each engine's " + std::to_string(tp) +
                            " devices must be consecutive indices (reorder them with CUDA_VISIBLE_DEVICES)");
        }
      }
      BackendOptions b = base;
      b.device = "cuda:" + std::to_string(devices[first]);
      out.push_back(b);
    }
    return out;
  }
  const int n = std::max(1, opt.data_parallel_size);
  for (int i = 0; i < n; ++i) {
    BackendOptions b = base;
    b.device = opt.device;
    if (n > 1) {
      if (opt.device == "cpu") {
        const int cores = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
        b.label = "cpu:" + std::to_string(i);
        if (b.threads == 0) b.threads = std::max(1, cores / n);
        if ((i + 1) * b.threads <= cores) b.cpu_first_core = i * b.threads;  // engines on cores of their own
      } else {
        b.device = "cuda:" + std::to_string(i * tp);
      }
    }
    out.push_back(b);
  }
  return out;
}

// vLLM's --structured-outputs-config: a JSON object whose disable_any_whitespace sets the default
// of every JSON constraint; "backend" names vLLM's grammar engines (troupe has one: accepted).
bool parse_structured_outputs_config(const std::string& text) {
  if (text.empty()) return false;
  boost::system::error_code ec;
  const boost::json::value v = boost::json::parse(text, ec);
  if (ec || !v.is_object()) throw ConfigError("--structured-outputs-config: not a JSON object: " + text);
  bool disable = false;
  for (const auto& [key, value] : v.as_object()) {
    if (key == "disable_any_whitespace" && value.is_bool()) {
      disable = value.as_bool();
    } else if (key != "backend" && key != "disable_fallback" && key != "disable_additional_properties") {
      throw ConfigError("--structured-outputs-config: unsupported key \"" + std::string(key) +
                        "\" (supported: disable_any_whitespace, backend)");
    }
  }
  return disable;
}

std::chrono::milliseconds seconds_option(double seconds) {
  return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000.0));
}

void run_serve(const ServeOptions& opt) {
  // Flags that need no model are checked first, so a typo fails at once.
  const prometheus::Labels metric_labels = parse_metric_labels(opt.metric_labels);
  configure_logging(parse_log_format(opt.log_format));
  const SpeculativeConfig speculative = parse_speculative_config(opt.speculative_config);
  ShutdownSignals signals(seconds_option(opt.shutdown_timeout_s));
  const auto path = resolve_model(opt.model);
  ModelFiles model = ModelFiles::open(path);
  const ModelSpec& spec = model.spec();
  auto text = std::make_shared<const ModelText>(load_model_text(model, opt.chat_template));

  const int64_t max_model_len = opt.max_model_len > 0 ? opt.max_model_len : spec.max_position;
  if (max_model_len > spec.max_position) {
    throw ConfigError("--max-model-len " + std::to_string(max_model_len) + " exceeds the model's context of " +
                      std::to_string(spec.max_position));
  }
  // LongRoPE picks its factor set by the context served (vLLM's rule).
  model.limit_context(max_model_len);
  BackendOptions bopt;
  bopt.threads = opt.threads;
  bopt.dtype = opt.dtype;
  bopt.kv_cache_dtype = opt.kv_cache_dtype;
  bopt.kv_block_size = opt.block_size;
  bopt.kv_cache_bytes = parse_byte_size(opt.kv_cache_memory, "--kv-cache-memory");
  bopt.gpu_memory_utilization = opt.gpu_memory_utilization;
  bopt.cpu_int8_activations = !opt.cpu_float_activations;
  std::vector<std::shared_ptr<Backend>> backends;
  for (const BackendOptions& engine : engine_backend_options(opt, bopt)) {
    backends.push_back(opt.tensor_parallel_size > 0 ? make_tensor_parallel_backend(model, engine, opt.tensor_parallel_size)
                                                    : make_backend(model, engine));
    const Backend& b = *backends.back();
    spdlog::info("troupe: engine {}: {} on {}: {} layers, {} KV blocks of {} tokens ({:.0f} MiB), weights {:.0f} MiB",
                 backends.size() - 1, path.string(), b.device_label(), spec.num_layers, b.kv_num_blocks(),
                 b.kv_block_size(), static_cast<double>(b.kv_cache_bytes()) / (1 << 20),
                 static_cast<double>(b.weight_bytes()) / (1 << 20));
    if (const int64_t state = b.sequence_state_bytes(); state > 0) {
      // Held per running sequence beside its KV blocks, so --max-num-seqs bounds it.
      spdlog::info("troupe: engine {}: {:.2f} MiB of recurrent state per sequence, {:.0f} MiB at --max-num-seqs {}",
                   backends.size() - 1, static_cast<double>(state) / (1 << 20),
                   static_cast<double>(state * opt.max_num_seqs) / (1 << 20), opt.max_num_seqs);
    }
  }

  // The backends copied the weights: what ModelFiles rearranged at load into memory of its own goes.
  if (const std::size_t freed = model.drop_rearranged(); freed > 0) {
    spdlog::info("troupe: {:.0f} MiB of weights rearranged at load freed", static_cast<double>(freed) / (1 << 20));
  }

  // Speculative decoding with a draft model: one per engine beside its target, its KV cache in the
  // target's geometry (the two share block tables).
  std::optional<ModelFiles> draft_model;
  std::vector<std::shared_ptr<Backend>> drafts;
  if (speculative.method == SpeculativeMethod::Draft) {
    const auto draft_path = resolve_model(speculative.draft_model);
    draft_model.emplace(ModelFiles::open(draft_path));
    const std::vector<BackendOptions> engines = engine_backend_options(opt, bopt);
    for (std::size_t i = 0; i < backends.size(); ++i) {
      BackendOptions d = engines[i];
      d.kv_cache_bytes = 0;
      d.max_kv_tokens = backends[i]->kv_num_blocks() * backends[i]->kv_block_size();
      drafts.push_back(make_backend(*draft_model, d));
      DraftModelProposer::check_compatible(*drafts.back(), *backends[i]);
      spdlog::info("troupe: engine {}: draft model {} on {}: KV {:.0f} MiB, weights {:.0f} MiB", i, draft_path.string(),
                   drafts.back()->device_label(), static_cast<double>(drafts.back()->kv_cache_bytes()) / (1 << 20),
                   static_cast<double>(drafts.back()->weight_bytes()) / (1 << 20));
    }
    draft_model->drop_rearranged();
  }

  ServedModel served;
  served.name = opt.served_model_name.empty() ? path.filename().string() : opt.served_model_name;
  served.max_model_len = max_model_len;
  served.created = static_cast<int64_t>(std::time(nullptr));
  served.root = path.string();
  served.version = TROUPE_VERSION;
  served.system_fingerprint = system_fingerprint(path, max_model_len, backends);
  served.vocab_size = spec.vocab_size;
  served.enable_auto_tool_choice = !opt.disable_auto_tool_choice;
  if (opt.disable_auto_tool_choice && opt.enable_auto_tool_choice) {
    throw ConfigError("--disable-auto-tool-choice and --enable-auto-tool-choice contradict each other");
  }
  std::string_view format_source = "--tool-call-parser";
  if (!opt.tool_call_parser.empty()) {
    ToolCallFormat format;
    if (!tool_call_format_from_name(opt.tool_call_parser, format)) {
      throw ConfigError("--tool-call-parser " + opt.tool_call_parser + ": unknown parser (use one of " + tool_call_parser_names() + ")");
    }
    served.tool_call_format = format;
  } else {
    served.tool_call_format = tool_call_format_of_template(text->chat_template->source());
    format_source = "the chat template";
  }
  if (!opt.reasoning_parser.empty()) {
    bool harmony = false;
    if (!reasoning_format_from_name(opt.reasoning_parser, served.reasoning, harmony)) {
      throw ConfigError("--reasoning-parser " + opt.reasoning_parser + ": unknown parser (use one of " +
                        reasoning_parser_names() + ")");
    }
    if (harmony) served.tool_call_format = ToolCallFormat::Harmony;
    spdlog::info("troupe: chat replies' reasoning is returned as `reasoning` (--reasoning-parser {})", opt.reasoning_parser);
  }
  served.disable_any_whitespace = parse_structured_outputs_config(opt.structured_outputs_config);
  if (!served.enable_auto_tool_choice) {
    spdlog::info("troupe: tool_choice \"auto\" is turned off (--disable-auto-tool-choice): it answers 400");
  } else if (served.tool_call_format) {
    spdlog::info("troupe: tool calls are parsed as {} ({})", tool_call_format_name(*served.tool_call_format),
                 format_source);
  } else {
    spdlog::info("troupe: the chat template has no tool-call format troupe parses ({}): requests "
                 "with tools and tool_choice \"auto\" are answered in text (troupe_auto_tools_as_text_total); "
                 "--tool-call-parser chooses one", tool_call_parser_names());
  }

  EngineOptions eopt;
  eopt.scheduler.max_num_seqs = opt.max_num_seqs;
  eopt.scheduler.max_num_batched_tokens = opt.max_num_batched_tokens;
  eopt.scheduler.enable_prefix_caching = !opt.no_prefix_caching;
  if (spec.has_sequence_state()) {
    // A prefix-cache hit or a rejected guess would need the recurrent layers' state as of that
    // position, which is not kept (vLLM's hybrid models had neither at first either).
    if (speculative.enabled()) {
      throw ConfigError("--speculative-config: " + std::string(architecture_name(spec.arch)) +
                        " keeps per-sequence recurrent state, which rejected guesses cannot be taken back from");
    }
    if (eopt.scheduler.enable_prefix_caching) {
      spdlog::info("troupe: prefix caching is off: {} keeps per-sequence recurrent state besides the KV cache",
                   architecture_name(spec.arch));
    }
    eopt.scheduler.enable_prefix_caching = false;
  }
  eopt.scheduler.max_waiting = opt.max_queue_len;
  eopt.scheduler.prefill_budget_seconds = opt.prefill_budget_ms / 1000.0;
  eopt.scheduler.long_prefill_token_threshold = opt.long_prefill_token_threshold;
  eopt.scheduler.speculative = speculative;
  eopt.draft_backends = drafts;
  if (speculative.enabled()) spdlog::info("troupe: speculative decoding: {}", describe(speculative));
  eopt.tokenizer_workers = opt.tokenizer_workers;
  eopt.tokenizer_delay_ms = opt.tokenizer_delay_ms;
  eopt.version = TROUPE_VERSION;
  eopt.metric_labels = metric_labels;

  HttpServerOptions hopt;
  hopt.host = opt.host;
  hopt.port = opt.port;
  if (!opt.api_key.empty()) hopt.api_key = opt.api_key;
  if (!opt.api_keys_file.empty()) hopt.tenant_keys = read_api_keys(opt.api_keys_file);
  hopt.max_body_bytes = static_cast<std::size_t>(opt.max_body_bytes);
  hopt.stream_write_timeout = seconds_option(opt.stream_write_timeout_s);
  if (const char* dev = std::getenv("VLLM_SERVER_DEV_MODE"); dev != nullptr && std::string_view(dev) == "1") {
    hopt.dev_mode = true;
    spdlog::info("troupe: VLLM_SERVER_DEV_MODE=1: /pause, /resume and /is_paused are served");
  }

  EngineRuntime engine(served, text, backends, eopt);
  HttpServer server(engine, hopt);
  // --metrics-port: a second listener with /metrics and /health only, for scrapers kept off the
  // API port.
  std::unique_ptr<HttpServer> metrics_server;
  std::thread metrics_thread;
  if (opt.metrics_port != 0) {
    HttpServerOptions mopt = hopt;
    mopt.port = opt.metrics_port;
    mopt.metrics_only = true;
    mopt.io_threads = 1;
    metrics_server = std::make_unique<HttpServer>(engine, mopt);
    metrics_thread = std::thread([&] { metrics_server->run(); });
    spdlog::info("troupe: metrics at http://{}:{}/metrics", opt.host, metrics_server->port());
  }
  struct StopMetrics {
    std::unique_ptr<HttpServer>& server;
    std::thread& thread;
    ~StopMetrics() {
      if (server) server->stop();
      if (thread.joinable()) thread.join();
    }
  } stop_metrics{metrics_server, metrics_thread};
  if (!signals.attach(&server)) return;
  const std::string shown_host = opt.host == "0.0.0.0" ? "127.0.0.1" : opt.host;
  spdlog::info("troupe: serving {} at http://{}:{}/v1 (max_model_len {})", served.name, shown_host, server.port(),
               max_model_len);
  std::cout << "troupe: ready at http://" << shown_host << ":" << server.port() << "/v1" << std::endl;
  server.run();  // returns after stop() (a drain ends with it)
  signals.detach();
}

}  // namespace

void add_serve_command(CLI::App& app) {
  auto opt = std::make_shared<ServeOptions>();
  CLI::App* cmd = app.add_subcommand("serve", "Serve a model over the OpenAI-compatible HTTP API");
  cmd->add_option("model", opt->model, "Model: a Hugging Face directory, a .gguf file, or the alias smollm2")->required();
  cmd->add_option("--host", opt->host, "Address to listen on");
  cmd->add_option("--port", opt->port, "Port to listen on");
  cmd->add_option("--served-model-name", opt->served_model_name, "Model name in the API (default: the file name)");
  cmd->add_option("--chat-template", opt->chat_template,
                  "Chat template (a Jinja file, or the template itself) instead of the model's own: for models "
                  "that ship none, such as many base-model GGUFs");
  cmd->add_option("--max-model-len", opt->max_model_len, "Context length (prompt + output); default: the model's");
  cmd->add_option("--max-num-seqs", opt->max_num_seqs, "Sequences running at once")->check(CLI::PositiveNumber);
  cmd->add_option("--max-num-batched-tokens", opt->max_num_batched_tokens, "Token budget of one step")->check(CLI::PositiveNumber);
  cmd->add_option("--block-size", opt->block_size, "Tokens per KV cache block")->check(CLI::PositiveNumber);
  cmd->add_option("--kv-cache-memory", opt->kv_cache_memory, "KV cache size for the CPU backend (e.g. 512MiB, 2GiB)");
  cmd->add_option("--gpu-memory-utilization", opt->gpu_memory_utilization, "Fraction of GPU memory to use")->check(CLI::Range(0.05, 1.0));
  cmd->add_option("--api-key", opt->api_key, "Require this Bearer token on /v1 routes (tenant \"default\")");
  cmd->add_option("--api-keys-file", opt->api_keys_file,
                  "File of 'TENANT KEY' lines: accepted keys, each accounted to its tenant name");
  cmd->add_option("--metrics-port", opt->metrics_port, "Also serve /metrics (and /health) on this port");
  cmd->add_option("--device", opt->device, "auto, cpu, cuda or cuda:N");
  cmd->add_option("--threads", opt->threads, "CPU threads for the CPU backend (0: all cores)");
  cmd->add_flag("--cpu-float-activations", opt->cpu_float_activations, kCpuFloatActivationsHelp);
  cmd->add_option("--dtype", opt->dtype, "CUDA weights and activations: auto (bfloat16), bfloat16 or float16");
  cmd->add_option("--kv-cache-dtype", opt->kv_cache_dtype,
                  "KV cache element type: auto (the model's float dtype; float16 for a quantized GGUF), float32, float16, bfloat16, fp8 (e4m3) or q8_0 (CPU)");
  cmd->add_option("--data-parallel-size", opt->data_parallel_size,
                  "Scheduler/executor pairs, one per device (with --device cpu: CPU engines sharing the cores)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--tensor-parallel-size", opt->tensor_parallel_size,
                  "Ranks that split each engine's model (its heads, FFN and vocabulary) and sum their parts; "
                  "with --device cpu, each rank on its own share of the engine's cores")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--devices", opt->devices, "CUDA device indices, one engine each (e.g. 0,1)");
  cmd->add_option("--max-queue-len", opt->max_queue_len, "Sequences that may wait; beyond it requests get 503")->check(CLI::PositiveNumber);
  cmd->add_flag("--no-enable-prefix-caching", opt->no_prefix_caching, "Disable prefix caching");
  cmd->add_option("--tokenizer-workers", opt->tokenizer_workers, "Tokenizer actors")->check(CLI::PositiveNumber);
  cmd->add_option("--max-body-bytes", opt->max_body_bytes, "Largest request body accepted (413 beyond)")->check(CLI::PositiveNumber);
  cmd->add_option("--prefill-budget-ms", opt->prefill_budget_ms,
                  "While others decode or wait, prompt tokens in one step take at most this long "
                  "(measured cost; at least one KV block runs). 0: chunks by --max-num-batched-tokens only")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--long-prefill-token-threshold", opt->long_prefill_token_threshold,
                  "Prompts longer than this yield to shorter ones between chunks (0: --max-num-batched-tokens)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--shutdown-timeout", opt->shutdown_timeout_s,
                  "Seconds running requests get to finish after SIGTERM before they are ended")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--stream-write-timeout", opt->stream_write_timeout_s,
                  "Seconds a streamed response may make no write progress before its request is cancelled")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--metric-labels", opt->metric_labels,
                  "Labels added to every metric series, e.g. variant=thinking,region=eu");
  cmd->add_option("--log-format", opt->log_format, "text or json (one JSON object per line, one per request)");
  cmd->add_flag("--enable-auto-tool-choice", opt->enable_auto_tool_choice,
               "Accepted for vLLM's command lines: the model may call tools on its own (tool_choice \"auto\") "
               "by default");
  cmd->add_flag("--disable-auto-tool-choice", opt->disable_auto_tool_choice,
               "Answer tool_choice \"auto\" (and tools without a tool_choice) with vLLM's 400");
  cmd->add_option("--tool-call-parser", opt->tool_call_parser,
                  "How the model writes tool calls: hermes (Qwen2.5, Qwen3), llama3_json (Llama 3.1/3.2), mistral "
                  "(Mistral 7B v0.3, NeMo, Small 3, Devstral), openai (gpt-oss), qwen3_coder (Qwen3-Coder), glm45 "
                  "(GLM-4.5, 4.6, 4.7), minimax_m2 (MiniMax-M2), seed_oss (Seed-OSS), lfm2 (LFM2, LFM2.5), pythonic "
                  "(Llama 3.2 and 4's pythonic templates), granite (Granite 3.x), nemotron_json (Nemotron Nano 2) or gemma4 "
                  "(Gemma 4); "
                  "default: the format the chat template uses");
  cmd->add_option("--reasoning-parser", opt->reasoning_parser,
                  "Return chat replies' reasoning as `reasoning`, apart from the content, as vLLM does: deepseek_r1 "
                  "(DeepSeek-R1 and its distills, QwQ, Qwen3 thinking models whose template opens <think>), qwen3 "
                  "(Qwen3: reasoning when the reply opens <think>; glm45 and nemotron_v3 alike), granite (Granite 3.2/3.3: "
                  "\"Here is my thought process:\" ... \"Here is my response:\"), gemma4 (Gemma 4: <|channel>thought ... <channel|>), mistral (Magistral, Ministral 3 Reasoning: "
                  "[THINK] ... [/THINK]), seed_oss (Seed-OSS: <seed:think>, as deepseek_r1), minimax_m2 (as deepseek_r1) or "
                  "minimax_m2_append_think (MiniMax-M2: all content, <think> put back in front), openai_gptoss (gpt-oss, whose harmony channels "
                  "are parsed anyway); default: the text as generated (gpt-oss: parsed)");
  cmd->add_option("--structured-outputs-config", opt->structured_outputs_config,
                  "vLLM's structured output settings as JSON: {\"disable_any_whitespace\": true} makes every JSON "
                  "constraint (forced tool calls included) compact");
  cmd->add_option("--speculative-config", opt->speculative_config,
                  "vLLM's speculative decoding settings as JSON: {\"method\": \"ngram\", \"num_speculative_tokens\": 4, "
                  "\"prompt_lookup_min\": 2, \"prompt_lookup_max\": 5} guesses from the request's own tokens; "
                  "{\"model\": DRAFT, \"num_speculative_tokens\": 4} guesses with a smaller model of the same vocabulary; "
                  "\"disable_by_batch_size\" (default 8) turns it off for larger batches. Off by default");
  cmd->add_option("--test-tokenizer-delay-ms", opt->tokenizer_delay_ms, "Test only: slow every tokenization down")->group("");
  cmd->callback([opt] { run_serve(*opt); });
}

}  // namespace troupe::app
