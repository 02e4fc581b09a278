#pragma once
// A stand-in for the executor in scheduler tests. It keeps a shadow paged KV cache whose slot for
// position p holds a hash of the sequence's tokens [0, p], so every step verifies that the blocks
// the scheduler hands out really contain the prefix the sequence claims to have cached. Sampled
// tokens depend only on (sequence id, position), so any schedule must produce the same outputs.
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "pipeline/scheduler/scheduler.hpp"

namespace troupe::test {

using TokenFn = std::function<int32_t(SeqId, int64_t position)>;

// Tokens in [10, 1010) from a hash of (seq, position).
int32_t default_token(SeqId id, int64_t position);

class FakeExecutor {
 public:
  FakeExecutor(int64_t num_blocks, int64_t block_size, TokenFn token = default_token);

  // Runs a step at once (steps are run in the order they are scheduled, as the real executor does).
  std::vector<SampledToken> run(const ScheduledStep& step);

  const std::vector<std::string>& errors() const { return errors_; }
  std::size_t num_known() const { return seqs_.size(); }
  int64_t speculated_tokens() const { return speculated_tokens_; }  // tokens returned by speculative entries

 private:
  struct Seq {
    std::vector<int32_t> tokens;    // prompt, then every token it has seen or sampled
    std::vector<uint64_t> prefix;   // prefix[p] = hash of tokens[0..p]
    bool sampled_before = false;
    int32_t last_sampled = 0;
  };
  uint64_t prefix_hash(Seq& s, int64_t p);
  void fail(const std::string& what) { errors_.push_back(what); }
  void write_slot(const SequenceStep& ss, int64_t p, uint64_t value);
  void run_speculative(const ScheduledSequence& sc, const SequenceStep& ss, Seq& s, const std::string& who,
                       std::vector<SampledToken>& out);

  int64_t num_blocks_, block_size_;
  TokenFn token_;
  std::vector<uint64_t> slots_;  // num_blocks × block_size, 0 = never written
  std::unordered_map<SeqId, Seq> seqs_;
  std::vector<std::string> errors_;
  int64_t speculated_tokens_ = 0;
};

// Everything observed while driving a scheduler to completion.
struct DriveResult {
  std::map<SeqId, std::vector<int32_t>> outputs;
  std::map<SeqId, FinishReason> finished;
  std::map<SeqId, std::optional<int32_t>> stop_token;
  std::map<SeqId, int64_t> cached_prompt_tokens;  // from the first-token update
  int64_t preempted_updates = 0;
  int64_t steps = 0;
  int64_t max_used_blocks = 0;
  std::vector<std::string> errors;  // scheduler-side protocol violations seen by the driver
};

// Schedules (keeping up to `max_in_flight` steps outstanding), runs and completes steps until the
// scheduler has no work. `on_step` sees each step before it runs.
DriveResult drive(Scheduler& scheduler, FakeExecutor& executor, int max_in_flight,
                  const std::function<void(const ScheduledStep&)>& on_step = {});

// What a sequence must produce under the token function, whatever the schedule.
std::vector<int32_t> expected_output(const SequenceRequest& request, const TokenFn& token, int64_t max_len);

SequenceRequest make_request(SeqId id, std::vector<int32_t> prompt, int64_t max_new_tokens);

// The prompt first, first + 1, ..., first + n - 1.
std::vector<int32_t> consecutive_tokens(int n, int32_t first);

}  // namespace troupe::test
