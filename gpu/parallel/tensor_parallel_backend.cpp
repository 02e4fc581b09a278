#include "gpu/parallel/tensor_parallel_backend.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <mutex>
#include <thread>

#include "common/error.hpp"

namespace troupe {
namespace {

// TROUPE_TEST_FAIL_RANK=<rank>:<path>
std::optional<std::pair<int, std::string>> fault_from_environment() {
  const char* env = std::getenv("TROUPE_TEST_FAIL_RANK");
  if (env == nullptr || *env == '\0') return std::nullopt;
  const std::string text = env;
  const auto colon = text.find(':');
  if (colon == std::string::npos || colon == 0) throw ConfigError("TROUPE_TEST_FAIL_RANK: expected <rank>:<path>, got " + text);
  return std::make_pair(std::stoi(text.substr(0, colon)), text.substr(colon + 1));
}

// Waits for a fixed number of rank jobs.
class Countdown {
 public:
  explicit Countdown(int n) : left_(n) {}
  void done() {
    std::lock_guard lock(mutex_);
    if (--left_ == 0) all_done_.notify_one();
  }
  void wait() {
    std::unique_lock lock(mutex_);
    all_done_.wait(lock, [this] { return left_ == 0; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable all_done_;
  int left_;
};

}  // namespace

TensorParallelBackend::TensorParallelBackend(const ModelFiles& model, const std::vector<BackendOptions>& rank_options,
                                             const RankFactory& make_rank) {
  if (rank_options.empty()) throw std::invalid_argument("a tensor-parallel group needs at least one rank");
  for (std::size_t r = 0; r < rank_options.size(); ++r) {
    BackendOptions o = rank_options[r];
    if (r > 0 && o.kv_cache_bytes == 0 && o.max_kv_tokens == 0) {
      // A cache sized from free device memory: the later ranks take the first rank's block count,
      // so that the group has one geometry.
      o.max_kv_tokens = ranks_.front()->kv_num_blocks() * ranks_.front()->kv_block_size();
    }
    if (!o.communicator || o.communicator->rank() != static_cast<int>(r) ||
        o.communicator->size() != static_cast<int>(rank_options.size())) {
      throw std::invalid_argument("tensor-parallel rank " + std::to_string(r) + " has no communicator of its rank");
    }
    ranks_.push_back(make_rank(model, o));
    communicators_.push_back(o.communicator);
    if (ranks_.back()->kv_num_blocks() != ranks_.front()->kv_num_blocks() ||
        ranks_.back()->kv_block_size() != ranks_.front()->kv_block_size()) {
      throw std::logic_error("tensor-parallel ranks disagree on the KV cache's geometry");
    }
  }
  scratch_.resize(ranks_.size());
  if (const auto fault = fault_from_environment()) fault_ = Fault{fault->first, fault->second};
}

TensorParallelBackend::~TensorParallelBackend() = default;

void TensorParallelBackend::set_runner(std::shared_ptr<RankRunner> runner) {
  std::lock_guard lock(runner_mutex_);
  runner_ = std::move(runner);
}

int64_t TensorParallelBackend::weight_bytes() const {
  int64_t total = 0;
  for (const auto& r : ranks_) total += r->weight_bytes();
  return total;
}

int64_t TensorParallelBackend::kv_cache_bytes() const {
  int64_t total = 0;
  for (const auto& r : ranks_) total += r->kv_cache_bytes();
  return total;
}

void TensorParallelBackend::forward(const StepBatch& batch, StepLogits& out) {
  // Checked once here, so that a malformed sequence is an InvalidSequence (which the executor
  // isolates) rather than N rank failures.
  validate_step(batch, spec(), kv_block_size(), kv_num_blocks());
  const int n = size();
  std::shared_ptr<RankRunner> runner;
  {
    std::lock_guard lock(runner_mutex_);
    if (!runner_) runner_ = std::make_shared<ThreadRankRunner>(n);
    runner = runner_;
  }
  std::vector<std::string> errors(static_cast<std::size_t>(n));
  std::atomic<int> culprit{-1};  // the first rank to fail on its own; the others' errors follow from its abort
  Countdown countdown(n);
  for (int r = 0; r < n; ++r) {
    runner->post(r, [this, r, &batch, &out, &errors, &culprit, &countdown] {
      const auto i = static_cast<std::size_t>(r);
      // Records the rank's error; the first rank to fail on its own aborts the group, so that no
      // rank waits in a collective for it.
      const auto fail = [&](const std::string& what, bool own) {
        errors[i] = what;
        int none = -1;
        if (own && culprit.compare_exchange_strong(none, r)) communicators_[i]->abort("rank " + std::to_string(r) + " failed: " + what);
      };
      try {
        if (fault_ && fault_->rank == r && std::filesystem::remove(fault_->trigger)) {
          throw std::runtime_error("injected failure (TROUPE_TEST_FAIL_RANK)");
        }
        ranks_[i]->forward(batch, r == 0 ? out : scratch_[i]);
      } catch (const CommunicatorAborted& e) {
        fail(e.what(), false);  // another rank's doing (on CUDA its abort may also end a collective in error)
      } catch (const std::exception& e) {
        fail(e.what(), true);
      } catch (...) {  // never leave the step waiting for a rank
        fail("unknown exception", true);
      }
      countdown.done();
    });
  }
  countdown.wait();

  const auto first_error = std::find_if(errors.begin(), errors.end(), [](const std::string& e) { return !e.empty(); });
  if (first_error == errors.end()) return;
  communicators_.front()->reset();  // the group's state, which every rank's communicator shares
  const int r = culprit.load();
  if (r < 0) throw StepFailure("tensor-parallel group aborted: " + *first_error);
  runner->rank_failed(r);
  throw StepFailure("tensor-parallel rank " + std::to_string(r) + " failed: " + errors[static_cast<std::size_t>(r)]);
}

}  // namespace troupe
