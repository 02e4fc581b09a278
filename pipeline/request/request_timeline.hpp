#pragma once
// The life of one request as instants on the steady clock, written by every part of the server that
// handles it (the HTTP session, the request actor, the tokenizer, the scheduler) and read once, by
// whichever of them is done last, to report the request: its time-to-first-token stages
// (troupe_request_stage_seconds), its log line, its abort stage.
//
// Threads: each instant is one atomic, so marking never locks (it is on the token path). An instant
// keeps its first mark (a preempted sequence that is scheduled again does not move FirstScheduled).
// The plain fields of `facts` are written by one party each before it calls finish_part(), and
// read only by the party that finishes last (finish_part's acquire-release makes them visible).
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace troupe {

class RequestTimeline {
 public:
  using Clock = std::chrono::steady_clock;

  // In the order they happen to a request that produces output.
  enum class Instant : uint8_t {
    Received,           // the HTTP layer has the whole request (before parsing)
    Parsed,             // the OpenAI JSON is parsed and valid; vLLM's "arrival"
    TokenizerQueued,    // the request actor sent it to a tokenizer
    TokenizeStarted,    // a tokenizer began rendering/encoding it (the first prompt of a batch)
    Tokenized,          // the prompt's token ids exist (every prompt's, for a batch)
    SchedulerQueued,    // the request actor sent its sequences to a scheduler
    FirstScheduled,     // the scheduler put one of its sequences in a step (prefill begins)
    FirstToken,         // the request actor received the first generated token
    FirstTokenWritten,  // the HTTP layer finished writing the bytes of the first token to the socket
    Ended,              // the request actor sent the request's last event (or its error)
  };
  static constexpr std::size_t kInstants = 10;
  static std::string_view instant_name(Instant i);

  // The time to first token, cut at the instants above. Consecutive stages share a boundary, so
  // their durations add up to Received -> FirstTokenWritten exactly.
  enum class Stage : uint8_t {
    Parse,           // Received -> Parsed
    TokenizerQueue,  // Parsed -> TokenizeStarted: handed to the request actor, waiting for a tokenizer
    Tokenize,        // TokenizeStarted -> Tokenized: chat template and BPE
    SchedulerQueue,  // Tokenized -> FirstScheduled: admission and waiting for a batch slot / KV blocks
    Prefill,         // FirstScheduled -> FirstToken: prompt computed, first token sampled and delivered
    FirstWrite,      // FirstToken -> FirstTokenWritten: detokenized, encoded and written to the socket
  };
  static constexpr std::size_t kStages = 6;
  static std::string_view stage_name(Stage s);  // "parse", "tokenizer_queue", ... (metric label values)
  using StageSeconds = std::array<double, kStages>;

  // Where a request was when it was stopped (troupe_request_aborts_total{stage}).
  enum class Phase : uint8_t { Queued, Prefill, Decode };
  static std::string_view phase_name(Phase p);  // "queued", "prefill", "decode"

  // Facts for the request's report, each written by the party that knows it.
  struct Facts {
    // HTTP layer (before submitting).
    std::string request_id;     // X-Request-Id as the client sent it, or the response id
    bool stream = false;
    // Engine (before its finish_part).
    int engine = 0;
    int64_t prompt_tokens = 0;
    int64_t completion_tokens = 0;
    int64_t cached_prompt_tokens = 0;
    std::string finish_reason;  // stop, length, abort, error
    std::string outcome;        // troupe_requests_total{outcome}
    std::optional<Phase> abort_phase;
    std::string abort_reason;   // abort_reason_name(), when abort_phase is set
  };

  // `parties`: how many finish_part() calls complete the timeline (the engine, plus the HTTP
  // session when one serves the request).
  explicit RequestTimeline(int parties = 1) noexcept;
  RequestTimeline(const RequestTimeline&) = delete;
  RequestTimeline& operator=(const RequestTimeline&) = delete;

  // Records `at` for `i` unless `i` was already marked. Lock-free, any thread.
  void mark(Instant i, Clock::time_point at = Clock::now()) noexcept;
  // Records `at` for `i` unless a later time is already there: for an instant that several
  // parallel pieces of work reach (Tokenized, for a completions batch tokenized prompt by prompt),
  // the last of them.
  void mark_latest(Instant i, Clock::time_point at = Clock::now()) noexcept;
  bool has(Instant i) const noexcept { return slot(i).load(std::memory_order_acquire) != kUnset; }
  std::optional<Clock::time_point> at(Instant i) const noexcept;

  // Seconds from `from` to `to`; nullopt unless both are marked.
  std::optional<double> seconds(Instant from, Instant to) const noexcept;
  // The instants a stage runs between: stage k from boundary k to boundary k + 1.
  static std::pair<Instant, Instant> stage_bounds(Stage s) noexcept;
  // One stage's duration; nullopt unless both its ends are marked.
  std::optional<double> seconds(Stage s) const noexcept;
  // Every stage's duration; nullopt unless every boundary (Received .. FirstTokenWritten) is marked.
  std::optional<StageSeconds> stage_seconds() const noexcept;
  // Received -> FirstTokenWritten.
  std::optional<double> ttft_seconds() const noexcept { return seconds(Instant::Received, Instant::FirstTokenWritten); }
  // Queued until FirstScheduled, Prefill until FirstToken, Decode after.
  Phase phase() const noexcept;

  Facts& facts() noexcept { return facts_; }
  const Facts& facts() const noexcept { return facts_; }

  // Called by the party that finishes last, once, with the complete timeline. Set it before the
  // timeline is shared with a second thread (the engine sets it in submit).
  void on_complete(std::function<void(const RequestTimeline&)> report) { report_ = std::move(report); }
  // One party is done writing. The last one runs the on_complete callback (exceptions from it are
  // swallowed: reporting must never fail a request). Returns whether this call was the last.
  bool finish_part() noexcept;

 private:
  static constexpr int64_t kUnset = INT64_MIN;
  std::atomic<int64_t>& slot(Instant i) noexcept { return instants_[static_cast<std::size_t>(i)]; }
  const std::atomic<int64_t>& slot(Instant i) const noexcept { return instants_[static_cast<std::size_t>(i)]; }

  std::array<std::atomic<int64_t>, kInstants> instants_;  // steady-clock ticks since its epoch, or kUnset
  std::atomic<int> pending_;
  Facts facts_;
  std::function<void(const RequestTimeline&)> report_;
};

}  // namespace troupe
