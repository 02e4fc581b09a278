// The actor system end to end without HTTP: EngineRuntime over the real default model on the CPU
// backend, with a recording EventSink in place of the HTTP session. Covers the request path,
// cancellation, overload and supervision of a failing executor.
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <regex>

#include "actors/engine_runtime.hpp"
#include "gpu/cpu/cpu_backend.hpp"
#include "pipeline/openai/api_context.hpp"

using namespace troupe;
using namespace std::chrono_literals;

namespace {

// Collects events; wait() blocks until the request's last event.
class RecordingSink final : public EventSink {
 public:
  void push(GenerationEvent event) override {
    std::lock_guard lock(mutex_);
    done_ = done_ || event.done || event.error.has_value();
    events_.push_back(std::move(event));
    cv_.notify_all();
  }
  bool wait(std::chrono::seconds limit = 60s) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, limit, [&] { return done_; });
  }
  bool wait_for_tokens(std::chrono::seconds limit = 60s) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, limit, [&] {
      for (const auto& e : events_) {
        if (!e.choices.empty()) return true;
      }
      return done_;
    });
  }
  std::vector<GenerationEvent> events() {
    std::lock_guard lock(mutex_);
    return events_;
  }
  std::string text(int choice = 0) {
    std::string t;
    for (const auto& e : events()) {
      for (const auto& c : e.choices) {
        if (c.index == choice) t += c.text;
      }
    }
    return t;
  }
  std::optional<ApiError> error() {
    for (const auto& e : events()) {
      if (e.error) return e.error;
    }
    return std::nullopt;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<GenerationEvent> events_;
  bool done_ = false;
};

// A backend that fails on chosen forward calls: an executor whose device broke mid-flight.
class FlakyBackend final : public Backend {
 public:
  FlakyBackend(std::shared_ptr<Backend> inner, std::atomic<int>* fail_next) : inner_(std::move(inner)), fail_next_(fail_next) {}
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

// The first series of /metrics whose name and labels match `series` (a regex), or -1.
double exported(EngineRuntime& engine, const std::string& series) {
  const std::string m = engine.metrics_text();
  std::smatch match;
  if (!std::regex_search(m, match, std::regex(series + " ([0-9.e+-]+)"))) return -1;
  return std::stod(match[1].str());
}
// Whether that series comes to equal `expected` within `limit` (the telemetry actor applies the
// scheduler's snapshots asynchronously).
bool becomes(EngineRuntime& engine, const std::string& series, double expected, std::chrono::seconds limit = 5s) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (exported(engine, series) == expected) return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

struct Fixture {
  std::atomic<int> fail_next{0};
  std::shared_ptr<const ModelText> text;
  std::unique_ptr<EngineRuntime> engine;

  explicit Fixture(int64_t max_waiting = 64) {
    const char* path = std::getenv("TROUPE_DEFAULT_MODEL");
    REQUIRE(path != nullptr);  // the test command fetches the default model and sets this
    const ModelFiles model = ModelFiles::open(path);
    text = std::make_shared<const ModelText>(load_model_text(model));
    BackendOptions bo;
    bo.max_kv_tokens = 4096;
    auto backend = std::make_shared<FlakyBackend>(std::make_shared<CpuBackend>(model, bo), &fail_next);
    ServedModel served{"smollm2", 2048, 0, path};
    EngineOptions eo;
    eo.scheduler.max_num_seqs = 8;
    eo.scheduler.max_num_batched_tokens = 256;
    eo.scheduler.max_waiting = max_waiting;
    engine = std::make_unique<EngineRuntime>(served, text, std::vector<std::shared_ptr<Backend>>{backend}, eo);
  }

  GenerationRequest completion(const std::string& id, std::string prompt, int64_t max_tokens) {
    GenerationRequest r;
    r.id = id;
    r.endpoint = Endpoint::Completions;
    r.model = "smollm2";
    r.prompt = std::move(prompt);
    r.stop.max_tokens = max_tokens;
    return r;
  }

  // troupe_kv_blocks{engine="0",state="used"} as exported on /metrics.
  double kv_blocks_used() { return exported(*engine, R"re(troupe_kv_blocks\{[^}]*state="used"[^}]*\})re"); }
  bool wait_kv_free(std::chrono::seconds limit = 10s) { return becomes(*engine, R"re(troupe_kv_blocks\{[^}]*state="used"[^}]*\})re", 0, limit); }
};

}  // namespace

