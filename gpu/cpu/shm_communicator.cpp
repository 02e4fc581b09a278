#include "gpu/cpu/shm_communicator.hpp"

#include <algorithm>
#include <atomic>
#include <mutex>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace troupe::cpu {
namespace {

void cpu_relax() {
#if defined(__x86_64__)
  _mm_pause();
#endif
}

// What a group's ranks share. Each rank publishes its buffer in its slot, then meets the others at
// a barrier; after the second barrier of a collective no rank reads another's buffer any more.
class Group {
 public:
  explicit Group(int size) : size_(size), slots_(std::make_unique<Slot[]>(static_cast<std::size_t>(size))) {}

  int size() const { return size_; }

  void all_reduce_sum(int rank, float* data, int64_t count) {
    slots_[rank].data = data;
    barrier();
    // Slices of whole cache lines, so that two ranks never write one line.
    const int64_t per_rank = (count + size_ - 1) / size_;
    const int64_t slice = (per_rank + 15) / 16 * 16;
    const int64_t begin = std::min(count, slice * rank), end = std::min(count, begin + slice);
    if (end > begin) {
      thread_local std::vector<float> sum;
      sum.assign(slots_[0].data + begin, slots_[0].data + end);
      float* acc = sum.data();
      for (int r = 1; r < size_; ++r) {
        const float* src = slots_[r].data + begin;
        for (int64_t i = 0; i < end - begin; ++i) acc[i] += src[i];
      }
      for (int r = 0; r < size_; ++r) std::copy(sum.begin(), sum.end(), slots_[r].data + begin);
    }
    barrier();
  }

  void gather_columns(int rank, const float* local, int64_t rows, const std::vector<IndexRange>& columns, float* out,
                      int64_t out_cols) {
    if (static_cast<int>(columns.size()) != size_) throw std::invalid_argument("gather_columns: one column range per rank");
    slots_[rank].source = local;
    barrier();
    if (rank == 0) {
      for (int r = 0; r < size_; ++r) {
        const IndexRange c = columns[static_cast<std::size_t>(r)];
        for (int64_t i = 0; i < rows; ++i) std::copy_n(slots_[r].source + i * c.size(), c.size(), out + i * out_cols + c.begin);
      }
    }
    barrier();
  }

  void abort(const std::string& why) {
    {
      std::lock_guard lock(why_mutex_);
      if (why_.empty()) why_ = why;
    }
    aborted_.store(true, std::memory_order_release);
    generation_.fetch_add(1, std::memory_order_acq_rel);
    generation_.notify_all();
  }

  void reset() {
    arrived_.store(0, std::memory_order_relaxed);
    std::lock_guard lock(why_mutex_);
    why_.clear();
    aborted_.store(false, std::memory_order_release);
  }

 private:
  struct alignas(64) Slot {
    float* data = nullptr;          // all_reduce_sum's buffer
    const float* source = nullptr;  // gather_columns' local part
  };

  // About 20-50 us of pause instructions before sleeping on the futex.
  static constexpr int kSpins = 2000;

  void throw_if_aborted() {
    if (!aborted_.load(std::memory_order_acquire)) return;
    std::lock_guard lock(why_mutex_);
    throw CommunicatorAborted(why_);
  }

  void barrier() {
    throw_if_aborted();
    const uint32_t seen = generation_.load(std::memory_order_acquire);
    if (arrived_.fetch_add(1, std::memory_order_acq_rel) + 1 == size_) {
      arrived_.store(0, std::memory_order_relaxed);
      generation_.fetch_add(1, std::memory_order_acq_rel);
      generation_.notify_all();
    } else {
      for (int i = 0; i < kSpins && generation_.load(std::memory_order_acquire) == seen; ++i) cpu_relax();
      while (generation_.load(std::memory_order_acquire) == seen) generation_.wait(seen, std::memory_order_acquire);
    }
    throw_if_aborted();
  }

  const int size_;
  std::unique_ptr<Slot[]> slots_;
  alignas(64) std::atomic<int> arrived_{0};
  alignas(64) std::atomic<uint32_t> generation_{0};
  std::atomic<bool> aborted_{false};
  std::mutex why_mutex_;
  std::string why_;
};

class ShmCommunicator final : public Communicator {
 public:
  ShmCommunicator(std::shared_ptr<Group> group, int rank) : group_(std::move(group)), rank_(rank) {}
  int rank() const override { return rank_; }
  int size() const override { return group_->size(); }
  void all_reduce_sum(float* data, int64_t count) override {
    if (group_->size() > 1) group_->all_reduce_sum(rank_, data, count);
  }
  void gather_columns(const float* local, int64_t rows, const std::vector<IndexRange>& columns, float* out,
                      int64_t out_cols) override {
    group_->gather_columns(rank_, local, rows, columns, out, out_cols);
  }
  void abort(const std::string& why) override { group_->abort(why); }
  void reset() override { group_->reset(); }

 private:
  std::shared_ptr<Group> group_;
  int rank_;
};

}  // namespace

std::vector<std::shared_ptr<Communicator>> make_shm_communicators(int size) {
  if (size < 1) throw std::invalid_argument("a communicator group needs at least one rank");
  auto group = std::make_shared<Group>(size);
  std::vector<std::shared_ptr<Communicator>> out;
  for (int r = 0; r < size; ++r) out.push_back(std::make_shared<ShmCommunicator>(group, r));
  return out;
}

}  // namespace troupe::cpu
