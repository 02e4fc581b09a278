#pragma once
// The device's measured memory bandwidth: the ceiling a memory-bound decode step is compared to.
#include <cstdint>

namespace troupe::cuda {

// Copies a `bytes` buffer device-to-device `repeats` times on `device` (after one warm-up copy),
// timed with CUDA events, and returns the median rate in bytes per second counting bytes read
// plus bytes written (2 x bytes per copy).
double device_copy_bandwidth(int device, int64_t bytes, int repeats);

}  // namespace troupe::cuda