TEST_CASE("a completion flows through tokenizer, scheduler and executor actors", "[actors]") {
  Fixture f;
  auto sink = std::make_shared<RecordingSink>();
  f.engine->submit(f.completion("cmpl-1", "The quick brown fox", 8), sink);
  REQUIRE(sink->wait());
  CHECK_FALSE(sink->error());
  const auto events = sink->events();
  REQUIRE(events.back().done);
  REQUIRE(events.back().usage.has_value());
  CHECK(events.back().usage->prompt_tokens == 4);
  CHECK(events.back().usage->completion_tokens == 8);
  // The same greedy continuation `troupe generate` and llama.cpp give for this prompt.
  CHECK(sink->text() == " with a quick brown bear.\n\n");
  CHECK(f.wait_kv_free());
}

TEST_CASE("a prompt longer than the context is refused naming both lengths", "[actors]") {
  Fixture f;
  auto sink = std::make_shared<RecordingSink>();
  std::string long_prompt;
  for (int i = 0; i < 3000; ++i) long_prompt += " word";
  f.engine->submit(f.completion("cmpl-long", long_prompt, 8), sink);
  REQUIRE(sink->wait());
  const auto err = sink->error();
  REQUIRE(err.has_value());
  CHECK(err->status == 400);
  CHECK_THAT(err->message, Catch::Matchers::Contains("2048") && Catch::Matchers::Contains("3000"));
}

TEST_CASE("cancelling a running request frees its KV blocks at once", "[actors]") {
  Fixture f;
  auto sink = std::make_shared<RecordingSink>();
  f.engine->submit(f.completion("cmpl-cancel", "Once upon a time", 1500), sink);
  REQUIRE(sink->wait_for_tokens());
  CHECK(f.kv_blocks_used() > 0);
  f.engine->cancel("cmpl-cancel");
  // 1500 tokens would take a minute or more: ending within seconds means the cancel took.
  REQUIRE(sink->wait(5s));
  CHECK(f.wait_kv_free(5s));
  CHECK(sink->events().back().done);
  CHECK_FALSE(sink->events().back().usage.has_value());  // no normal finish
}

TEST_CASE("a full queue answers 503 with Retry-After instead of growing", "[actors]") {
  Fixture f(/*max_waiting=*/1);
  std::vector<std::shared_ptr<RecordingSink>> sinks;
  for (int i = 0; i < 12; ++i) {
    sinks.push_back(std::make_shared<RecordingSink>());
    f.engine->submit(f.completion("cmpl-q" + std::to_string(i), "Tell me a story about number " + std::to_string(i), 16),
                     sinks.back());
  }
  int overloaded = 0, completed = 0;
  for (auto& s : sinks) {
    REQUIRE(s->wait());
    if (auto e = s->error()) {
      CHECK(e->status == 503);
      CHECK(e->retry_after_seconds > 0);
      ++overloaded;
    } else {
      ++completed;
    }
  }
  CHECK(overloaded > 0);
  CHECK(completed > 0);
  CHECK(f.wait_kv_free());
}

TEST_CASE("an executor failure ends the requests it held with an error and serving goes on", "[actors][supervision]") {
  Fixture f;
  auto first = std::make_shared<RecordingSink>();
  f.engine->submit(f.completion("cmpl-a", "The quick brown fox", 200), first);
  REQUIRE(first->wait_for_tokens());
  f.fail_next = 1;
  REQUIRE(first->wait());
  const auto err = first->error();
  REQUIRE(err.has_value());
  CHECK(err->status == 500);
  CHECK_THAT(err->message, Catch::Matchers::Contains("injected device fault"));
  CHECK(f.wait_kv_free());

  auto second = std::make_shared<RecordingSink>();
  f.engine->submit(f.completion("cmpl-b", "The quick brown fox", 8), second);
  REQUIRE(second->wait());
  INFO("second error: " << (second->error() ? second->error()->message : std::string("none")));
  CHECK_FALSE(second->error());
  CHECK(second->text() == " with a quick brown bear.\n\n");
  CHECK(f.engine->healthy());
}

