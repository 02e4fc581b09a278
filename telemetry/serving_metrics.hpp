#pragma once
// The serving metrics, with vLLM's names, labels and buckets (see docs/METRICS.md) so that vLLM
// dashboards and alert rules read troupe unchanged, plus troupe's own families. One instance per
// server; every method is thread-safe (prometheus-cpp metrics are atomic).
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

namespace troupe {

class ServingMetrics {
 public:
  // `max_model_len` bounds the token-count histograms' buckets, as vLLM's do. `stages` names the
  // time-to-first-token stages of troupe_request_stage_seconds, in order (RequestTimeline's).
  ServingMetrics(std::shared_ptr<prometheus::Registry> registry, std::string model_name, std::string engine,
                 int64_t max_model_len = 1000000, std::vector<std::string> stages = {});

  // Scheduler state, sampled after every step.
  void set_queue(int64_t running, int64_t waiting);
  void set_kv_blocks(int64_t used, int64_t free, int64_t cached, int64_t total);
  void add_step(int64_t prefill_tokens, int64_t decode_tokens, double seconds);
  void add_preemptions(int64_t n);
  void add_prefix_cache(int64_t queried_tokens, int64_t hit_tokens);
  // Speculative decoding, vLLM's spec_decode counters: proposals verified, their tokens, accepted
  // tokens, and accepted tokens by position in the proposal (index 0 = the first guess).
  void add_spec_decode(int64_t drafts, int64_t draft_tokens, int64_t accepted_tokens,
                       const std::vector<int64_t>& accepted_per_position);
  // One sequence's prefill finished (its first token came out), as vLLM counts it:
  // vllm:prompt_tokens_total gets the whole prompt, cache hits included, and
  // vllm:prompt_tokens_by_source_total / vllm:prompt_tokens_cached_total split it.
  void add_prefilled_prompt(int64_t prompt_tokens, int64_t cached_tokens);

  // Per request, when it finishes.
  struct RequestTimes {
    double ttft = -1;          // arrival -> first token (s); < 0 when no token was produced
    double e2e = 0;            // arrival -> finish (s)
    double queue = 0;          // arrival -> first scheduled (s)
    double prefill = -1;       // first scheduled -> first token (s); < 0 when never scheduled
    double decode = 0;         // first token -> last token (s)
    double inference = 0;      // first scheduled -> last token (s)
    int64_t max_generated = 0; // the most tokens any choice generated
    int64_t prompt_tokens = 0;
    int64_t generation_tokens = 0;
    int64_t max_tokens = 0;
    int n = 1;
  };
  void finish_request(const std::string& finished_reason, const RequestTimes& t);

  // Every request that reached the API, by tenant and outcome (success, invalid, too_long,
  // overloaded, aborted, error), with its token accounting and prompt-length class.
  void count_request(const std::string& tenant, std::string_view outcome, int64_t prompt_tokens,
                     int64_t generation_tokens);
  void set_executor_up(bool up);
  void set_paused(bool paused);  // troupe_engine_paused
  // The bytes of weights an executor rank holds (rank 0 alone without tensor parallelism).
  void set_executor_weight_bytes(int rank, int64_t bytes);
  // vllm:cache_config_info: the KV cache configuration as labels, value 1.
  void set_cache_config(int64_t block_size, int64_t num_blocks, bool prefix_caching);
  // The class label of a prompt length: le4k, le32k, le128k or gt128k.
  static std::string_view prompt_class(int64_t prompt_tokens);
  void observe_inter_token(double seconds);

  // troupe_request_stage_seconds: one request's stage durations, in the order of `stages` given at
  // construction. Lock-free (the histograms exist from construction on).
  void observe_stages(std::span<const double> seconds);
  // troupe_request_aborts_total{stage, reason}: a request stopped from outside (or by an error)
  // while queued, in prefill or in decode.
  void count_abort(std::string_view stage, std::string_view reason);
  // A chat request with tools and tool_choice "auto" on a model with no tool-call format: answered
  // in text.
  void count_auto_tools_as_text();
  // A request refused before the engine took it (http/rejection.cpp names the reasons).
  void count_rejection(std::string_view endpoint, int status, std::string_view reason);
  // troupe_engine_saturation{resource}: kv_blocks, running_slots, step_tokens, waiting_queue.
  void set_saturation(double kv_blocks, double running_slots, double step_tokens, double waiting_queue);

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Labels labels_;
  prometheus::Gauge *running_, *waiting_, *kv_usage_, *gpu_cache_usage_;
  prometheus::Gauge *kv_used_, *kv_free_, *kv_cached_;
  prometheus::Counter *prompt_tokens_, *generation_tokens_, *preemptions_, *prefix_queries_, *prefix_hits_;
  prometheus::Counter *prompt_computed_, *prompt_cache_hit_, *prompt_external_, *prompt_cached_, *prompt_recomputed_;
  prometheus::Family<prometheus::Counter>* success_;
  prometheus::Histogram *iteration_tokens_, *ttft_, *tpot_, *itl_, *e2e_, *queue_time_;
  prometheus::Histogram *prompt_len_, *generation_len_, *max_tokens_param_, *n_param_, *max_generation_;
  prometheus::Histogram *prefill_time_, *decode_time_, *inference_time_, *prefill_per_token_, *request_tpot_;
  prometheus::Family<prometheus::Histogram>* step_seconds_;
  prometheus::Family<prometheus::Counter>* requests_;
  prometheus::Family<prometheus::Counter>* tokens_;
  prometheus::Family<prometheus::Counter>* prompt_class_;
  prometheus::Histogram* prompt_length_;
  prometheus::Gauge* executor_up_;
  prometheus::Gauge* paused_;
  prometheus::Family<prometheus::Gauge>* executor_weight_bytes_;
  std::vector<prometheus::Histogram*> stage_seconds_;  // parallel to the stages given at construction
  prometheus::Family<prometheus::Counter>* aborts_;
  prometheus::Family<prometheus::Counter>* rejections_;
  prometheus::Counter* auto_tools_as_text_;
  prometheus::Counter *spec_drafts_, *spec_draft_tokens_, *spec_accepted_tokens_;
  prometheus::Family<prometheus::Counter>* spec_accepted_per_pos_;
  prometheus::Gauge *saturation_kv_, *saturation_running_, *saturation_step_tokens_, *saturation_waiting_;
};

}  // namespace troupe
