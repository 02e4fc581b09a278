// Telemetry of requests through the real actor system (EngineRuntime, default model, CPU backend):
// the timeline's stages add up and match vLLM's time to first token, aborts are counted by the
// stage the request was in, saturation rises and falls, and constant labels reach every series.
#include <catch2/catch.hpp>

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <regex>
#include <set>
#include <thread>

#include "actors/engine_runtime.hpp"
#include "gpu/cpu/cpu_backend.hpp"
#include "telemetry/metric_labels.hpp"

using namespace troupe;
using namespace std::chrono_literals;

namespace {

using Instant = RequestTimeline::Instant;

// Records events and, standing in for the HTTP session, marks FirstTokenWritten when the first
// event with a token arrives (as generation_route.cpp does once it has written it).
class SessionSink final : public EventSink {
 public:
  explicit SessionSink(std::shared_ptr<RequestTimeline> timeline) : timeline_(std::move(timeline)) {}
  void push(GenerationEvent event) override {
    std::lock_guard lock(mutex_);
    for (const auto& c : event.choices) {
      if (!c.token_ids.empty() && timeline_) timeline_->mark(Instant::FirstTokenWritten);
    }
    tokens_ += event.choices.empty() ? 0 : 1;
    done_ = done_ || event.done || event.error.has_value();
    error_ = error_ || event.error.has_value();
    cv_.notify_all();
  }
  bool wait(std::chrono::seconds limit = 120s) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, limit, [&] { return done_; });
  }
  bool wait_for_tokens(std::chrono::seconds limit = 60s) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, limit, [&] { return tokens_ > 0 || done_; });
  }
  bool error() {
    std::lock_guard lock(mutex_);
    return error_;
  }

 private:
  std::shared_ptr<RequestTimeline> timeline_;
  std::mutex mutex_;
  std::condition_variable cv_;
  int tokens_ = 0;
  bool done_ = false, error_ = false;
};

// A backend whose forward steps can be made to throw.
class FailingBackend final : public Backend {
 public:
  FailingBackend(std::shared_ptr<Backend> inner, std::atomic<int>* fail_next) : inner_(std::move(inner)), fail_next_(fail_next) {}
  std::string_view name() const override { return inner_->name(); }
  const ModelSpec& spec() const override { return inner_->spec(); }
  int64_t kv_block_size() const override { return inner_->kv_block_size(); }
  int64_t kv_num_blocks() const override { return inner_->kv_num_blocks(); }
  int64_t weight_bytes() const override { return inner_->weight_bytes(); }
  int64_t kv_cache_bytes() const override { return inner_->kv_cache_bytes(); }
  void forward(const StepBatch& batch, StepLogits& out) override {
    if (fail_next_->load() > 0) {
      fail_next_->fetch_sub(1);
      throw std::runtime_error("injected device fault");
    }
    inner_->forward(batch, out);
  }

 private:
  std::shared_ptr<Backend> inner_;
  std::atomic<int>* fail_next_;
};

struct Engine {
  std::atomic<int> fail_next{0};
  std::unique_ptr<EngineRuntime> runtime;

  explicit Engine(EngineOptions eo = {}, int64_t batched_tokens = 256) {
    const char* path = std::getenv("TROUPE_DEFAULT_MODEL");
    REQUIRE(path != nullptr);
    const ModelFiles model = ModelFiles::open(path);
    auto text = std::make_shared<const ModelText>(load_model_text(model));
    BackendOptions bo;
    bo.max_kv_tokens = 4096;
    auto backend = std::make_shared<FailingBackend>(std::make_shared<CpuBackend>(model, bo), &fail_next);
    eo.scheduler.max_num_seqs = 8;
    eo.scheduler.max_num_batched_tokens = batched_tokens;
    eo.scheduler.max_waiting = 64;
    runtime = std::make_unique<EngineRuntime>(ServedModel{"smollm2", 2048, 0, path}, text,
                                              std::vector<std::shared_ptr<Backend>>{backend}, eo);
  }

