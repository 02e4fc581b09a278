#include "actors/engine_runtime.hpp"

#include <caf/all.hpp>
#include <mutex>
#include <unordered_map>

#include "actors/executor_actor.hpp"
#include "actors/messages/atoms.hpp"
#include "actors/messages/scheduler_messages.hpp"
#include "actors/messages/tokenizer_messages.hpp"
#include "actors/rank_actor.hpp"
#include "actors/request_actor.hpp"
#include "actors/request_report.hpp"
#include "actors/router_actor.hpp"
#include "actors/scheduler_actor.hpp"
#include "actors/telemetry_actor.hpp"
#include "actors/tokenizer_actor.hpp"
#include "gpu/parallel/tensor_parallel_backend.hpp"
#include "telemetry/metric_labels.hpp"
#include "telemetry/request_log.hpp"

namespace troupe {

struct EngineRuntime::Impl {
  ServedModel model;
  std::shared_ptr<const ModelText> text;
  std::vector<std::shared_ptr<Backend>> backends;
  EngineOptions options;

  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  std::vector<std::shared_ptr<ServingMetrics>> metrics;  // one per engine
  std::shared_ptr<ProcessMetrics> process;
  std::shared_ptr<ActorMetrics> actor_metrics;
  std::shared_ptr<std::atomic<bool>> executor_healthy = std::make_shared<std::atomic<bool>>(true);
  std::shared_ptr<std::atomic<uint64_t>> next_sequence_id = std::make_shared<std::atomic<uint64_t>>(1);

  caf::actor_system_config caf_config;
  std::unique_ptr<caf::actor_system> system;
  std::vector<caf::actor> tokenizers;
  std::atomic<uint64_t> next_tokenizer{0};
  std::vector<caf::actor> schedulers;  // one per engine
  caf::actor router;                   // only with several engines
  caf::actor telemetry;

  std::atomic<bool> paused{false};  // between POST /pause and POST /resume

  std::mutex requests_mutex;
  std::unordered_map<std::string, caf::actor> requests;  // live request actors by request id

  caf::actor pick_tokenizer() { return tokenizers[next_tokenizer++ % tokenizers.size()]; }

  // The engine's tensor-parallel group, when its backend is one.
  TensorParallelBackend* group(std::size_t engine) const { return dynamic_cast<TensorParallelBackend*>(backends[engine].get()); }
};

EngineRuntime::EngineRuntime(ServedModel model, std::shared_ptr<const ModelText> text,
                             std::vector<std::shared_ptr<Backend>> backends, EngineOptions options)
    : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.model = std::move(model);
  m.text = std::move(text);
  m.backends = std::move(backends);
  if (m.backends.empty()) throw std::invalid_argument("EngineRuntime needs at least one backend");
  m.options = std::move(options);
  m.options.scheduler.max_model_len = m.model.max_model_len;
  for (std::size_t i = 0; i < m.backends.size(); ++i) {
    m.metrics.push_back(std::make_shared<ServingMetrics>(m.registry, m.model.name, std::to_string(i), m.model.max_model_len,
                                                         request_stage_names()));
  }
  m.process = std::make_shared<ProcessMetrics>(*m.registry);
  prometheus::BuildGauge()
      .Name("troupe_build_info")
      .Help("What is running: troupe's version, the backend and the served model. Always 1.")
      .Register(*m.registry)
      .Add({{"version", m.options.version.empty() ? "unknown" : m.options.version},
            {"backend", std::string(m.backends.front()->name())},
            {"model", m.model.name}})
      .Set(1);
  m.actor_metrics = std::make_shared<ActorMetrics>(*m.registry);
  ActorMetrics* am = m.actor_metrics.get();

