#include "engine/isolated_forward.hpp"

#include <algorithm>
#include <exception>
#include <numeric>

namespace troupe {

namespace {

using LogitsFn = std::function<void(std::span<const std::size_t>, StepLogits&)>;

class Isolator {
 public:
  Isolator(Backend& backend, const StepBatch& batch, StepLogits& logits, const LogitsFn& on_logits)
      : backend_(backend), batch_(batch), logits_(logits), on_logits_(on_logits) {}

  void run(std::vector<std::size_t> indices) {
    // Drop-and-retry for sequences the backend names; split for anything else.
    while (!indices.empty()) {
      try {
        forward(indices);
      } catch (const InvalidSequence& e) {
        if (e.batch_index() >= indices.size()) return split(std::move(indices), e.what());
        faults_.push_back({indices[e.batch_index()], e.reason()});
        indices.erase(indices.begin() + static_cast<std::ptrdiff_t>(e.batch_index()));
        continue;
      } catch (const StepFailure&) {
        throw;  // not a sequence's fault: the whole step fails
      } catch (const std::exception& e) {
        return split(std::move(indices), e.what());
      }
      on_logits_(indices, logits_);
      return;
    }
  }

  std::vector<SequenceFault> faults() {
    std::sort(faults_.begin(), faults_.end(), [](const auto& a, const auto& b) { return a.index < b.index; });
    return std::move(faults_);
  }

 private:
  void split(std::vector<std::size_t> indices, const std::string& what) {
    if (indices.size() == 1) {
      faults_.push_back({indices.front(), what});
      return;
    }
    const auto middle = indices.begin() + static_cast<std::ptrdiff_t>(indices.size() / 2);
    run(std::vector<std::size_t>(indices.begin(), middle));
    run(std::vector<std::size_t>(middle, indices.end()));
  }

  void forward(const std::vector<std::size_t>& indices) {
    if (indices.size() == batch_.sequences.size()) {
      backend_.forward(batch_, logits_);  // the whole batch, as given: no copy on the normal path
      return;
    }
    sub_.sequences.clear();
    for (std::size_t i : indices) sub_.sequences.push_back(batch_.sequences[i]);
    backend_.forward(sub_, logits_);
  }

  Backend& backend_;
  const StepBatch& batch_;
  StepLogits& logits_;
  const LogitsFn& on_logits_;
  StepBatch sub_;
  std::vector<SequenceFault> faults_;
};

}  // namespace

std::vector<SequenceFault> forward_isolating(Backend& backend, const StepBatch& batch, StepLogits& logits,
                                             const LogitsFn& on_logits) {
  Isolator isolator(backend, batch, logits, on_logits);
  std::vector<std::size_t> all(batch.sequences.size());
  std::iota(all.begin(), all.end(), std::size_t{0});
  if (!all.empty()) isolator.run(std::move(all));
  return isolator.faults();
}

}  // namespace troupe