  // Submits a streamed completion as the HTTP layer would: with a two-party timeline, Received and
  // Parsed marked. finish_session() plays the session's end.
  std::shared_ptr<RequestTimeline> submit(const std::string& id, std::string prompt, int64_t max_tokens,
                                          std::shared_ptr<SessionSink>* sink_out) {
    auto timeline = std::make_shared<RequestTimeline>(2);
    timeline->mark(Instant::Received);
    GenerationRequest r;
    r.id = id;
    r.endpoint = Endpoint::Completions;
    r.model = "smollm2";
    r.prompt = std::move(prompt);
    r.stop.max_tokens = max_tokens;
    r.stop.ignore_eos = true;
    r.stream = true;
    r.arrival = std::chrono::steady_clock::now();
    timeline->mark(Instant::Parsed, r.arrival);
    timeline->facts().request_id = id;
    timeline->facts().stream = true;
    r.timeline = timeline;
    *sink_out = std::make_shared<SessionSink>(timeline);
    runtime->submit(std::move(r), *sink_out);
    return timeline;
  }

  // Every sample of /metrics whose name is `name` and whose labels include `labels`, summed.
  double sum(const std::string& name, const std::map<std::string, std::string>& labels = {}) {
    const std::string text = runtime->metrics_text();
    static const std::regex sample(R"re(^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$)re");
    static const std::regex label(R"re(([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)")re");
    double total = 0;
    std::istringstream lines(text);
    std::string line;
    while (std::getline(lines, line)) {
      std::smatch m;
      if (line.empty() || line[0] == '#' || !std::regex_match(line, m, sample) || m[1] != name) continue;
      std::map<std::string, std::string> got;
      const std::string body = m[2];
      for (auto it = std::sregex_iterator(body.begin(), body.end(), label); it != std::sregex_iterator(); ++it) {
        got[(*it)[1]] = (*it)[2];
      }
      bool match = true;
      for (const auto& [k, v] : labels) match = match && got.count(k) && got[k] == v;
      if (match) total += std::stod(m[3]);
    }
    return total;
  }

  template <class Pred>
  bool eventually(Pred pred, std::chrono::milliseconds limit = 10s) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      if (pred()) return true;
      std::this_thread::sleep_for(10ms);
    }
    return pred();
  }
};

}  // namespace

TEST_CASE("telemetry: a request's stages add up to its TTFT and match vLLM's time to first token", "[actors][telemetry]") {
  Engine e;
  std::vector<std::shared_ptr<RequestTimeline>> timelines;
  std::vector<std::shared_ptr<SessionSink>> sinks(6);
  for (int i = 0; i < 6; ++i) {
    timelines.push_back(e.submit("cmpl-t" + std::to_string(i), "Tell me about the number " + std::to_string(i), 6, &sinks[i]));
  }
  for (std::size_t i = 0; i < sinks.size(); ++i) {
    REQUIRE(sinks[i]->wait());
    CHECK_FALSE(sinks[i]->error());
    timelines[i]->finish_part();  // the session is done
  }
  double ttft_sum = 0, engine_side = 0;
  for (const auto& t : timelines) {
    // Every instant was marked, in order.
    for (std::size_t k = 0; k + 1 < RequestTimeline::kInstants - 1; ++k) {
      CAPTURE(k);
      REQUIRE(t->has(static_cast<Instant>(k)));
    }
    CHECK(*t->at(Instant::Tokenized) <= *t->at(Instant::SchedulerQueued));
    CHECK(*t->at(Instant::SchedulerQueued) <= *t->at(Instant::FirstScheduled));
    const auto stages = t->stage_seconds();
    REQUIRE(stages.has_value());
    double sum = 0;
    for (double s : *stages) {
      CHECK(s >= 0);
      sum += s;
    }
    CHECK(sum == Approx(*t->ttft_seconds()).margin(1e-3));
    ttft_sum += *t->ttft_seconds();
    // vLLM's TTFT runs from arrival (= Parsed) to the first token reaching the request actor.
    engine_side += *t->seconds(Instant::Parsed, Instant::FirstToken);
    CHECK(t->facts().completion_tokens == 6);
    CHECK(t->facts().outcome == "success");
  }
  // The histograms hold the same: all six stages of six requests, adding up to their TTFTs, and
  // the stages from parsed to first token add up to vllm:time_to_first_token_seconds. (The engine
  // finishes its part of a timeline just after its last event, so the last report may lag the
  // sink's "done" by a moment.)
  REQUIRE(e.eventually([&] { return e.sum("troupe_request_stage_seconds_count") == 6 * RequestTimeline::kStages; }));
  double stage_sum = 0, middle = 0;
  for (const char* stage : {"parse", "tokenizer_queue", "tokenize", "scheduler_queue", "prefill", "first_write"}) {
    CAPTURE(stage);
    CHECK(e.sum("troupe_request_stage_seconds_count", {{"stage", stage}}) == 6);
    const double s = e.sum("troupe_request_stage_seconds_sum", {{"stage", stage}});
    stage_sum += s;
    if (std::string(stage) != "parse" && std::string(stage) != "first_write") middle += s;
  }
  CHECK(stage_sum == Approx(ttft_sum).margin(6e-3));
  CHECK(middle == Approx(e.sum("vllm:time_to_first_token_seconds_sum")).margin(6e-3));
  CHECK(middle == Approx(engine_side).margin(6e-3));
}

