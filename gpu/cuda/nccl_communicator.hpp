#pragma once
// The CUDA ranks' collectives: NCCL, one communicator per device of this process
// (ncclCommInitAll), each rank on its own thread. Collectives are enqueued on the stream the rank's
// backend binds (Communicator::bind_stream) and complete in that stream's order, so they can be
// captured into the backend's CUDA graphs; gather_columns (rank 0's logits) runs outside capture.
//
// NCCL is loaded when a group is made (dlopen of libnccl.so.2, or the file TROUPE_NCCL_LIBRARY
// names), not linked: the library is 200+ MiB, and a server that never splits a model across GPUs
// should neither need it nor carry it. PyTorch's wheels ship it (nvidia-nccl-cu13); the CUDA
// toolkit here does too.
//
// abort() aborts every communicator of the group (ncclCommAbort), which ends the collectives other
// ranks are blocked in; reset() makes a new set.
#include <memory>
#include <string>
#include <vector>

#include "gpu/communicator.hpp"

namespace troupe::cuda {

// One Communicator per device in `devices` (rank r on devices[r]). Throws ConfigError when NCCL
// cannot be loaded, std::runtime_error when it fails to set the group up.
std::vector<std::shared_ptr<Communicator>> make_nccl_communicators(const std::vector<int>& devices);

// The NCCL version loaded ("2.28.9"), loading it if needed; throws ConfigError without NCCL.
std::string nccl_version();

}  // namespace troupe::cuda
