#include "pipeline/request/request_timeline.hpp"

namespace troupe {

RequestTimeline::RequestTimeline(int parties) noexcept : pending_(parties) {
  for (auto& s : instants_) s.store(kUnset, std::memory_order_relaxed);
}

std::string_view RequestTimeline::instant_name(Instant i) {
  switch (i) {
    case Instant::Received: return "received";
    case Instant::Parsed: return "parsed";
    case Instant::TokenizerQueued: return "tokenizer_queued";
    case Instant::TokenizeStarted: return "tokenize_started";
    case Instant::Tokenized: return "tokenized";
    case Instant::SchedulerQueued: return "scheduler_queued";
    case Instant::FirstScheduled: return "first_scheduled";
    case Instant::FirstToken: return "first_token";
    case Instant::FirstTokenWritten: return "first_token_written";
    case Instant::Ended: return "ended";
  }
  return "?";
}

std::string_view RequestTimeline::stage_name(Stage s) {
  switch (s) {
    case Stage::Parse: return "parse";
    case Stage::TokenizerQueue: return "tokenizer_queue";
    case Stage::Tokenize: return "tokenize";
    case Stage::SchedulerQueue: return "scheduler_queue";
    case Stage::Prefill: return "prefill";
    case Stage::FirstWrite: return "first_write";
  }
  return "?";
}

std::string_view RequestTimeline::phase_name(Phase p) {
  switch (p) {
    case Phase::Queued: return "queued";
    case Phase::Prefill: return "prefill";
    case Phase::Decode: return "decode";
  }
  return "?";
}

void RequestTimeline::mark(Instant i, Clock::time_point at) noexcept {
  int64_t expected = kUnset;
  // Release: whoever reads the instant also sees what its writer did before (the facts are
  // published separately, by finish_part).
  slot(i).compare_exchange_strong(expected, at.time_since_epoch().count(), std::memory_order_release,
                                  std::memory_order_relaxed);
}

void RequestTimeline::mark_latest(Instant i, Clock::time_point at) noexcept {
  const int64_t ticks = at.time_since_epoch().count();
  int64_t current = slot(i).load(std::memory_order_relaxed);
  while ((current == kUnset || current < ticks) &&
         !slot(i).compare_exchange_weak(current, ticks, std::memory_order_release, std::memory_order_relaxed)) {
  }
}

std::optional<RequestTimeline::Clock::time_point> RequestTimeline::at(Instant i) const noexcept {
  const int64_t ticks = slot(i).load(std::memory_order_acquire);
  if (ticks == kUnset) return std::nullopt;
  return Clock::time_point(Clock::duration(ticks));
}

std::optional<double> RequestTimeline::seconds(Instant from, Instant to) const noexcept {
  const auto a = at(from);
  const auto b = at(to);
  if (!a || !b) return std::nullopt;
  return std::chrono::duration<double>(*b - *a).count();
}

namespace {

constexpr std::array<RequestTimeline::Instant, RequestTimeline::kStages + 1> kStageBoundaries{
    RequestTimeline::Instant::Received,       RequestTimeline::Instant::Parsed,
    RequestTimeline::Instant::TokenizeStarted, RequestTimeline::Instant::Tokenized,
    RequestTimeline::Instant::FirstScheduled, RequestTimeline::Instant::FirstToken,
    RequestTimeline::Instant::FirstTokenWritten};

}  // namespace

std::pair<RequestTimeline::Instant, RequestTimeline::Instant> RequestTimeline::stage_bounds(Stage s) noexcept {
  const auto k = static_cast<std::size_t>(s);
  return {kStageBoundaries[k], kStageBoundaries[k + 1]};
}

std::optional<double> RequestTimeline::seconds(Stage s) const noexcept {
  const auto [from, to] = stage_bounds(s);
  return seconds(from, to);
}

std::optional<RequestTimeline::StageSeconds> RequestTimeline::stage_seconds() const noexcept {
  std::array<Clock::time_point, kStages + 1> t;
  for (std::size_t k = 0; k < t.size(); ++k) {
    const auto v = at(kStageBoundaries[k]);
    if (!v) return std::nullopt;
    t[k] = *v;
  }
  StageSeconds out{};
  for (std::size_t k = 0; k < kStages; ++k) out[k] = std::chrono::duration<double>(t[k + 1] - t[k]).count();
  return out;
}

RequestTimeline::Phase RequestTimeline::phase() const noexcept {
  if (has(Instant::FirstToken)) return Phase::Decode;
  if (has(Instant::FirstScheduled)) return Phase::Prefill;
  return Phase::Queued;
}

bool RequestTimeline::finish_part() noexcept {
  if (pending_.fetch_sub(1, std::memory_order_acq_rel) != 1) return false;
  if (report_) {
    try {
      report_(*this);
    } catch (...) {
      // A report that failed (a log sink that threw, say) loses that report, nothing else.
    }
  }
  return true;
}

}  // namespace troupe