TEST_CASE("telemetry: a request without a session's timeline is reported by the engine alone", "[actors][telemetry]") {
  Engine e;
  GenerationRequest r;
  r.id = "cmpl-plain";
  r.prompt = "Hello";
  r.stop.max_tokens = 3;
  auto sink = std::make_shared<SessionSink>(nullptr);
  e.runtime->submit(std::move(r), sink);
  REQUIRE(sink->wait());
  // Not streamed, no session: vLLM's metrics count it, the stage histograms do not.
  CHECK(e.eventually([&] { return e.sum("vllm:request_success_total") == 1; }));
  CHECK(e.sum("troupe_request_stage_seconds_count") == 0);
}

TEST_CASE("telemetry: aborts are counted by the stage the request was in", "[actors][telemetry]") {
  SECTION("queued: cancelled while a slow tokenizer works") {
    EngineOptions eo;
    eo.tokenizer_delay_ms = 400;
    Engine e(eo);
    std::shared_ptr<SessionSink> sink;
    auto t = e.submit("cmpl-q", "Hello there", 8, &sink);
    REQUIRE(e.eventually([&] { return t->has(Instant::TokenizeStarted); }));
    e.runtime->cancel("cmpl-q", AbortReason::ClientDisconnect);
    REQUIRE(sink->wait());
    t->finish_part();
    CHECK(e.eventually([&] {
      return e.sum("troupe_request_aborts_total", {{"stage", "queued"}, {"reason", "client_disconnect"}}) == 1;
    }));
    CHECK(t->facts().abort_phase == RequestTimeline::Phase::Queued);
    CHECK(t->facts().abort_reason == "client_disconnect");
  }
  SECTION("prefill: cancelled after it was scheduled, before its first token") {
    // 64 tokens a step: a 1,500-token prompt takes about 24 steps to prefill.
    Engine e({}, /*batched_tokens=*/64);
    std::string prompt;
    for (int i = 0; i < 1500; ++i) prompt += " word";
    std::shared_ptr<SessionSink> sink;
    auto t = e.submit("cmpl-p", prompt, 8, &sink);
    REQUIRE(e.eventually([&] { return t->has(Instant::FirstScheduled); }, 60s));
    e.runtime->cancel("cmpl-p", AbortReason::Timeout);
    REQUIRE(sink->wait());
    t->finish_part();
    REQUIRE_FALSE(t->has(Instant::FirstToken));
    CHECK(e.eventually([&] { return e.sum("troupe_request_aborts_total", {{"stage", "prefill"}, {"reason", "timeout"}}) == 1; }));
    CHECK(e.sum("troupe_request_aborts_total") == 1);
  }
  SECTION("decode: cancelled while generating") {
    Engine e;
    std::shared_ptr<SessionSink> sink;
    auto t = e.submit("cmpl-d", "Once upon a time", 1500, &sink);
    REQUIRE(sink->wait_for_tokens());
    e.runtime->cancel("cmpl-d", AbortReason::Shutdown);
    REQUIRE(sink->wait(10s));
    t->finish_part();
    CHECK(e.eventually([&] { return e.sum("troupe_request_aborts_total", {{"stage", "decode"}, {"reason", "shutdown"}}) == 1; }));
    CHECK(t->facts().outcome == "aborted");
  }
  SECTION("error: the executor failed during its prefill") {
    Engine e;
    e.fail_next = 1;
    std::shared_ptr<SessionSink> sink;
    auto t = e.submit("cmpl-e", "Hello there", 8, &sink);
    REQUIRE(sink->wait());
    CHECK(sink->error());
    t->finish_part();
    CHECK(e.eventually([&] { return e.sum("troupe_request_aborts_total", {{"stage", "prefill"}, {"reason", "error"}}) == 1; }));
  }
}

