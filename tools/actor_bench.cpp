// Cost of troupe's instrumentation, per message and per request.
//
// Per message (actors/instrumented.hpp): messages per second through one receiving actor, spawned
// (a) as a plain CAF event-based actor and (b) through troupe::spawn_instrumented with a real
// ActorMetrics on a prometheus::Registry, so that every message is wrapped with its enqueue time
// and goes through the mailbox-depth counter and both histograms.
//
// Per request (pipeline/request/request_timeline.hpp, actors/request_report.cpp): the life of one
// request's timeline on one thread — created, its ten instants marked, finished by two parties, the
// last of which observes the six stage histograms and formats its JSON log line (the line is
// formatted, not written: writing is the log sink's business). Then what the instrumentation adds
// to a decode step of B requests: 3 + B messages (run_step, step_done, stats, one outputs per
// request) plus B timeline checks in the scheduler, against the decode step time given with
// --decode-step-ms (15 ms: SmolLM2-135M on this 2-core machine, docs/BENCHMARKS.md).
//
// One round: N sender actors (plain, identical in both variants) each send M messages
// (count, i) to the receiver, which counts them; the main thread asks the receiver to reply once
// all N*M have arrived and times spawn-to-reply. Rounds alternate plain / instrumented; the report
// gives the median of R rounds each, their ratio, and the nanoseconds per message the
// instrumentation adds (difference of the medians' per-message times). Exit status 1 if a round
// lost messages or the instrumented receiver's histograms did not see every message.
//
//   troupe-actor-bench [--senders N] [--messages M] [--repeats R] [--threads T] [--max-throughput K]
//                      [--requests Q] [--decode-step-ms S]
//
// Defaults: 4 senders x 250000 messages, 5 repeats, CAF's default thread count, the scheduler's
// max-throughput 64 that troupe serve uses, 200000 request timelines, a 15 ms decode step.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/all.hpp>
#include <prometheus/registry.h>

#include "actors/instrumented.hpp"
#include "actors/request_report.hpp"
#include "pipeline/request/request_timeline.hpp"
#include "telemetry/actor_metrics.hpp"
#include "telemetry/request_log.hpp"
#include "telemetry/serving_metrics.hpp"

