// --device selection: runs on every machine. Without a CUDA device "auto" falls back to the CPU
// backend and "cuda" is a ConfigError naming why; with one, "auto" picks cuda:0.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <string>

#include "common/error.hpp"
#include "gpu/backend_factory.hpp"
#include "gpu/device_probe.hpp"
#include "tests/support/fixtures.hpp"

using namespace troupe;

namespace {

BackendOptions options_for(const std::string& device) {
  BackendOptions o;
  o.device = device;
  o.max_kv_tokens = 64;
  o.threads = 1;
  return o;
}

}  // namespace

TEST_CASE("device selection: auto and cuda follow the devices present", "[gpu][device]") {
  const ModelFiles model = ModelFiles::open(test::fixture("models/llama"));
  CHECK(make_backend(model, options_for("cpu"))->name() == "cpu");
  const CudaProbe& probe = probe_cuda_devices();
  if (probe.device_count == 0) {
    const char* expect = std::getenv("TROUPE_EXPECT_CUDA");
    if (expect != nullptr && std::string(expect) == "1") FAIL("TROUPE_EXPECT_CUDA is set but there is no CUDA device: " << probe.reason);
    CHECK_FALSE(probe.reason.empty());
    CHECK(make_backend(model, options_for("auto"))->name() == "cpu");
    for (const std::string device : {"cuda", "cuda:0", "cuda:3"}) {
      INFO(device);
      try {
        make_backend(model, options_for(device));
        FAIL("--device " << device << " without a CUDA device must throw");
      } catch (const ConfigError& e) {
        CHECK_THAT(e.what(), Catch::Contains("no CUDA device") && Catch::Contains(probe.reason));
      }
    }
  } else {
    CHECK(make_backend(model, options_for("auto"))->name() == "cuda:0");
    CHECK(make_backend(model, options_for("cuda"))->name() == "cuda:0");
    CHECK_THROWS_WITH(make_backend(model, options_for("cuda:" + std::to_string(probe.device_count))),
                      Catch::Contains("no CUDA device " + std::to_string(probe.device_count)));
  }
}

TEST_CASE("device selection: malformed device names are ConfigErrors", "[gpu][device]") {
  const ModelFiles model = ModelFiles::open(test::fixture("models/llama"));
  for (const std::string device : {"gpu", "cuda:", "cuda:x", "cuda:-1", "cuda0", "cuda:1x"}) {
    INFO(device);
    CHECK_THROWS_AS(make_backend(model, options_for(device)), ConfigError);
  }
}