TEST_CASE("the router spreads requests over two CPU engines and all complete", "[actors][router]") {
  const char* path = std::getenv("TROUPE_DEFAULT_MODEL");
  REQUIRE(path != nullptr);
  const ModelFiles model = ModelFiles::open(path);
  auto text = std::make_shared<const ModelText>(load_model_text(model));
  std::vector<std::shared_ptr<Backend>> backends;
  for (int i = 0; i < 2; ++i) {
    BackendOptions bo;
    bo.max_kv_tokens = 4096;
    bo.threads = 1;
    bo.label = "cpu:" + std::to_string(i);
    backends.push_back(std::make_shared<CpuBackend>(model, bo));
  }
  EngineOptions eo;
  eo.scheduler.max_num_seqs = 16;
  eo.scheduler.max_num_batched_tokens = 256;
  EngineRuntime engine(ServedModel{"smollm2", 2048, 0, path}, text, backends, eo);

  std::vector<std::shared_ptr<RecordingSink>> sinks;
  for (int i = 0; i < 32; ++i) {
    GenerationRequest r;
    r.id = "cmpl-r" + std::to_string(i);
    r.prompt = "Request number " + std::to_string(i) + " asks:";
    r.stop.max_tokens = 4;
    sinks.push_back(std::make_shared<RecordingSink>());
    engine.submit(std::move(r), sinks.back());
  }
  for (auto& s : sinks) {
    REQUIRE(s->wait(120s));
    CHECK_FALSE(s->error());
  }
  // Both engines served requests: vllm:request_success_total per engine label.
  const std::string m = engine.metrics_text();
  double served[2] = {0, 0};
  static const std::regex re(R"re(vllm:request_success_total\{engine="(\d)"[^}]*\} ([0-9.e+]+))re");
  for (auto it = std::sregex_iterator(m.begin(), m.end(), re); it != std::sregex_iterator(); ++it) {
    served[std::stoi((*it)[1].str())] += std::stod((*it)[2].str());
  }
  INFO("engine 0 served " << served[0] << ", engine 1 served " << served[1]);
  CHECK(served[0] + served[1] == 32);
  CHECK(served[0] >= 8);
  CHECK(served[1] >= 8);
  // Per-device metrics carry both devices.
  CHECK_THAT(m, Catch::Matchers::Contains(R"(troupe_device_memory_bytes{device="cpu:1")") ||
                    Catch::Matchers::Contains(R"(device="cpu:1",kind=)"));
}

namespace {

// EngineRuntime::pause / resume, waiting for the engine's answer.
bool pause_engine(EngineRuntime& engine, PauseMode mode, std::chrono::seconds limit = 30s) {
  auto answered = std::make_shared<std::promise<void>>();
  engine.pause(mode, [answered] { answered->set_value(); });
  return answered->get_future().wait_for(limit) == std::future_status::ready;
}
bool resume_engine(EngineRuntime& engine) {
  auto answered = std::make_shared<std::promise<void>>();
  engine.resume([answered] { answered->set_value(); });
  return answered->get_future().wait_for(30s) == std::future_status::ready;
}
// vllm:num_requests_waiting comes to equal `expected`.
bool waiting_becomes(EngineRuntime& engine, double expected) {
  return becomes(engine, R"re(vllm:num_requests_waiting\{[^}]*\})re", expected);
}
std::size_t tokens_of(RecordingSink& sink) {
  std::size_t n = 0;
  for (const auto& e : sink.events()) {
    for (const auto& c : e.choices) n += c.token_ids.size();
  }
  return n;
}

}  // namespace

TEST_CASE("pause keep freezes a running request and queues new ones; resume continues both unchanged", "[actors][pause]") {
  Fixture f;
  auto running = std::make_shared<RecordingSink>();
  f.engine->submit(f.completion("cmpl-frozen", "The quick brown fox", 48), running);
  REQUIRE(running->wait_for_tokens());
  REQUIRE(pause_engine(*f.engine, PauseMode::Keep));
  CHECK(f.engine->paused());
  // The last step's tokens may still be on their way through the request actor.
  std::this_thread::sleep_for(200ms);
  const std::size_t frozen_at = tokens_of(*running);
  auto queued = std::make_shared<RecordingSink>();
  f.engine->submit(f.completion("cmpl-queued", "The quick brown fox", 8), queued);
  std::this_thread::sleep_for(500ms);
  CHECK(tokens_of(*running) == frozen_at);  // no step ran
  CHECK(frozen_at < 48);
  CHECK(f.kv_blocks_used() > 0);  // its KV cache kept
  CHECK(queued->events().empty());  // not admitted: not even its first event
  CHECK(waiting_becomes(*f.engine, 1));  // the queued request, held by the pause, counts as waiting
  CHECK(becomes(*f.engine, R"re(troupe_engine_paused\{[^}]*\})re", 1));
  REQUIRE(resume_engine(*f.engine));
  CHECK_FALSE(f.engine->paused());
  CHECK(becomes(*f.engine, R"re(troupe_engine_paused\{[^}]*\})re", 0));
  REQUIRE(running->wait());
  REQUIRE(queued->wait());
  CHECK_FALSE(running->error());
  // Greedy: the frozen request goes on as if nothing happened (the same start as the unpaused
  // completion of the first test) and the queued one gives that completion exactly.
  CHECK_THAT(running->text(), Catch::Matchers::StartsWith(" with a quick brown bear.\n\n"));
  CHECK(tokens_of(*running) == 48);
  CHECK(queued->text() == " with a quick brown bear.\n\n");
  CHECK(f.wait_kv_free());
}

