#pragma once
// A ServingEngine for the HTTP tests: it answers each submitted request by pushing a scripted list
// of events from its own thread (as actors would), optionally without end until cancelled, and
// records what it was asked.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include "actors/serving_engine.hpp"

namespace troupe::test {

struct Script {
  std::vector<GenerationEvent> events;
  // After `events`, keep pushing one-token deltas every `interval` until cancel().
  bool endless = false;
  std::chrono::milliseconds interval{5};
};

inline GenerationEvent text_event(const std::string& text, int index = 0) {
  GenerationEvent event;
  ChoiceDelta delta;
  delta.index = index;
  delta.text = text;
  delta.token_ids = {static_cast<int32_t>(text.size())};
  event.choices.push_back(std::move(delta));
  event.prompt_tokens = 5;
  return event;
}

inline GenerationEvent final_event(FinishReason reason, int64_t completion_tokens, int index = 0) {
  GenerationEvent event;
  ChoiceDelta delta;
  delta.index = index;
  delta.finish = reason;
  event.choices.push_back(std::move(delta));
  event.usage = Usage{5, completion_tokens, 2};
  event.done = true;
  event.prompt_tokens = 5;
  return event;
}

inline GenerationEvent error_event(int status, std::string message, int retry_after = 0) {
  GenerationEvent event;
  ApiError error;
  error.status = status;
  error.type = status == 503 ? "server_error" : "invalid_request_error";
  error.message = std::move(message);
  error.retry_after_seconds = retry_after;
  event.error = error;
  return event;
}

class ScriptedEngine final : public ServingEngine {
 public:
  ScriptedEngine() { model_ = ServedModel{"test-model", 2048, 1700000000, "/models/test-model"}; }
  ~ScriptedEngine() override {
    std::vector<std::thread> workers;
    {
      const std::lock_guard lock(mutex_);
      workers.swap(workers_);
    }
    for (std::thread& worker : workers) worker.join();
  }

  std::function<Script(const GenerationRequest&)> script = [](const GenerationRequest&) {
    return Script{{text_event("Hello"), text_event(" world"), final_event(FinishReason::Stop, 2)}};
  };
  std::atomic<bool> is_healthy{true};

  const ServedModel& served_model() const override { return model_; }

  void submit(GenerationRequest request, std::shared_ptr<EventSink> sink) override {
    Script plan = script(request);
    const std::lock_guard lock(mutex_);
    submitted_.push_back(request);
    tenants_.push_back(request.tenant);
    workers_.emplace_back([this, id = request.id, plan = std::move(plan), sink = std::move(sink)] {
      for (const GenerationEvent& event : plan.events) sink->push(event);
      if (!plan.endless) return;
      while (!was_cancelled(id)) {
        sink->push(text_event("x"));
        std::unique_lock lock(mutex_);
        cancelled_changed_.wait_for(lock, plan.interval);
      }
      // As the request actor does: a client still listening when the server stops learns why.
      if (cancel_reason(id) == AbortReason::Shutdown) {
        GenerationEvent last = error_event(503, "The server is shutting down.");
        last.done = true;
        sink->push(last);
      }
    });
  }

  // Pausing only records the calls: the routes' parsing and gating are what the HTTP tests check
  // (the engine's side: tests/actors/engine_runtime_test.cpp).
  void pause(PauseMode mode, std::function<void()> done) override {
    {
      const std::lock_guard lock(mutex_);
      pauses_.push_back(mode);
    }
    paused_ = true;
    done();
  }
  void resume(std::function<void()> done) override {
    paused_ = false;
    done();
  }
  bool paused() const override { return paused_; }
  std::vector<PauseMode> pauses() {
    const std::lock_guard lock(mutex_);
    return pauses_;
  }

  void cancel(const std::string& request_id, AbortReason reason = AbortReason::ClientDisconnect) override {
    const std::lock_guard lock(mutex_);
    cancelled_.insert(request_id);
    reasons_.emplace(request_id, reason);
    cancelled_changed_.notify_all();
  }

  // Why the request was cancelled (the first reason given), if it was.
  std::optional<AbortReason> cancel_reason(const std::string& id) {
    const std::lock_guard lock(mutex_);
    if (auto it = reasons_.find(id); it != reasons_.end()) return it->second;
    return std::nullopt;
  }

  void tokenize(TokenizeRequest request, std::function<void(TokenizeResult)> done) override {
    const std::lock_guard lock(mutex_);
    workers_.emplace_back([=] {
      TokenizeResult result;
      if (request.use_messages) {
        result.tokens.push_back(static_cast<int32_t>(request.messages.size()));
      } else {
        if (request.add_special_tokens) result.tokens.push_back(1);
        for (unsigned char c : request.prompt) result.tokens.push_back(c);
      }
      done(std::move(result));
    });
  }

  void detokenize(std::vector<int32_t> tokens, std::function<void(DetokenizeResult)> done) override {
    const std::lock_guard lock(mutex_);
    workers_.emplace_back([=] {
      DetokenizeResult result;
      for (int32_t t : tokens) result.text += static_cast<char>(t);
      done(std::move(result));
    });
  }

  std::string metrics_text() override { return "troupe_test_requests_total 3\n"; }
  void record_rejected(const RejectedRequest& r) override {
    const std::lock_guard lock(mutex_);
    rejected_.push_back(r.tenant + ":" + (r.generation ? (r.status >= 500 ? "error" : "invalid") : "other") + ":" +
                        std::to_string(r.status) + ":" + r.reason + ":" + r.endpoint);
  }
  std::vector<std::string> rejected() {
    const std::lock_guard lock(mutex_);
    return rejected_;
  }
  // The tenant of every request submitted, in order.
  std::vector<std::string> tenants() {
    const std::lock_guard lock(mutex_);
    return tenants_;
  }
  bool healthy() const override { return is_healthy; }

  bool was_cancelled(const std::string& id) {
    const std::lock_guard lock(mutex_);
    return cancelled_.count(id) > 0;
  }

  // Waits up to `timeout` for any cancel(); returns the cancelled ids.
  std::set<std::string> wait_for_cancel(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    cancelled_changed_.wait_for(lock, timeout, [&] { return !cancelled_.empty(); });
    return cancelled_;
  }

  std::vector<GenerationRequest> submitted() {
    const std::lock_guard lock(mutex_);
    return submitted_;
  }

 private:
  ServedModel model_;
  std::atomic<bool> paused_{false};
  std::vector<PauseMode> pauses_;
  std::mutex mutex_;
  std::condition_variable cancelled_changed_;
  std::set<std::string> cancelled_;
  std::map<std::string, AbortReason> reasons_;
  std::vector<std::string> rejected_;
  std::vector<std::string> tenants_;
  std::vector<GenerationRequest> submitted_;
  std::vector<std::thread> workers_;
};

}  // namespace troupe::test