TEST_CASE("telemetry: saturation rises under load and falls back to zero", "[actors][telemetry]") {
  Engine e;
  std::vector<std::shared_ptr<SessionSink>> sinks(4);
  std::vector<std::shared_ptr<RequestTimeline>> timelines;
  for (int i = 0; i < 4; ++i) timelines.push_back(e.submit("cmpl-s" + std::to_string(i), "Count to one hundred:", 40, &sinks[i]));
  for (auto& s : sinks) REQUIRE(s->wait_for_tokens());
  // Four of eight slots run; the steps use part of their 256-token budget; blocks are held.
  CHECK(e.sum("troupe_engine_saturation", {{"resource", "running_slots"}}) == Approx(0.5));
  CHECK(e.sum("troupe_engine_saturation", {{"resource", "kv_blocks"}}) > 0);
  CHECK(e.sum("troupe_engine_saturation", {{"resource", "step_tokens"}}) > 0);
  CHECK(e.sum("troupe_engine_saturation", {{"resource", "waiting_queue"}}) == 0);
  for (auto& s : sinks) REQUIRE(s->wait());
  for (auto& t : timelines) t->finish_part();
  CHECK(e.eventually([&] {
    return e.sum("troupe_engine_saturation", {{"resource", "running_slots"}}) == 0 &&
           e.sum("troupe_engine_saturation", {{"resource", "step_tokens"}}) == 0 &&
           e.sum("troupe_engine_saturation", {{"resource", "kv_blocks"}}) == 0;
  }));
}

TEST_CASE("telemetry: --metric-labels reach every series, and no series has an unreserved label", "[actors][telemetry]") {
  EngineOptions eo;
  eo.metric_labels = parse_metric_labels("variant=thinking,region=eu");
  Engine e(eo);
  std::shared_ptr<SessionSink> sink;
  auto t = e.submit("cmpl-l", "Hello", 3, &sink);
  REQUIRE(sink->wait());
  t->finish_part();
  const std::string text = e.runtime->metrics_text();
  static const std::regex sample(R"re(^([a-zA-Z_:][a-zA-Z0-9_:]*)\{(.*)\} \S+$)re");
  static const std::regex label(R"re(([a-zA-Z_][a-zA-Z0-9_]*)="(?:[^"\\]|\\.)*")re");
  std::istringstream lines(text);
  std::string line;
  int samples = 0;
  std::set<std::string> families;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::smatch m;
    CAPTURE(line);
    REQUIRE(std::regex_match(line, m, sample));
    const std::string body = m[2];
    std::set<std::string> names;
    for (auto it = std::sregex_iterator(body.begin(), body.end(), label); it != std::sregex_iterator(); ++it) {
      names.insert((*it)[1]);
    }
    CHECK(names.count("variant") == 1);
    CHECK(names.count("region") == 1);
    for (const auto& n : names) {
      if (n != "variant" && n != "region") CHECK(reserved_metric_label_names().count(n) == 1);
    }
    families.insert(m[1]);
    ++samples;
  }
  CHECK(families.count("troupe_build_info") == 1);
  CHECK(families.count("troupe_request_stage_seconds_bucket") == 1);
  CHECK(samples > 200);
}
