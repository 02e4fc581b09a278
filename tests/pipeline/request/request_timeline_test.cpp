// RequestTimeline: instants keep their first mark, stages telescope to the time to first token,
// a missing boundary leaves its stage (and the decomposition) out, the phase follows the instants,
// and of several parties finishing from different threads exactly one reports, after every mark.
#include <catch2/catch.hpp>

#include <atomic>
#include <numeric>
#include <thread>
#include <vector>

#include "pipeline/request/request_timeline.hpp"

namespace troupe {

namespace {

using Instant = RequestTimeline::Instant;
using Stage = RequestTimeline::Stage;
using Clock = RequestTimeline::Clock;
using std::chrono::microseconds;

// A timeline whose instants are t0 + offsets[i] microseconds, for the first offsets.size() instants.
void mark_all(RequestTimeline& t, Clock::time_point t0, const std::vector<int64_t>& offsets_us) {
  for (std::size_t i = 0; i < offsets_us.size(); ++i) t.mark(static_cast<Instant>(i), t0 + microseconds(offsets_us[i]));
}

}  // namespace

TEST_CASE("request timeline: the first mark of an instant wins", "[request]") {
  RequestTimeline t;
  const auto t0 = Clock::now();
  CHECK_FALSE(t.has(Instant::FirstScheduled));
  CHECK_FALSE(t.at(Instant::FirstScheduled).has_value());
  t.mark(Instant::FirstScheduled, t0 + microseconds(10));
  t.mark(Instant::FirstScheduled, t0 + microseconds(99));  // a preempted sequence scheduled again
  REQUIRE(t.at(Instant::FirstScheduled).has_value());
  CHECK(*t.at(Instant::FirstScheduled) == t0 + microseconds(10));
  // A time point at the clock's epoch is a real mark, not "unset".
  t.mark(Instant::Received, Clock::time_point{});
  CHECK(t.has(Instant::Received));
}

TEST_CASE("request timeline: mark_latest keeps the latest time", "[request]") {
  RequestTimeline t;
  const auto t0 = Clock::now();
  t.mark_latest(Instant::Tokenized, t0 + microseconds(20));
  t.mark_latest(Instant::Tokenized, t0 + microseconds(5));
  CHECK(*t.at(Instant::Tokenized) == t0 + microseconds(20));
  t.mark_latest(Instant::Tokenized, t0 + microseconds(70));
  CHECK(*t.at(Instant::Tokenized) == t0 + microseconds(70));
  // From several threads: the largest wins.
  RequestTimeline u;
  std::vector<std::thread> threads;
  for (int k = 1; k <= 4; ++k) {
    threads.emplace_back([&, k] {
      for (int i = 0; i < 1000; ++i) u.mark_latest(Instant::Tokenized, t0 + microseconds(k * 1000 + i));
    });
  }
  for (auto& th : threads) th.join();
  CHECK(*u.at(Instant::Tokenized) == t0 + microseconds(4999));
}

TEST_CASE("request timeline: stages add up to received -> first token written", "[request]") {
  RequestTimeline t;
  const auto t0 = Clock::now();
  // received, parsed, tokenizer queued, tokenize started, tokenized, scheduler queued,
  // first scheduled, first token, first token written, ended
  mark_all(t, t0, {0, 40, 55, 1500, 2100, 2150, 7000, 52000, 52400, 90000});
  const auto stages = t.stage_seconds();
  REQUIRE(stages.has_value());
  const std::vector<double> want{40e-6, 1460e-6, 600e-6, 4900e-6, 45000e-6, 400e-6};
  for (std::size_t i = 0; i < want.size(); ++i) {
    CAPTURE(i);
    CHECK((*stages)[i] == Approx(want[i]).margin(1e-9));
    CHECK(t.seconds(static_cast<Stage>(i)).value() == Approx(want[i]).margin(1e-9));
  }
  REQUIRE(t.ttft_seconds().has_value());
  CHECK(std::accumulate(stages->begin(), stages->end(), 0.0) == Approx(*t.ttft_seconds()).margin(1e-12));
  CHECK(*t.ttft_seconds() == Approx(52400e-6));
  CHECK(t.seconds(Instant::Received, Instant::Ended).value() == Approx(0.09));
}

TEST_CASE("request timeline: a missing boundary leaves its stages out", "[request]") {
  RequestTimeline t;
  const auto t0 = Clock::now();
  mark_all(t, t0, {0, 40, 55, 1500, 2100, 2150, 7000, 52000});  // never written to the socket
  CHECK_FALSE(t.stage_seconds().has_value());
  CHECK_FALSE(t.ttft_seconds().has_value());
  CHECK(t.seconds(Stage::Prefill).has_value());
  CHECK_FALSE(t.seconds(Stage::FirstWrite).has_value());
}

TEST_CASE("request timeline: stage names and bounds", "[request]") {
  const std::vector<std::string_view> names{"parse", "tokenizer_queue", "tokenize", "scheduler_queue", "prefill", "first_write"};
  REQUIRE(names.size() == RequestTimeline::kStages);
  for (std::size_t i = 0; i < names.size(); ++i) CHECK(RequestTimeline::stage_name(static_cast<Stage>(i)) == names[i]);
  // Consecutive stages share their boundary; the first starts at Received, the last ends at
  // FirstTokenWritten.
  CHECK(RequestTimeline::stage_bounds(Stage::Parse).first == Instant::Received);
  CHECK(RequestTimeline::stage_bounds(Stage::FirstWrite).second == Instant::FirstTokenWritten);
  for (std::size_t i = 0; i + 1 < RequestTimeline::kStages; ++i) {
    CHECK(RequestTimeline::stage_bounds(static_cast<Stage>(i)).second ==
          RequestTimeline::stage_bounds(static_cast<Stage>(i + 1)).first);
  }
}

TEST_CASE("request timeline: phase is queued, then prefill, then decode", "[request]") {
  RequestTimeline t;
  CHECK(t.phase() == RequestTimeline::Phase::Queued);
  t.mark(Instant::Tokenized);
  CHECK(t.phase() == RequestTimeline::Phase::Queued);
  t.mark(Instant::FirstScheduled);
  CHECK(t.phase() == RequestTimeline::Phase::Prefill);
  t.mark(Instant::FirstToken);
  CHECK(t.phase() == RequestTimeline::Phase::Decode);
  CHECK(RequestTimeline::phase_name(RequestTimeline::Phase::Prefill) == "prefill");
}

TEST_CASE("request timeline: the last of several parties reports once, seeing every mark and fact", "[request]") {
  for (int round = 0; round < 200; ++round) {
    auto t = std::make_shared<RequestTimeline>(2);
    std::atomic<int> reports{0};
    bool saw_everything = false;
    t->on_complete([&](const RequestTimeline& done) {
      reports.fetch_add(1);
      saw_everything = done.has(Instant::FirstTokenWritten) && done.has(Instant::Ended) &&
                       done.facts().completion_tokens == 7 && done.facts().request_id == "r";
    });
    t->facts().request_id = "r";
    std::atomic<int> last{0};
    std::thread engine([&] {
      t->mark(Instant::Ended);
      t->facts().completion_tokens = 7;
      if (t->finish_part()) last.fetch_add(1);
    });
    std::thread session([&] {
      t->mark(Instant::FirstTokenWritten);
      if (t->finish_part()) last.fetch_add(1);
    });
    engine.join();
    session.join();
    REQUIRE(reports.load() == 1);
    REQUIRE(last.load() == 1);
    REQUIRE(saw_everything);
  }
}

TEST_CASE("request timeline: a report that throws is contained", "[request]") {
  RequestTimeline t(1);
  t.on_complete([](const RequestTimeline&) { throw std::runtime_error("log sink broke"); });
  CHECK(t.finish_part());
}

}  // namespace troupe