TEST_CASE("pause wait answers once the running requests ended; what arrives meanwhile starts on resume", "[actors][pause]") {
  Fixture f;
  auto running = std::make_shared<RecordingSink>();
  f.engine->submit(f.completion("cmpl-draining", "The quick brown fox", 48), running);
  REQUIRE(running->wait_for_tokens());
  auto answered = std::make_shared<std::promise<void>>();
  f.engine->pause(PauseMode::Wait, [answered] { answered->set_value(); });
  // A request sent with the pause may come before it; one sent well after it (the running request
  // has about half a second left) is held.
  std::this_thread::sleep_for(100ms);
  CHECK(tokens_of(*running) < 48);
  auto queued = std::make_shared<RecordingSink>();
  f.engine->submit(f.completion("cmpl-later", "The quick brown fox", 8), queued);
  REQUIRE(answered->get_future().wait_for(30s) == std::future_status::ready);
  // The pause was answered once the running request's last step ran (that step's tokens may still
  // be on their way to the request).
  CHECK(tokens_of(*running) >= 46);
  REQUIRE(running->wait(5s));
  CHECK(tokens_of(*running) == 48);
  std::this_thread::sleep_for(300ms);
  CHECK(queued->events().empty());
  CHECK(f.wait_kv_free());
  REQUIRE(resume_engine(*f.engine));
  REQUIRE(queued->wait());
  CHECK(queued->text() == " with a quick brown bear.\n\n");
}

TEST_CASE("pause abort ends the running requests with finish reason abort and frees their blocks", "[actors][pause]") {
  Fixture f;
  auto running = std::make_shared<RecordingSink>();
  f.engine->submit(f.completion("cmpl-aborted", "Once upon a time", 1500), running);
  REQUIRE(running->wait_for_tokens());
  REQUIRE(pause_engine(*f.engine, PauseMode::Abort, 5s));
  REQUIRE(running->wait(5s));
  CHECK_FALSE(running->error());
  const auto events = running->events();
  REQUIRE_FALSE(events.back().choices.empty());
  CHECK(events.back().choices.back().finish == FinishReason::Abort);
  CHECK(tokens_of(*running) < 1500);
  CHECK(f.wait_kv_free(5s));
  CHECK_THAT(f.engine->metrics_text(), Catch::Matchers::Contains("reason=\"pause\""));
  // A second pause changes nothing and answers at once; after resume serving goes on.
  REQUIRE(pause_engine(*f.engine, PauseMode::Keep, 1s));
  REQUIRE(resume_engine(*f.engine));
  auto next = std::make_shared<RecordingSink>();
  f.engine->submit(f.completion("cmpl-after", "The quick brown fox", 8), next);
  REQUIRE(next->wait());
  CHECK(next->text() == " with a quick brown bear.\n\n");
}

TEST_CASE("a request held by a pause whose client leaves is dropped, and counts no longer", "[actors][pause]") {
  Fixture f;
  REQUIRE(pause_engine(*f.engine, PauseMode::Keep));
  auto held = std::make_shared<RecordingSink>();
  f.engine->submit(f.completion("cmpl-held", "The quick brown fox", 8), held);
  std::this_thread::sleep_for(200ms);
  CHECK(waiting_becomes(*f.engine, 1));
  f.engine->cancel("cmpl-held");
  REQUIRE(held->wait(5s));
  CHECK(waiting_becomes(*f.engine, 0));
  REQUIRE(resume_engine(*f.engine));
  auto next = std::make_shared<RecordingSink>();
  f.engine->submit(f.completion("cmpl-next", "The quick brown fox", 8), next);
  REQUIRE(next->wait());
  CHECK(next->text() == " with a quick brown bear.\n\n");
  CHECK(f.wait_kv_free());
}
