#pragma once
// The identity of one sequence (one choice of one request) inside the scheduler and the KV block
// manager. Assigned by the caller; unique for the life of a scheduler.
#include <cstdint>

namespace troupe {

using SeqId = uint64_t;

}  // namespace troupe