  if (m.options.actor_threads > 0) m.caf_config.set("scheduler.max-threads", m.options.actor_threads);
  // An actor drains at most this many messages before yielding its thread, so that one busy
  // actor (a request with many choices) cannot starve the others.
  m.caf_config.set("scheduler.max-throughput", 64);
  // An idle CAF worker polls its queue 100 times, then 500 times with 50 us sleeps, then sleeps
  // on a condition variable that a message from outside the actor system (the executor's
  // thread, an HTTP session) signals. Between decode steps, 15-20 ms apart, the middle phase kept
  // both workers waking 20,000 times a second, taking CPU from the executor on small machines:
  // without it a one-stream decode step in `serve` took 14.6-16.5 ms instead of 17.3-17.8 ms
  // (SmolLM2, 2 cores), using 5-10 % less CPU. Under load workers stay busy and never get there.
  m.caf_config.set("work-stealing.moderate-poll-attempts", 0);
  m.system = std::make_unique<caf::actor_system>(m.caf_config);

  TokenizerActorConfig tok{m.text,
                          std::make_shared<structured_output::GrammarCompiler>(m.text->tokenizer,
                                                                               m.backends.front()->spec().eos_token_ids),
                          m.options.tokenizer_delay_ms};
  for (int i = 0; i < std::max(1, m.options.tokenizer_workers); ++i) m.tokenizers.push_back(spawn_tokenizer(*m.system, am, tok));
  std::vector<EngineLimits> limits;
  for (std::size_t i = 0; i < m.backends.size(); ++i) {
    limits.push_back(EngineLimits{m.options.scheduler.max_num_seqs, m.options.scheduler.max_waiting,
                                  m.options.scheduler.max_num_batched_tokens});
  }
  m.telemetry = spawn_telemetry(*m.system, am,
                                TelemetryActorConfig{m.metrics, m.process, std::make_shared<DeviceMetrics>(*m.registry),
                                                     m.backends, std::move(limits)});
  if (m.backends.size() > 1) m.router = spawn_router(*m.system, am, static_cast<int>(m.backends.size()));

  caf::actor_system* sys = m.system.get();
  for (std::size_t i = 0; i < m.backends.size(); ++i) {
    SchedulerActorConfig sched;
    sched.scheduler = m.options.scheduler;
    sched.scheduler.block_size = m.backends[i]->kv_block_size();
    sched.scheduler.num_blocks = m.backends[i]->kv_num_blocks();
    std::shared_ptr<Backend> backend_ref = m.backends[i];
    std::shared_ptr<Backend> draft_ref = i < m.options.draft_backends.size() ? m.options.draft_backends[i] : nullptr;
    const std::string executor_name = "troupe.executor." + std::to_string(i);
    if (TensorParallelBackend* group = m.group(i)) {
      group->set_runner(spawn_rank_actors(*sys, am, executor_name, group->size()));
      for (int r = 0; r < group->size(); ++r) m.metrics[i]->set_executor_weight_bytes(r, group->rank(r).weight_bytes());
    } else {
      m.metrics[i]->set_executor_weight_bytes(0, m.backends[i]->weight_bytes());
    }
    sched.cancelled = std::make_shared<CancelledSequences>();
    sched.spawn_executor = [sys, am, executor_name, backend_ref, draft_ref, cancelled = sched.cancelled] {
      return spawn_executor(*sys, am, executor_name, ExecutorActorConfig{backend_ref, draft_ref, cancelled});
    };
    sched.on_executor_restart = [am, executor_name] { am->probe(executor_name).restarted(); };
    sched.on_executor_up = [metrics = m.metrics[i]](bool up) { metrics->set_executor_up(up); };
    sched.telemetry = m.telemetry;
    sched.router = m.router;
    sched.engine = static_cast<int>(i);
    sched.healthy = m.executor_healthy;
    m.metrics[i]->set_cache_config(sched.scheduler.block_size, sched.scheduler.num_blocks,
                                   sched.scheduler.enable_prefix_caching);
    m.schedulers.push_back(spawn_scheduler(*m.system, am, "troupe.scheduler." + std::to_string(i), std::move(sched)));
  }
}

