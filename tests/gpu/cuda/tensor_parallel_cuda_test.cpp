// Tensor parallelism on CUDA devices: a one-rank NCCL group's all-reduce and gather on device
// memory, and the tiny fixtures on groups of every size the machine's devices allow, against the
// whole model on one device. With one GPU only the group of one runs; more ranks need more devices.
#if TROUPE_WITH_CUDA
#include <cuda_runtime.h>

#include <numeric>

#include "common/error.hpp"
#include "gpu/backend_factory.hpp"
#include "gpu/cuda/cuda_backend.hpp"
#include "gpu/cuda/device_buffer.hpp"
#include "gpu/cuda/nccl_communicator.hpp"
#include "gpu/device_probe.hpp"
#include "tests/gpu/cuda/cuda_test_support.hpp"
#include "tests/support/fixtures.hpp"
#include "tests/support/greedy.hpp"

using namespace troupe;
using namespace troupe::test;

namespace {

// NCCL is loaded at run time: without it these tests skip, unless TROUPE_EXPECT_NCCL=1 (the GPU
// check sets it once it found the library) makes a missing one a failure.
bool nccl_available() {
  try {
    WARN("NCCL " << cuda::nccl_version());
    return true;
  } catch (const ConfigError& e) {
    const char* expect = std::getenv("TROUPE_EXPECT_NCCL");
    if (expect != nullptr && std::string(expect) == "1") FAIL("TROUPE_EXPECT_NCCL is set: " << e.what());
    WARN("SKIPPED: no CUDA device (no NCCL: " << e.what() << ")");
    return false;
  }
}

}  // namespace

TEST_CASE("cuda: a one-rank NCCL group all-reduces and gathers device memory on its stream", "[gpu][cuda][parallel]") {
  TROUPE_REQUIRE_CUDA_DEVICE();
  if (!nccl_available()) return;
  const auto group = cuda::make_nccl_communicators({0});
  REQUIRE(group.size() == 1);
  cudaStream_t stream = nullptr;
  REQUIRE(cudaStreamCreate(&stream) == cudaSuccess);
  group[0]->bind_stream(stream);
  const auto values = random_floats(1000, 5);
  auto data = to_device(values);
  group[0]->all_reduce_sum(data.as<float>(), 1000);  // one rank: the sum is the values themselves
  std::vector<float> local(3 * 7);
  std::iota(local.begin(), local.end(), 0.0f);
  auto local_dev = to_device(local);
  auto gathered = poisoned<float>(3 * 7);
  group[0]->gather_columns(local_dev.as<float>(), 3, {IndexRange{0, 7}}, gathered.as<float>(), 7);
  REQUIRE(cudaStreamSynchronize(stream) == cudaSuccess);
  CHECK(from_device<float>(data) == values);
  CHECK(from_device<float>(gathered) == local);
  cudaStreamDestroy(stream);
}

TEST_CASE("cuda: groups of 1..devices ranks give the whole model's logits", "[gpu][cuda][parallel]") {
  TROUPE_REQUIRE_CUDA_DEVICE();
  if (!nccl_available()) return;
  const int devices = probe_cuda_devices().device_count;
  for (const std::string folder : {"llama", "qwen2", "qwen3"}) {
    const ModelFiles model = ModelFiles::open(fixture("models/" + folder));
    BackendOptions o;
    o.device = "cuda:0";
    o.max_kv_tokens = 512;
    CudaBackend whole(model, o);
    const auto seqs = reference_sequences(folder, "batch");
    const StepLogits want = all_logits(whole, seqs);
    for (int size = 1; size <= std::min(devices, 4); ++size) {
      INFO(folder << " on " << size << " ranks");
      const auto group = make_tensor_parallel_backend(model, o, size);
      const StepLogits got = all_logits(*group, seqs);
      REQUIRE(got.values.size() == want.values.size());
      const double error = relative_error(got.values, want.values);
      // One rank: the same kernels on the same device, bit for bit. More: float32 partial sums
      // added in another order, which flips some 16-bit roundings of the next layer's input.
      if (size == 1) CHECK(got.values == want.values);
      CHECK(error < 1e-2);
    }
  }
}
#endif