namespace {

using count_atom = caf::atom_constant<caf::atom("count")>;
using wait_atom = caf::atom_constant<caf::atom("waitall")>;

struct Options {
  int senders = 4;
  int messages = 250000;
  int repeats = 5;
  int threads = 0;  // 0: CAF's default (the number of cores)
  int max_throughput = 64;
  int requests = 200000;
  double decode_step_ms = 15.0;
};

struct Tally {
  uint64_t count = 0;
  uint64_t sum = 0;
  std::optional<caf::response_promise> waiting;
};

// The receiver's behaviour, the same code for both self types.
template <class Self>
caf::behavior counter(Self* self, uint64_t expected) {
  auto tally = std::make_shared<Tally>();
  return {
      [tally, expected](count_atom, int32_t i) {
        ++tally->count;
        tally->sum += static_cast<uint64_t>(i);
        if (tally->count == expected && tally->waiting) {
          tally->waiting->deliver(tally->count, tally->sum);
          tally->waiting.reset();
        }
      },
      [self, tally, expected](wait_atom) -> caf::result<uint64_t, uint64_t> {
        if (tally->count == expected) return {tally->count, tally->sum};
        auto rp = self->template make_response_promise<uint64_t, uint64_t>();
        tally->waiting = rp;
        return rp;
      },
  };
}

caf::behavior counter_plain(caf::event_based_actor* self, uint64_t expected) { return counter(self, expected); }
caf::behavior counter_instrumented(troupe::instrumented<caf::event_based_actor>* self, uint64_t expected) {
  return counter(self, expected);
}

void sender(caf::event_based_actor* self, caf::actor receiver, int messages) {
  for (int i = 0; i < messages; ++i) self->send(receiver, count_atom::value, static_cast<int32_t>(i));
  self->quit();
}

struct Round {
  double seconds = 0;
  bool ok = false;
};

Round run_round(caf::actor_system& system, const Options& opt, troupe::ActorMetrics* metrics) {
  const uint64_t expected = static_cast<uint64_t>(opt.senders) * static_cast<uint64_t>(opt.messages);
  const uint64_t expected_sum =
      static_cast<uint64_t>(opt.senders) * static_cast<uint64_t>(opt.messages) * (opt.messages - 1) / 2;
  caf::scoped_actor self{system};
  const auto t0 = std::chrono::steady_clock::now();
  caf::actor receiver = metrics != nullptr
                            ? troupe::spawn_instrumented(system, metrics, "bench.receiver", counter_instrumented, expected)
                            : system.spawn(counter_plain, expected);
  for (int s = 0; s < opt.senders; ++s) system.spawn(sender, receiver, opt.messages);
  Round round;
  self->request(receiver, caf::infinite, wait_atom::value)
      .receive(
          [&](uint64_t count, uint64_t sum) {
            round.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
            round.ok = count == expected && sum == expected_sum;
          },
          [&](caf::error& err) { std::fprintf(stderr, "actor-bench: %s\n", system.render(err).c_str()); });
  self->send_exit(receiver, caf::exit_reason::user_shutdown);
  return round;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// One request's timeline from creation to report, `n` times; nanoseconds per request. The report
// observes the stage histograms and formats the log line into `sink` (kept so it is not elided).
double timeline_ns_per_request(int n, troupe::ServingMetrics& metrics, std::size_t& sink) {
  using troupe::RequestTimeline;
  const troupe::RequestIdentity identity{"cmpl-0123456789abcdef0123456789abcdef", "anonymous", "smollm2", "completions"};
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i) {
    auto timeline = std::make_shared<RequestTimeline>(2);
    timeline->on_complete([&](const RequestTimeline& t) {
      if (const auto stages = t.stage_seconds()) metrics.observe_stages(*stages);
      sink += troupe::request_log_json(troupe::request_log_record(t, identity)).size();
    });
    timeline->facts().request_id = "bench";
    timeline->facts().stream = true;
    for (std::size_t k = 0; k < RequestTimeline::kInstants; ++k) timeline->mark(static_cast<RequestTimeline::Instant>(k));
    timeline->facts().completion_tokens = 16;
    timeline->finish_part();
    timeline->finish_part();
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return seconds * 1e9 / n;
}

// The scheduler's check per scheduled sequence and step: is FirstScheduled marked yet?
double timeline_check_ns(int n) {
  troupe::RequestTimeline timeline;
  timeline.mark(troupe::RequestTimeline::Instant::FirstScheduled);
  int marked = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i) marked += timeline.has(troupe::RequestTimeline::Instant::FirstScheduled) ? 1 : 0;
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return marked == n ? seconds * 1e9 / n : -1;
}

// Messages the instrumented receiver's processing-time histogram has seen.
uint64_t observed(prometheus::Registry& registry) {
  for (const auto& family : registry.Collect()) {
    if (family.name != "caf_actor_processing_time_seconds") continue;
    for (const auto& m : family.metric) {
      for (const auto& label : m.label) {
        if (label.name == "name" && label.value == "bench.receiver") return m.histogram.sample_count;
      }
    }
  }
  return 0;
}

int parse_int(const char* flag, const char* value) {
  char* end = nullptr;
  const long v = std::strtol(value, &end, 10);
  if (end == value || *end != '\0' || v < 1 || v > 100000000) {
    std::fprintf(stderr, "actor-bench: %s needs a positive integer, got '%s'\n", flag, value);
    std::exit(2);
  }
  return static_cast<int>(v);
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "-h" || a == "--help") {
      std::puts("troupe-actor-bench [--senders N] [--messages M] [--repeats R] [--threads T] [--max-throughput K]\n"
                "                   [--requests Q] [--decode-step-ms S]");
      return 0;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "actor-bench: %s needs a value\n", a.c_str());
      return 2;
    }
    const char* v = argv[++i];
    if (a == "--senders") opt.senders = parse_int("--senders", v);
    else if (a == "--messages") opt.messages = parse_int("--messages", v);
    else if (a == "--repeats") opt.repeats = parse_int("--repeats", v);
    else if (a == "--threads") opt.threads = parse_int("--threads", v);
    else if (a == "--max-throughput") opt.max_throughput = parse_int("--max-throughput", v);
    else if (a == "--requests") opt.requests = parse_int("--requests", v);
    else if (a == "--decode-step-ms") opt.decode_step_ms = parse_int("--decode-step-ms", v);
    else {
      std::fprintf(stderr, "actor-bench: unknown option %s\n", a.c_str());
      return 2;
    }
  }

  // The metrics outlive the actor system: ~actor_system waits for the last receivers, which still
  // report (their exit message) to the probe.
  prometheus::Registry registry;
  troupe::ActorMetrics metrics{registry};
  caf::actor_system_config cfg;
  if (opt.threads > 0) cfg.set("scheduler.max-threads", opt.threads);
  cfg.set("scheduler.max-throughput", opt.max_throughput);
  caf::actor_system system{cfg};

  const uint64_t per_round = static_cast<uint64_t>(opt.senders) * static_cast<uint64_t>(opt.messages);
  std::printf("actor-bench: %d senders x %d messages -> 1 receiver, %zu scheduler threads, max-throughput %d, "
              "%d repeats\n",
              opt.senders, opt.messages, system.scheduler().num_workers(), opt.max_throughput, opt.repeats);

  // One small warm-up round of each (allocator, thread start-up, the probe's first use).
  Options warm = opt;
  warm.messages = std::max(1, opt.messages / 10);
  bool ok = run_round(system, warm, nullptr).ok && run_round(system, warm, &metrics).ok;
  const uint64_t warm_seen = observed(registry);

  std::vector<double> plain, instr;
  for (int r = 0; r < opt.repeats; ++r) {
    const Round a = run_round(system, opt, nullptr);
    const Round b = run_round(system, opt, &metrics);
    ok = ok && a.ok && b.ok;
    plain.push_back(per_round / a.seconds);
    instr.push_back(per_round / b.seconds);
    std::printf("round %d: plain %.0f msg/s (%.3f s), instrumented %.0f msg/s (%.3f s)\n", r + 1, plain.back(),
                a.seconds, instr.back(), b.seconds);
  }

  // Every message of the instrumented rounds went through the probe (it also sees the wait
  // request and the exit message, which may still be in flight: at least N*M per round).
  const uint64_t seen = observed(registry) - warm_seen;
  const uint64_t want = static_cast<uint64_t>(opt.repeats) * per_round;
  if (seen < want) {
    std::fprintf(stderr, "actor-bench: the instrumented receiver recorded %llu messages, expected at least %llu\n",
                 static_cast<unsigned long long>(seen), static_cast<unsigned long long>(want));
    ok = false;
  }

  // Every message left the mailbox: the depth is back to zero.
  metrics.publish();
  if (const int64_t depth = metrics.probe("bench.receiver").depth(); depth != 0) {
    std::fprintf(stderr, "actor-bench: the receiver's mailbox depth is %lld after the rounds, expected 0\n",
                 static_cast<long long>(depth));
    ok = false;
  }

  const double p = median(plain), q = median(instr);
  const double per_message = 1e9 / q - 1e9 / p;
  std::printf("median plain:        %.0f msg/s (%.1f ns/msg)\n", p, 1e9 / p);
  std::printf("median instrumented: %.0f msg/s (%.1f ns/msg)\n", q, 1e9 / q);
  std::printf("ratio instrumented/plain: %.3f; added per message: %.1f ns\n", q / p, per_message);

  // Per request and per decode step.
  auto serving_registry = std::make_shared<prometheus::Registry>();
  troupe::ServingMetrics serving(serving_registry, "smollm2", "0", 2048, troupe::request_stage_names());
  std::size_t sink = 0;
  timeline_ns_per_request(std::max(1, opt.requests / 10), serving, sink);  // warm-up
  std::vector<double> per_request;
  for (int r = 0; r < opt.repeats; ++r) per_request.push_back(timeline_ns_per_request(opt.requests, serving, sink));
  const double request_ns = median(per_request);
  const double check_ns = timeline_check_ns(opt.requests * 10);
  std::printf("request timeline (10 marks, 2 parties, 6 histograms, JSON line): %.0f ns per request (median of %d)\n",
              request_ns, opt.repeats);
  std::printf("scheduler's FirstScheduled check: %.1f ns per sequence and step\n", check_ns);
  const double step_ns = opt.decode_step_ms * 1e6;
  for (int batch : {1, 8, 64}) {
    const double added = (3 + batch) * std::max(0.0, per_message) + batch * std::max(0.0, check_ns);
    std::printf("decode step of %2d requests: +%.2f us of instrumentation = %.4f%% of a %.0f ms step (%.2f ns per token)\n",
                batch, added / 1e3, 100.0 * added / step_ns, opt.decode_step_ms, added / batch);
  }
  if (sink == 0) ok = false;
  if (!ok) std::fprintf(stderr, "actor-bench: a round lost messages or the probe missed some\n");
  return ok ? 0 : 1;
}
