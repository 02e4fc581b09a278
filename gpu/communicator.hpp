#pragma once
// The collectives a tensor-parallel group needs (gpu/parallel/): one object per rank, used by that
// rank's backend only. Every rank of a group calls the same collectives in the same order with the
// same counts; a call returns once every rank has made it.
//
// Pointers are where the rank's backend computes: host memory for the CPU (shm_communicator.hpp),
// device memory for CUDA (cuda/nccl_communicator.hpp).
//
// Failure: a rank that fails between collectives calls abort(), which makes every rank blocked in
// (or later entering) a collective throw CommunicatorAborted, so no rank waits forever for one that
// will not come. Once every rank has left its step, reset() makes the group usable again.
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "model/tensor_split.hpp"

namespace troupe {

class CommunicatorAborted : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // data[0, count) ← the element-wise sum over ranks of every rank's data[0, count). Every rank
  // receives the same values (the same order of additions on every rank).
  virtual void all_reduce_sum(float* data, int64_t count) = 0;
  // Rank 0's out[rows, out_cols] ← each rank r's local[rows, columns[r].size()] at its columns
  // columns[r] (the ranges tile out_cols; every rank passes the same list). `out` is used on rank 0
  // only. Called outside CUDA graph capture (the NCCL form stages through memory it allocates).
  virtual void gather_columns(const float* local, int64_t rows, const std::vector<IndexRange>& columns, float* out,
                              int64_t out_cols) = 0;
  // Wakes the ranks waiting in a collective with CommunicatorAborted(why); until reset(), every
  // collective throws at once.
  virtual void abort(const std::string& why) = 0;
  // Called by one owner while no rank is inside a collective.
  virtual void reset() = 0;
  // CUDA: the stream (a cudaStream_t) this rank's collectives are enqueued on; they then complete
  // in that stream's order rather than before the call returns. Host communicators ignore it.
  virtual void bind_stream(void* /*stream*/) {}
};

}  // namespace troupe
