#include "fake_executor.hpp"

#include <algorithm>
#include <numeric>

namespace troupe::test {

namespace {

uint64_t mix(uint64_t x) {
  x ^= x >> 31;
  x *= 0x7fb5d329728ea185ULL;
  x ^= x >> 27;
  x *= 0x81dadef4bc2dd44dULL;
  x ^= x >> 33;
  return x;
}

}  // namespace

int32_t default_token(SeqId id, int64_t position) {
  return 10 + static_cast<int32_t>(mix(id * 1000003ULL + static_cast<uint64_t>(position)) % 1000);
}

FakeExecutor::FakeExecutor(int64_t num_blocks, int64_t block_size, TokenFn token)
    : num_blocks_(num_blocks), block_size_(block_size), token_(std::move(token)),
      slots_(static_cast<std::size_t>(num_blocks * block_size), 0) {}

uint64_t FakeExecutor::prefix_hash(Seq& s, int64_t p) {
  while (static_cast<int64_t>(s.prefix.size()) <= p) {
    const std::size_t i = s.prefix.size();
    const uint64_t before = i == 0 ? 0x1234 : s.prefix[i - 1];
    s.prefix.push_back(mix(before ^ (static_cast<uint64_t>(static_cast<uint32_t>(s.tokens[i])) + 0x9e3779b97f4a7c15ULL)) | 1);
  }
  return s.prefix[static_cast<std::size_t>(p)];
}

std::vector<SampledToken> FakeExecutor::run(const ScheduledStep& step) {
  const std::string at = "step " + std::to_string(step.step_id) + ": ";
  for (const SeqId id : step.released)
    if (seqs_.erase(id) == 0) fail(at + "released unknown sequence " + std::to_string(id));
  if (step.batch.sequences.size() != step.sequences.size()) fail(at + "batch and sequences differ in length");
  std::vector<SampledToken> out;
  for (std::size_t i = 0; i < step.sequences.size() && i < step.batch.sequences.size(); ++i) {
    const ScheduledSequence& sc = step.sequences[i];
    const SequenceStep& ss = step.batch.sequences[i];
    const std::string who = at + "sequence " + std::to_string(sc.id) + ": ";
    if (sc.first_time) {
      if (seqs_.count(sc.id) != 0) fail(who + "first_time for a sequence the executor already holds");
      if (!sc.prompt) { fail(who + "first_time without a prompt"); continue; }
      Seq s;
      s.tokens = *sc.prompt;
      s.tokens.insert(s.tokens.end(), sc.output_so_far.begin(), sc.output_so_far.end());
      seqs_[sc.id] = std::move(s);
    } else if (seqs_.count(sc.id) == 0) {
      fail(who + "not first_time but unknown to the executor");
      continue;
    }
    if (sc.sampling == nullptr) fail(who + "no sampling parameters");
    Seq& s = seqs_[sc.id];
    if (ss.tokens.empty()) { fail(who + "no tokens"); continue; }
    const auto n = static_cast<int64_t>(ss.tokens.size());
    const int64_t end = ss.num_cached + n;
    if (static_cast<int64_t>(ss.block_table.size()) * block_size_ < end) { fail(who + "block table too short"); continue; }
    for (const int32_t b : ss.block_table)
      if (b < 0 || b >= num_blocks_) fail(who + "block id out of range");
    // Read: the cached prefix must be exactly this sequence's content.
    if (ss.num_cached > static_cast<int64_t>(s.tokens.size())) { fail(who + "cached past its known tokens"); continue; }
    for (int64_t p = 0; p < ss.num_cached; ++p) {
      const uint64_t want = prefix_hash(s, p);
      const auto slot = static_cast<std::size_t>(ss.block_table[static_cast<std::size_t>(p / block_size_)] * block_size_ + p % block_size_);
      if (slots_[slot] != want) {
        fail(who + "KV at position " + std::to_string(p) + " is not this sequence's");
        break;
      }
    }
    if (sc.num_draft > 0) {
      run_speculative(sc, ss, s, who, out);
      continue;
    }
    // Write the new tokens.
    for (int64_t j = 0; j < n; ++j) {
      const int64_t p = ss.num_cached + j;
      int32_t t = ss.tokens[static_cast<std::size_t>(j)];
      if (t == kPendingToken) {
        if (n != 1 || !s.sampled_before) fail(who + "kPendingToken outside a decode after a sample");
        t = s.last_sampled;
      }
      if (p < static_cast<int64_t>(s.tokens.size())) {
        if (s.tokens[static_cast<std::size_t>(p)] != t) fail(who + "token at position " + std::to_string(p) + " changed");
      } else if (p == static_cast<int64_t>(s.tokens.size())) {
        s.tokens.push_back(t);
      } else {
        fail(who + "gap before position " + std::to_string(p));
        break;
      }
      const auto slot = static_cast<std::size_t>(ss.block_table[static_cast<std::size_t>(p / block_size_)] * block_size_ + p % block_size_);
      slots_[slot] = prefix_hash(s, p);
    }
    if (sc.sample) {
      if (end != static_cast<int64_t>(s.tokens.size())) fail(who + "sampled before the end of its known tokens");
      const int32_t t = token_(sc.id, end);
      s.tokens.push_back(t);
      s.sampled_before = true;
      s.last_sampled = t;
      out.push_back({sc.id, t});
    }
  }
  return out;
}

void FakeExecutor::write_slot(const SequenceStep& ss, int64_t p, uint64_t value) {
  const auto slot = static_cast<std::size_t>(ss.block_table[static_cast<std::size_t>(p / block_size_)] * block_size_ + p % block_size_);
  slots_[slot] = value;
}

// A speculative decode: the input at position p = num_cached, guesses d_1..d_K after it. The true
// token after position p + i - 1 is token_(id, p + i); guesses are kept while they equal it, as the
// real executor keeps them while its samples equal them. Rejected guesses' slots get garbage, so a
// scheduler that counted them as computed would be caught reading them.
void FakeExecutor::run_speculative(const ScheduledSequence& sc, const SequenceStep& ss, Seq& s, const std::string& who,
                                   std::vector<SampledToken>& out) {
  if (!sc.sample || !sc.decode) fail(who + "speculative entry that is not a sampled decode");
  const auto k = static_cast<int64_t>(ss.tokens.size()) - 1;
  if (k != sc.num_draft) fail(who + "num_draft differs from the guesses in the entry");
  const int64_t p = ss.num_cached;
  const int32_t input = ss.tokens[0];
  if (input == kPendingToken) fail(who + "speculative entry with a pending input");
  if (p != static_cast<int64_t>(s.tokens.size()) - 1 || s.tokens.back() != input) {
    fail(who + "speculative input is not the sequence's last token");
    return;
  }
  write_slot(ss, p, prefix_hash(s, p));
  for (int64_t i = 1; i <= k + 1; ++i) {
    const int32_t truth = token_(sc.id, p + i);
    s.tokens.push_back(truth);
    s.sampled_before = true;
    s.last_sampled = truth;
    out.push_back({sc.id, truth});
    ++speculated_tokens_;
    if (i == k + 1) break;
    if (ss.tokens[static_cast<std::size_t>(i)] != truth) {
      for (int64_t j = i; j <= k; ++j) write_slot(ss, p + j, 0xdeadbeefULL);
      break;
    }
    write_slot(ss, p + i, prefix_hash(s, p + i));
  }
}

DriveResult drive(Scheduler& scheduler, FakeExecutor& executor, int max_in_flight,
                  const std::function<void(const ScheduledStep&)>& on_step) {
  DriveResult r;
  std::deque<std::pair<uint64_t, std::vector<SampledToken>>> in_flight;
  for (int guard = 0; guard < 200000; ++guard) {
    while (static_cast<int>(in_flight.size()) < max_in_flight) {
      auto step = scheduler.schedule();
      if (!step) break;
      ++r.steps;
      if (on_step) on_step(*step);
      in_flight.emplace_back(step->step_id, executor.run(*step));
      r.max_used_blocks = std::max(r.max_used_blocks, scheduler.stats().kv_used_blocks);
    }
    if (in_flight.empty()) {
      if (scheduler.has_unscheduled_work()) r.errors.push_back("work left but nothing scheduled");
      return r;
    }
    const auto [step_id, sampled] = std::move(in_flight.front());
    in_flight.pop_front();
    for (const SequenceUpdate& u : scheduler.complete(step_id, sampled)) {
      if (r.finished.count(u.id) != 0) r.errors.push_back("update after finish for " + std::to_string(u.id));
      if (u.preempted) ++r.preempted_updates;
      auto& out = r.outputs[u.id];
      if (u.first_token != (out.empty() && !u.new_tokens.empty())) r.errors.push_back("first_token flag wrong for " + std::to_string(u.id));
      if (u.first_token) r.cached_prompt_tokens[u.id] = u.num_cached_prompt_tokens;
      out.insert(out.end(), u.new_tokens.begin(), u.new_tokens.end());
      if (u.finished) {
        r.finished[u.id] = *u.finished;
        r.stop_token[u.id] = u.stop_token;
      }
    }
  }
  r.errors.push_back("did not finish");
  return r;
}

std::vector<int32_t> expected_output(const SequenceRequest& request, const TokenFn& token, int64_t max_len) {
  std::vector<int32_t> out;
  const auto prompt_len = static_cast<int64_t>(request.prompt->size());
  while (true) {
    const int32_t t = token(request.id, prompt_len + static_cast<int64_t>(out.size()));
    out.push_back(t);
    const auto n = static_cast<int64_t>(out.size());
    const auto in = [&](const std::vector<int32_t>& v) { return std::find(v.begin(), v.end(), t) != v.end(); };
    if (n >= request.min_tokens && (in(request.eos_token_ids) || in(request.stop_token_ids))) return out;
    if (n >= request.max_new_tokens || prompt_len + n >= max_len) return out;
  }
}

std::vector<int32_t> consecutive_tokens(int n, int32_t first) {
  std::vector<int32_t> v(static_cast<std::size_t>(n));
  std::iota(v.begin(), v.end(), first);
  return v;
}

SequenceRequest make_request(SeqId id, std::vector<int32_t> prompt, int64_t max_new_tokens) {
  SequenceRequest r;
  r.id = id;
  r.prompt = std::make_shared<const std::vector<int32_t>>(std::move(prompt));
  r.max_new_tokens = max_new_tokens;
  return r;
}

}  // namespace troupe::test