EngineRuntime::~EngineRuntime() {
  Impl& m = *impl_;
  {
    std::lock_guard lock(m.requests_mutex);
    for (auto& [id, actor] : m.requests) caf::anon_send<caf::message_priority::high>(actor, atoms::cancel::value, AbortReason::Shutdown);
  }
  // High priority: an exit queued behind a backlog would wait for all of it.
  for (auto& t : m.tokenizers) caf::anon_send_exit(t, caf::exit_reason::user_shutdown);
  for (auto& s : m.schedulers) caf::anon_send_exit(s, caf::exit_reason::user_shutdown);
  if (m.router) caf::anon_send_exit(m.router, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(m.telemetry, caf::exit_reason::user_shutdown);
  // Rank actors stop once the step in progress (if any) lets go of them.
  for (std::size_t i = 0; i < m.backends.size(); ++i) {
    if (TensorParallelBackend* group = m.group(i)) group->set_runner(nullptr);
  }
  m.system.reset();  // waits for every actor, the executor's current step included
}

const ServedModel& EngineRuntime::served_model() const { return impl_->model; }

void EngineRuntime::submit(GenerationRequest request, std::shared_ptr<EventSink> sink) {
  Impl& m = *impl_;
  // A caller without a timeline of its own (no HTTP session) gets one that the engine alone
  // completes, starting at the request's arrival.
  if (!request.timeline) {
    request.timeline = std::make_shared<RequestTimeline>(1);
    request.timeline->mark(RequestTimeline::Instant::Received, request.arrival);
    request.timeline->mark(RequestTimeline::Instant::Parsed, request.arrival);
  }
  request.timeline->on_complete(
      [engines = m.metrics,
       identity = RequestIdentity{request.id, request.tenant, m.model.name,
                                  request.endpoint == Endpoint::ChatCompletions ? "chat.completions" : "completions"}](
          const RequestTimeline& timeline) { report_request(timeline, identity, engines); });
  RequestActorConfig cfg;
  const std::string id = request.id;
  cfg.request = std::make_shared<const GenerationRequest>(std::move(request));
  cfg.sink = std::move(sink);
  cfg.tokenizer = m.pick_tokenizer();
  cfg.router = m.router;
  cfg.schedulers = m.schedulers;
  cfg.engine_metrics = m.metrics;
  cfg.text = m.text;
  cfg.max_model_len = m.model.max_model_len;
  cfg.vocab_size = m.backends.front()->spec().vocab_size;
  cfg.eos_token_ids = m.backends.front()->spec().eos_token_ids;
  cfg.next_sequence_id = m.next_sequence_id;
  cfg.on_exit = [impl = impl_.get(), id] {
    std::lock_guard lock(impl->requests_mutex);
    impl->requests.erase(id);
  };
  std::lock_guard lock(m.requests_mutex);
  m.requests[id] = spawn_request(*m.system, m.actor_metrics.get(), std::move(cfg));
}

void EngineRuntime::cancel(const std::string& request_id, AbortReason reason) {
  Impl& m = *impl_;
  std::lock_guard lock(m.requests_mutex);
  if (auto it = m.requests.find(request_id); it != m.requests.end()) {
    caf::anon_send<caf::message_priority::high>(it->second, atoms::cancel::value, reason);
  }
}

void EngineRuntime::tokenize(TokenizeRequest request, std::function<void(TokenizeResult)> done) {
  TokenizeText job{std::move(request)};
  caf::actor tokenizer = impl_->pick_tokenizer();
  // A one-shot actor turns the request/response into a callback, so no io thread ever blocks. The
  // tokenizer is a spawn argument, not a capture: CAF 0.17 binds a reference through a null pointer
  // when a function actor is spawned without arguments (UBSan, init_fun_factory.hpp).
  impl_->system->spawn([job = std::move(job), done = std::move(done)](caf::event_based_actor* self, const caf::actor& tokenizer) {
    self->request(tokenizer, caf::infinite, atoms::tokenize::value, job)
        .then(
            [self, done](TokenizedPrompt& r) {
              TokenizeResult out;
              if (r.ids) out.tokens = *r.ids;
              out.error = std::move(r.error);
              done(std::move(out));
              self->quit();
            },
            [self, done](caf::error& e) {
              done(TokenizeResult{{}, ApiError{500, "server_error", "tokenizer failed: " + caf::to_string(e), std::nullopt, 0}});
              self->quit();
            });
  }, tokenizer);
}

void EngineRuntime::detokenize(std::vector<int32_t> tokens, std::function<void(DetokenizeResult)> done) {
  const int32_t vocab = impl_->text->tokenizer.vocab_size();
  for (int32_t t : tokens) {
    if (t < 0 || t >= vocab) {
      done(DetokenizeResult{{}, ApiError{400, "invalid_request_error",
                                         "token id " + std::to_string(t) + " is outside the vocabulary (0.." +
                                             std::to_string(vocab - 1) + ")",
                                         std::string("tokens"), 0}});
      return;
    }
  }
  caf::actor tokenizer = impl_->pick_tokenizer();
  impl_->system->spawn([tokens = std::move(tokens), done = std::move(done)](caf::event_based_actor* self, const caf::actor& tokenizer) {
    self->request(tokenizer, caf::infinite, atoms::detok::value, tokens)
        .then(
            [self, done](std::string& text) {
              done(DetokenizeResult{std::move(text), std::nullopt});
              self->quit();
            },
            [self, done](caf::error& e) {
              done(DetokenizeResult{{}, ApiError{500, "server_error", "tokenizer failed: " + caf::to_string(e), std::nullopt, 0}});
              self->quit();
            });
  }, tokenizer);
}

void EngineRuntime::record_rejected(const RejectedRequest& r) {
  ServingMetrics& metrics = *impl_->metrics.front();
  // A generation request refused before the engine still counts, by tenant, so the failure ratio
  // sees malformed traffic too.
  if (r.generation) metrics.count_request(r.tenant, r.status >= 500 ? "error" : "invalid", 0, 0);
  metrics.count_rejection(r.endpoint, r.status, r.reason);
  log_rejection(RejectionLogRecord{r.request_id, r.tenant, r.method, r.path, r.status, r.reason, r.param, r.message});
}

namespace {

// Sends `message` to every scheduler and runs `done` once all answered (a one-shot actor, so that
// no io thread waits; a scheduler that died answers with an error, which counts as answered).
void ask_every_scheduler(caf::actor_system& system, const std::vector<caf::actor>& schedulers, caf::message message,
                         std::function<void()> done) {
  system.spawn(
      [message = std::move(message), done = std::move(done)](caf::event_based_actor* self, const std::vector<caf::actor>& targets) {
        auto left = std::make_shared<std::size_t>(targets.size());
        auto answered = [self, left, done] {
          if (--*left > 0) return;
          done();
          self->quit();
        };
        for (const caf::actor& target : targets) {
          self->request(target, caf::infinite, message).then([answered](bool) { answered(); },
                                                              [answered](caf::error&) { answered(); });
        }
      },
      schedulers);
}

}  // namespace

void EngineRuntime::pause(PauseMode mode, std::function<void()> done) {
  impl_->paused = true;
  ask_every_scheduler(*impl_->system, impl_->schedulers, caf::make_message(atoms::pause::value, mode), std::move(done));
}

void EngineRuntime::resume(std::function<void()> done) {
  impl_->paused = false;
  ask_every_scheduler(*impl_->system, impl_->schedulers, caf::make_message(atoms::resume::value), std::move(done));
}

bool EngineRuntime::paused() const { return impl_->paused.load(); }

std::string EngineRuntime::metrics_text() {
  impl_->actor_metrics->publish();
  return exposition_text(*impl_->registry, impl_->options.metric_labels);
}

bool EngineRuntime::healthy() const { return impl_->executor_healthy->load(); }

}  // namespace troupe
