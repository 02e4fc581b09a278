#pragma once
// A tensor-parallel group behind the one Backend interface: the scheduler and the StepExecutor see
// one backend; forward() hands the step to every rank (each a backend holding its shard of the
// weights and of the KV cache, model/tensor_split.hpp), waits for all, and returns rank 0's
// logits, which the ranks' collectives have gathered over the vocabulary.
//
// A rank that fails aborts the group's communicator (so the others do not wait for it in a
// collective); the step then fails with the rank named, the communicator is reset, and the next
// step runs on the same ranks, as an executor that failed a step carries on.
//
// Test hook: TROUPE_TEST_FAIL_RANK=<rank>:<path> makes that rank fail the first step that starts
// while the file <path> exists, removing it (one failure per file).
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "gpu/backend.hpp"
#include "gpu/parallel/rank_runner.hpp"

namespace troupe {

class TensorParallelBackend final : public Backend {
 public:
  // One rank's backend, made from the options of that rank (its communicator, threads, cores).
  using RankFactory = std::function<std::unique_ptr<Backend>(const ModelFiles&, const BackendOptions&)>;

  // `rank_options[r]` carries rank r's communicator; the ranks are made in order.
  TensorParallelBackend(const ModelFiles& model, const std::vector<BackendOptions>& rank_options,
                        const RankFactory& make_rank);
  ~TensorParallelBackend() override;

  int size() const { return static_cast<int>(ranks_.size()); }
  const Backend& rank(int r) const { return *ranks_.at(static_cast<std::size_t>(r)); }
  // Where ranks run; null (and the default): a ThreadRankRunner made at the next step. A step in
  // progress finishes on the runner it started with, which is released after it.
  void set_runner(std::shared_ptr<RankRunner> runner);

  std::string_view name() const override { return ranks_.front()->name(); }
  std::string device_label() const override { return ranks_.front()->device_label(); }
  int device_index() const override { return ranks_.front()->device_index(); }
  const ModelSpec& spec() const override { return ranks_.front()->spec(); }
  int64_t kv_block_size() const override { return ranks_.front()->kv_block_size(); }
  int64_t kv_num_blocks() const override { return ranks_.front()->kv_num_blocks(); }
  int64_t weight_bytes() const override;  // every rank's
  int64_t kv_cache_bytes() const override;
  DeviceMemory device_memory() const override { return ranks_.front()->device_memory(); }
  void forward(const StepBatch& batch, StepLogits& out) override;

 private:
  struct Fault {
    int rank = -1;
    std::string trigger;
  };

  std::vector<std::unique_ptr<Backend>> ranks_;
  std::vector<std::shared_ptr<Communicator>> communicators_;
  std::mutex runner_mutex_;
  std::shared_ptr<RankRunner> runner_;
  std::vector<StepLogits> scratch_;  // ranks other than 0: logits they produce but nobody reads
  std::optional<Fault> fault_;
};

}  // namespace troupe
