#include "telemetry/serving_metrics.hpp"

#include <algorithm>

namespace troupe {

namespace {

using prometheus::Histogram;

// vLLM's bucket sets (vllm/v1/metrics/loggers.py).
const Histogram::BucketBoundaries kTtftBuckets{0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75,
                                               1.0,   2.5,   5.0,  7.5,  10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0};
const Histogram::BucketBoundaries kTpotBuckets{0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2,  0.3,  0.4, 0.5,
                                               0.75, 1.0,   2.5,  5.0,   7.5, 10.0, 20.0, 40.0, 80.0};
const Histogram::BucketBoundaries kRequestLatencyBuckets{0.3,  0.5,  0.8,  1.0,   1.5,   2.0,   2.5,   5.0,  10.0, 15.0, 20.0,
                                                         30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0};
const Histogram::BucketBoundaries kIterationTokenBuckets{1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384};
const Histogram::BucketBoundaries kNBuckets{1, 2, 5, 10, 20};
// Step time of one executor step: 100 µs to 60 s.
const Histogram::BucketBoundaries kStepBuckets{0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                               0.1,    0.25,   0.5,   1.0,    2.5,   5.0,  10.0,  60.0};

// Time-to-first-token stages: from tens of microseconds (parsing) to minutes (queueing).
const Histogram::BucketBoundaries kStageBuckets{0.00001, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                                0.025,   0.05,    0.1,    0.25,    0.5,    1.0,   2.5,    5.0,   10.0,
                                                20.0,    40.0,    80.0,   160.0,   640.0};

// 1, 2, 5, 10, 20, 50, ... up to `max`: vLLM's "1-2-5" buckets for token counts.
Histogram::BucketBoundaries one_two_five(double max) {
  Histogram::BucketBoundaries b;
  for (double scale = 1; scale <= max; scale *= 10) {
    for (double m : {1.0, 2.0, 5.0}) {
      if (m * scale <= max) b.push_back(m * scale);
    }
  }
  return b;
}

}  // namespace

ServingMetrics::ServingMetrics(std::shared_ptr<prometheus::Registry> registry, std::string model_name, std::string engine,
                               int64_t max_model_len, std::vector<std::string> stages)
    : registry_(std::move(registry)), labels_{{"model_name", std::move(model_name)}, {"engine", std::move(engine)}} {
  auto& r = *registry_;
  auto gauge = [&](const char* name, const char* help) -> prometheus::Gauge& {
    return prometheus::BuildGauge().Name(name).Help(help).Register(r).Add(labels_);
  };
  auto counter = [&](const char* name, const char* help) -> prometheus::Counter& {
    return prometheus::BuildCounter().Name(name).Help(help).Register(r).Add(labels_);
  };
  auto histogram = [&](const char* name, const char* help, const Histogram::BucketBoundaries& b) -> Histogram& {
    return prometheus::BuildHistogram().Name(name).Help(help).Register(r).Add(labels_, b);
  };
  running_ = &gauge("vllm:num_requests_running", "Number of requests in model execution batches.");
  waiting_ = &gauge("vllm:num_requests_waiting", "Number of requests waiting to be processed.");
  kv_usage_ = &gauge("vllm:kv_cache_usage_perc", "KV-cache usage. 1 means 100 percent usage.");
  gpu_cache_usage_ = &gauge("vllm:gpu_cache_usage_perc", "KV-cache usage (pre-0.9 name). 1 means 100 percent usage.");
  auto& blocks = prometheus::BuildGauge().Name("troupe_kv_blocks").Help("KV cache blocks by state.").Register(r);
  auto with_state = [&](const char* state) {
    prometheus::Labels l = labels_;
    l.erase("model_name");
    l["state"] = state;
    return &blocks.Add(l);
  };
  kv_used_ = with_state("used");
  kv_free_ = with_state("free");
  kv_cached_ = with_state("cached");
  prompt_tokens_ = &counter("vllm:prompt_tokens_total", "Number of prefill tokens processed.");
  auto& by_source = prometheus::BuildCounter()
                        .Name("vllm:prompt_tokens_by_source_total")
                        .Help("Number of prompt tokens by source.")
                        .Register(r);
  auto with_source = [&](const char* source) {
    prometheus::Labels l = labels_;
    l["source"] = source;
    return &by_source.Add(l);
  };
  prompt_computed_ = with_source("local_compute");
  prompt_cache_hit_ = with_source("local_cache_hit");
  prompt_external_ = with_source("external_kv_transfer");  // no KV transfer in troupe: stays 0
  prompt_cached_ = &counter("vllm:prompt_tokens_cached_total", "Number of cached prompt tokens (local + external).");
  prompt_recomputed_ = &counter("vllm:prompt_tokens_recomputed_total",
                                "Number of cached prompt tokens recomputed for forward pass.");
  generation_tokens_ = &counter("vllm:generation_tokens_total", "Number of generation tokens processed.");
  preemptions_ = &counter("vllm:num_preemptions_total", "Cumulative number of preemptions from the engine.");
  prefix_queries_ = &counter("vllm:prefix_cache_queries_total", "Prefix cache queries, in terms of number of queried tokens.");
  prefix_hits_ = &counter("vllm:prefix_cache_hits_total", "Prefix cache hits, in terms of number of cached tokens.");
  spec_drafts_ = &counter("vllm:spec_decode_num_drafts_total", "Number of spec decoding drafts.");
  spec_draft_tokens_ = &counter("vllm:spec_decode_num_draft_tokens_total", "Number of draft tokens.");
  spec_accepted_tokens_ = &counter("vllm:spec_decode_num_accepted_tokens_total", "Number of accepted tokens.");
  spec_accepted_per_pos_ = &prometheus::BuildCounter()
                                .Name("vllm:spec_decode_num_accepted_tokens_per_pos_total")
                                .Help("Accepted tokens per draft position.")
                                .Register(r);
  success_ = &prometheus::BuildCounter().Name("vllm:request_success_total").Help("Count of successfully processed requests.").Register(r);
  iteration_tokens_ = &histogram("vllm:iteration_tokens_total", "Histogram of number of tokens per engine_step.", kIterationTokenBuckets);
  ttft_ = &histogram("vllm:time_to_first_token_seconds", "Histogram of time to first token in seconds.", kTtftBuckets);
  tpot_ = &histogram("vllm:time_per_output_token_seconds", "Histogram of time per output token in seconds.", kTpotBuckets);
  itl_ = &histogram("vllm:inter_token_latency_seconds", "Histogram of inter-token latency in seconds.", kTpotBuckets);
  e2e_ = &histogram("vllm:e2e_request_latency_seconds", "Histogram of e2e request latency in seconds.", kRequestLatencyBuckets);
  queue_time_ = &histogram("vllm:request_queue_time_seconds", "Histogram of time spent in WAITING phase for request.", kRequestLatencyBuckets);
  const auto token_buckets = one_two_five(static_cast<double>(std::max<int64_t>(max_model_len, 1)));
  prompt_len_ = &histogram("vllm:request_prompt_tokens", "Number of prefill tokens processed.", token_buckets);
  generation_len_ = &histogram("vllm:request_generation_tokens", "Number of generation tokens processed.", token_buckets);
  max_tokens_param_ = &histogram("vllm:request_params_max_tokens", "Histogram of the max_tokens request parameter.", token_buckets);
  n_param_ = &histogram("vllm:request_params_n", "Histogram of the n request parameter.", kNBuckets);
  max_generation_ = &histogram("vllm:request_max_num_generation_tokens",
                               "Histogram of maximum number of requested generation tokens.", token_buckets);
  prefill_time_ = &histogram("vllm:request_prefill_time_seconds", "Histogram of time spent in PREFILL phase for request.",
                             kRequestLatencyBuckets);
  decode_time_ = &histogram("vllm:request_decode_time_seconds", "Histogram of time spent in DECODE phase for request.",
                            kRequestLatencyBuckets);
  inference_time_ = &histogram("vllm:request_inference_time_seconds",
                               "Histogram of time spent in RUNNING phase for request.", kRequestLatencyBuckets);
  prefill_per_token_ = &histogram("vllm:time_per_prefill_token_request_seconds",
                                  "Histogram of prefill time divided by prompt tokens, per request.", kTpotBuckets);
  request_tpot_ = &histogram("vllm:request_time_per_output_token_seconds",
                             "Histogram of time_per_output_token_seconds per request.", kTpotBuckets);
  requests_ = &prometheus::BuildCounter()
                   .Name("troupe_requests_total")
                   .Help("Requests that reached the API, by tenant and outcome.")
                   .Register(r);
  tokens_ = &prometheus::BuildCounter().Name("troupe_tokens_total").Help("Tokens by tenant and kind (prompt, generation).").Register(r);
  prompt_class_ = &prometheus::BuildCounter()
                       .Name("troupe_request_prompt_class_total")
                       .Help("Requests by prompt-length class (le4k, le32k, le128k, gt128k).")
                       .Register(r);
  prompt_length_ = &histogram("troupe_request_prompt_tokens", "Prompt length per request, with buckets at the class boundaries.",
                              {128, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536, 131072, 262144});
  executor_up_ = &prometheus::BuildGauge()
                      .Name("troupe_executor_up")
                      .Help("1 while the engine's executor is alive, 0 while it is down or being restarted.")
                      .Register(r)
                      .Add({{"engine", labels_.at("engine")}});
  executor_up_->Set(1);
  paused_ = &prometheus::BuildGauge()
                 .Name("troupe_engine_paused")
                 .Help("1 while the engine is paused (POST /pause): nothing new starts until POST /resume.")
                 .Register(r)
                 .Add({{"engine", labels_.at("engine")}});
  executor_weight_bytes_ = &prometheus::BuildGauge()
                                .Name("troupe_executor_weight_bytes")
                                .Help("Bytes of model weights each executor rank holds (its shard under tensor parallelism).")
                                .Register(r);
  step_seconds_ = &prometheus::BuildHistogram().Name("troupe_engine_step_seconds").Help("Duration of one executor step, by phase.").Register(r);
  auto& stage_family = prometheus::BuildHistogram()
                           .Name("troupe_request_stage_seconds")
                           .Help("Time to first token by stage, per streamed request: parse, tokenizer_queue, tokenize, "
                                 "scheduler_queue, prefill, first_write. A request's stages add up to its time from "
                                 "receipt to the first token written to the socket.")
                           .Register(r);
  for (const std::string& stage : stages) {
    prometheus::Labels l = labels_;
    l["stage"] = stage;
    stage_seconds_.push_back(&stage_family.Add(l, kStageBuckets));
  }
  aborts_ = &prometheus::BuildCounter()
                 .Name("troupe_request_aborts_total")
                 .Help("Requests stopped before they finished, by stage (queued, prefill, decode) and reason "
                       "(client_disconnect, timeout, shutdown, error, pause).")
                 .Register(r);
  auto_tools_as_text_ = &counter("troupe_auto_tools_as_text_total",
                                 "Chat requests with tools and tool_choice \"auto\" answered in text: the model's chat "
                                 "template has no tool-call format troupe parses (and no --tool-call-parser was given).");
  rejections_ = &prometheus::BuildCounter()
                     .Name("troupe_requests_rejected_total")
                     .Help("Requests refused before the engine took them, by endpoint, HTTP status and reason "
                           "(invalid_request, unauthorized, model_not_found, not_found, method_not_allowed, unsupported_media_type, "
                           "body_too_large, headers_too_large, shutting_down, internal_error).")
                     .Register(r);
  auto& saturation = prometheus::BuildGauge()
                         .Name("troupe_engine_saturation")
                         .Help("How close the engine is to a limit, 0..1, by resource: kv_blocks, running_slots, "
                               "step_tokens, waiting_queue.")
                         .Register(r);
  auto resource = [&](const char* name) {
    prometheus::Labels l = labels_;
    l["resource"] = name;
    return &saturation.Add(l);
  };
  saturation_kv_ = resource("kv_blocks");
  saturation_running_ = resource("running_slots");
  saturation_step_tokens_ = resource("step_tokens");
  saturation_waiting_ = resource("waiting_queue");
}

void ServingMetrics::set_queue(int64_t running, int64_t waiting) {
  running_->Set(static_cast<double>(running));
  waiting_->Set(static_cast<double>(waiting));
}

void ServingMetrics::set_kv_blocks(int64_t used, int64_t free, int64_t cached, int64_t total) {
  kv_used_->Set(static_cast<double>(used));
  kv_free_->Set(static_cast<double>(free));
  kv_cached_->Set(static_cast<double>(cached));
  const double usage = total > 0 ? static_cast<double>(used) / static_cast<double>(total) : 0.0;
  kv_usage_->Set(usage);
  gpu_cache_usage_->Set(usage);
}

void ServingMetrics::add_step(int64_t prefill_tokens, int64_t decode_tokens, double seconds) {
  iteration_tokens_->Observe(static_cast<double>(prefill_tokens + decode_tokens));
  const char* phase = prefill_tokens == 0 ? "decode" : (decode_tokens == 0 ? "prefill" : "mixed");
  prometheus::Labels l = labels_;
  l.erase("model_name");
  l["phase"] = phase;
  step_seconds_->Add(l, kStepBuckets).Observe(seconds);
}

void ServingMetrics::add_prefilled_prompt(int64_t prompt_tokens, int64_t cached_tokens) {
  // vLLM's PromptTokenStats: a fully cached prompt still computes its last token (the scheduler
  // reports prompt - 1 cached), which vLLM books as a cache hit that was recomputed.
  const int64_t recomputed = cached_tokens + 1 == prompt_tokens ? 1 : 0;
  prompt_tokens_->Increment(static_cast<double>(prompt_tokens));
  prompt_computed_->Increment(static_cast<double>(prompt_tokens - cached_tokens));
  prompt_cache_hit_->Increment(static_cast<double>(cached_tokens + recomputed));
  prompt_cached_->Increment(static_cast<double>(cached_tokens));
  prompt_recomputed_->Increment(static_cast<double>(recomputed));
}

void ServingMetrics::add_preemptions(int64_t n) { preemptions_->Increment(static_cast<double>(n)); }

void ServingMetrics::add_prefix_cache(int64_t queried_tokens, int64_t hit_tokens) {
  prefix_queries_->Increment(static_cast<double>(queried_tokens));
  prefix_hits_->Increment(static_cast<double>(hit_tokens));
}

void ServingMetrics::add_spec_decode(int64_t drafts, int64_t draft_tokens, int64_t accepted_tokens,
                                     const std::vector<int64_t>& accepted_per_position) {
  spec_drafts_->Increment(static_cast<double>(drafts));
  spec_draft_tokens_->Increment(static_cast<double>(draft_tokens));
  spec_accepted_tokens_->Increment(static_cast<double>(accepted_tokens));
  for (std::size_t i = 0; i < accepted_per_position.size(); ++i) {
    prometheus::Labels l = labels_;
    l["position"] = std::to_string(i);
    spec_accepted_per_pos_->Add(l).Increment(static_cast<double>(accepted_per_position[i]));
  }
}

void ServingMetrics::finish_request(const std::string& finished_reason, const RequestTimes& t) {
  prometheus::Labels l = labels_;
  l["finished_reason"] = finished_reason;
  success_->Add(l).Increment();
  generation_tokens_->Increment(static_cast<double>(t.generation_tokens));
  if (t.ttft >= 0) ttft_->Observe(t.ttft);
  e2e_->Observe(t.e2e);
  queue_time_->Observe(t.queue);
  prompt_len_->Observe(static_cast<double>(t.prompt_tokens));
  generation_len_->Observe(static_cast<double>(t.generation_tokens));
  max_tokens_param_->Observe(static_cast<double>(t.max_tokens));
  n_param_->Observe(static_cast<double>(t.n));
  max_generation_->Observe(static_cast<double>(t.max_generated));
  if (t.prefill >= 0) {
    prefill_time_->Observe(t.prefill);
    decode_time_->Observe(t.decode);
    inference_time_->Observe(t.inference);
    if (t.prompt_tokens > 0) prefill_per_token_->Observe(t.prefill / static_cast<double>(t.prompt_tokens));
    if (t.max_generated > 1) request_tpot_->Observe(t.decode / static_cast<double>(t.max_generated - 1));
  }
}

std::string_view ServingMetrics::prompt_class(int64_t prompt_tokens) {
  if (prompt_tokens <= 4096) return "le4k";
  if (prompt_tokens <= 32768) return "le32k";
  if (prompt_tokens <= 131072) return "le128k";
  return "gt128k";
}

void ServingMetrics::count_request(const std::string& tenant, std::string_view outcome, int64_t prompt_tokens,
                                   int64_t generation_tokens) {
  const std::string& model = labels_.at("model_name");
  requests_->Add({{"model_name", model}, {"tenant", tenant}, {"outcome", std::string(outcome)}}).Increment();
  if (prompt_tokens > 0) {
    tokens_->Add({{"model_name", model}, {"tenant", tenant}, {"kind", "prompt"}}).Increment(static_cast<double>(prompt_tokens));
    prompt_class_->Add({{"model_name", model}, {"class", std::string(prompt_class(prompt_tokens))}}).Increment();
    prompt_length_->Observe(static_cast<double>(prompt_tokens));
  }
  if (generation_tokens > 0) {
    tokens_->Add({{"model_name", model}, {"tenant", tenant}, {"kind", "generation"}})
        .Increment(static_cast<double>(generation_tokens));
  }
}

void ServingMetrics::set_executor_up(bool up) { executor_up_->Set(up ? 1 : 0); }
void ServingMetrics::set_paused(bool paused) { paused_->Set(paused ? 1 : 0); }

void ServingMetrics::set_executor_weight_bytes(int rank, int64_t bytes) {
  executor_weight_bytes_->Add({{"engine", labels_.at("engine")}, {"rank", std::to_string(rank)}}).Set(static_cast<double>(bytes));
}

void ServingMetrics::set_cache_config(int64_t block_size, int64_t num_blocks, bool prefix_caching) {
  prometheus::BuildGauge()
      .Name("vllm:cache_config_info")
      .Help("Information of the LLMEngine CacheConfig.")
      .Register(*registry_)
      .Add({{"engine", labels_.at("engine")},
            {"block_size", std::to_string(block_size)},
            {"num_gpu_blocks", std::to_string(num_blocks)},
            {"enable_prefix_caching", prefix_caching ? "True" : "False"}})
      .Set(1);
}

void ServingMetrics::observe_inter_token(double seconds) {
  tpot_->Observe(seconds);
  itl_->Observe(seconds);
}

void ServingMetrics::observe_stages(std::span<const double> seconds) {
  const std::size_t n = std::min(seconds.size(), stage_seconds_.size());
  for (std::size_t i = 0; i < n; ++i) stage_seconds_[i]->Observe(seconds[i]);
}

void ServingMetrics::count_auto_tools_as_text() { auto_tools_as_text_->Increment(); }

void ServingMetrics::count_rejection(std::string_view endpoint, int status, std::string_view reason) {
  prometheus::Labels l = labels_;
  l["endpoint"] = std::string(endpoint);
  l["status"] = std::to_string(status);
  l["reason"] = std::string(reason);
  rejections_->Add(l).Increment();
}

void ServingMetrics::count_abort(std::string_view stage, std::string_view reason) {
  prometheus::Labels l = labels_;
  l["stage"] = std::string(stage);
  l["reason"] = std::string(reason);
  aborts_->Add(l).Increment();
}

void ServingMetrics::set_saturation(double kv_blocks, double running_slots, double step_tokens, double waiting_queue) {
  saturation_kv_->Set(kv_blocks);
  saturation_running_->Set(running_slots);
  saturation_step_tokens_->Set(step_tokens);
  saturation_waiting_->Set(waiting_queue);
}

}  // namespace troupe
