#pragma once
// The CPU ranks' collectives: the ranks are threads of this process, so a collective is a shared
// table of the ranks' buffer addresses and two barriers. An all-reduce splits the vector into one
// slice per rank; each rank adds its slice over every rank's buffer (in rank order, so every rank
// ends with bitwise the same sums) and writes the sum back into every buffer. Nothing is copied
// through a staging area; a decode step of a 2 x 1-thread group spends a few microseconds per
// collective.
//
// Waiting spins briefly (a layer's work on the other rank is usually microseconds away) and then
// sleeps on the generation counter (std::atomic::wait, a futex), so ranks that share cores do not
// burn each other's time.
#include <memory>
#include <vector>

#include "gpu/communicator.hpp"

namespace troupe::cpu {

// One Communicator per rank of a new group of `size` ranks.
std::vector<std::shared_ptr<Communicator>> make_shm_communicators(int size);

}  // namespace troupe::cpu
