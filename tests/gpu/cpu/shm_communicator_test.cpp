// The CPU ranks' collectives on threads, against sums computed here.
#include <catch2/catch.hpp>

#include <atomic>
#include <random>
#include <thread>

#include "gpu/cpu/shm_communicator.hpp"

using namespace troupe;

namespace {

// Runs fn(rank) on one thread per rank of a new group.
template <typename Fn>
void on_ranks(const std::vector<std::shared_ptr<Communicator>>& group, Fn fn) {
  std::vector<std::thread> threads;
  for (std::size_t r = 0; r < group.size(); ++r) threads.emplace_back([&, r] { fn(*group[r]); });
  for (auto& t : threads) t.join();
}

std::vector<float> random_vector(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  std::vector<float> v(n);
  for (float& x : v) x = normal(rng);
  return v;
}

}  // namespace

TEST_CASE("shm all-reduce gives every rank the same sums, in rank order", "[gpu][cpu][parallel]") {
  for (const int size : {1, 2, 3, 4}) {
    for (const int64_t count : {int64_t{1}, int64_t{15}, int64_t{576}, int64_t{100003}}) {
      INFO(size << " ranks, " << count << " floats");
      const auto group = cpu::make_shm_communicators(size);
      std::vector<std::vector<float>> data;
      for (int r = 0; r < size; ++r) data.push_back(random_vector(static_cast<std::size_t>(count), 11u * r + 3));
      std::vector<float> want = data[0];
      for (int r = 1; r < size; ++r) {
        for (int64_t i = 0; i < count; ++i) want[i] += data[r][i];
      }
      // Three rounds in a row, the second on the results of the first.
      on_ranks(group, [&](Communicator& c) {
        for (int round = 0; round < 3; ++round) c.all_reduce_sum(data[c.rank()].data(), count);
      });
      for (int round = 1; round < 3; ++round) {
        for (float& w : want) w *= static_cast<float>(size);
      }
      for (int r = 0; r < size; ++r) {
        CHECK(data[r] == data[0]);  // bitwise the same on every rank
        for (int64_t i = 0; i < count; ++i) REQUIRE(data[r][i] == Approx(want[i]).epsilon(1e-5).margin(1e-4));
      }
    }
  }
}

TEST_CASE("shm gather puts each rank's columns at its offset in rank 0's rows", "[gpu][cpu][parallel]") {
  const int size = 3;
  const int64_t rows = 4, widths[size] = {5, 7, 2}, offsets[size] = {0, 5, 12}, total = 14;
  const auto group = cpu::make_shm_communicators(size);
  std::vector<float> out(static_cast<std::size_t>(rows * total), -1.0f);
  on_ranks(group, [&](Communicator& c) {
    const int r = c.rank();
    std::vector<float> local(static_cast<std::size_t>(rows * widths[r]));
    for (int64_t i = 0; i < rows; ++i) {
      for (int64_t j = 0; j < widths[r]; ++j) local[i * widths[r] + j] = static_cast<float>(100 * i + offsets[r] + j);
    }
    const std::vector<IndexRange> columns{{0, 5}, {5, 12}, {12, 14}};
    c.gather_columns(local.data(), rows, columns, r == 0 ? out.data() : nullptr, total);
  });
  for (int64_t i = 0; i < rows; ++i) {
    for (int64_t j = 0; j < total; ++j) REQUIRE(out[i * total + j] == static_cast<float>(100 * i + j));
  }
}

TEST_CASE("an aborted group wakes the ranks waiting in a collective, and works again after reset", "[gpu][cpu][parallel]") {
  const auto group = cpu::make_shm_communicators(3);
  std::atomic<int> aborted{0};
  on_ranks(group, [&](Communicator& c) {
    std::vector<float> v(64, 1.0f);
    if (c.rank() == 1) {  // fails before its collective: the others must not wait for it
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      c.abort("rank 1 failed: test");
    }
    try {
      c.all_reduce_sum(v.data(), 64);
    } catch (const CommunicatorAborted& e) {
      CHECK(std::string(e.what()) == "rank 1 failed: test");
      ++aborted;
    }
  });
  CHECK(aborted == 3);
  group[0]->reset();
  std::vector<std::vector<float>> data(3, std::vector<float>(64, 1.0f));
  on_ranks(group, [&](Communicator& c) { c.all_reduce_sum(data[c.rank()].data(), 64); });
  for (const auto& d : data) CHECK(d == std::vector<float>(64, 3.0f));
}
