#include "gpu/cuda/nccl_communicator.hpp"

#include <dlfcn.h>

#include <atomic>
#include <cstdlib>
#include <mutex>

#include "common/error.hpp"
#include "gpu/cuda/cuda_check.cuh"
#include "gpu/cuda/device_buffer.hpp"

#if __has_include(<nccl.h>)
#include <nccl.h>
#define TROUPE_HAVE_NCCL_HEADER 1
#endif

namespace troupe::cuda {

#if TROUPE_HAVE_NCCL_HEADER
namespace {

// The NCCL entry points troupe calls, resolved from the library at run time.
struct NcclApi {
  decltype(&ncclGetVersion) get_version = nullptr;
  decltype(&ncclGetErrorString) error_string = nullptr;
  decltype(&ncclCommInitAll) comm_init_all = nullptr;
  decltype(&ncclCommAbort) comm_abort = nullptr;
  decltype(&ncclCommDestroy) comm_destroy = nullptr;
  decltype(&ncclAllReduce) all_reduce = nullptr;
  decltype(&ncclSend) send = nullptr;
  decltype(&ncclRecv) recv = nullptr;
  decltype(&ncclGroupStart) group_start = nullptr;
  decltype(&ncclGroupEnd) group_end = nullptr;
};

const NcclApi& nccl() {
  static const NcclApi api = [] {
    const char* env = std::getenv("TROUPE_NCCL_LIBRARY");
    const std::string path = env != nullptr && *env != '\0' ? env : "libnccl.so.2";
    void* lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (lib == nullptr) {
      throw ConfigError("tensor parallelism on CUDA needs NCCL: cannot load " + path + " (" + dlerror() +
                        "); install it (pip install nvidia-nccl-cu13, or the CUDA toolkit's) and put its directory on "
                        "LD_LIBRARY_PATH, or name the file in TROUPE_NCCL_LIBRARY");
    }
    NcclApi a;
    const auto bind = [&](auto& fn, const char* name) {
      fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(dlsym(lib, name));
      if (fn == nullptr) throw ConfigError(path + " has no " + name + " (NCCL 2.7 or newer is needed)");
    };
    bind(a.get_version, "ncclGetVersion");
    bind(a.error_string, "ncclGetErrorString");
    bind(a.comm_init_all, "ncclCommInitAll");
    bind(a.comm_abort, "ncclCommAbort");
    bind(a.comm_destroy, "ncclCommDestroy");
    bind(a.all_reduce, "ncclAllReduce");
    bind(a.send, "ncclSend");
    bind(a.recv, "ncclRecv");
    bind(a.group_start, "ncclGroupStart");
    bind(a.group_end, "ncclGroupEnd");
    return a;
  }();
  return api;
}

void check(ncclResult_t r, const char* what) {
  if (r != ncclSuccess) throw std::runtime_error(std::string("NCCL ") + what + " failed: " + nccl().error_string(r));
}

// Every rank's communicator; made, aborted and remade together.
class NcclGroup {
 public:
  explicit NcclGroup(std::vector<int> devices) : devices_(std::move(devices)) { init(); }
  ~NcclGroup() { destroy(); }

  int size() const { return static_cast<int>(devices_.size()); }
  int device(int rank) const { return devices_[static_cast<std::size_t>(rank)]; }
  ncclComm_t comm(int rank) {
    std::lock_guard lock(mutex_);
    if (aborted_.load()) throw CommunicatorAborted(why_);
    return comms_[static_cast<std::size_t>(rank)];
  }

  void abort(const std::string& why) {
    std::lock_guard lock(mutex_);
    if (aborted_.exchange(true)) return;
    why_ = why;
    for (ncclComm_t c : comms_) nccl().comm_abort(c);  // ends the kernels other ranks wait on
    comms_.clear();
  }

  void reset() {
    std::lock_guard lock(mutex_);
    if (!aborted_.load()) return;
    init();
    why_.clear();
    aborted_.store(false, std::memory_order_release);
  }

 private:
  void init() {
    comms_.assign(devices_.size(), nullptr);
    check(nccl().comm_init_all(comms_.data(), size(), devices_.data()), "ncclCommInitAll");
  }
  void destroy() {
    for (ncclComm_t c : comms_) nccl().comm_destroy(c);
    comms_.clear();
  }

  std::vector<int> devices_;
  std::vector<ncclComm_t> comms_;
  std::mutex mutex_;
  std::atomic<bool> aborted_{false};
  std::string why_;
};

class NcclCommunicator final : public Communicator {
 public:
  NcclCommunicator(std::shared_ptr<NcclGroup> group, int rank) : group_(std::move(group)), rank_(rank) {}
  int rank() const override { return rank_; }
  int size() const override { return group_->size(); }
  void bind_stream(void* stream) override { stream_ = static_cast<cudaStream_t>(stream); }

  void all_reduce_sum(float* data, int64_t count) override {
    if (size() == 1) return;  // a group of one still runs its NCCL check in tools/gpu/device_check.sh
    check(nccl().all_reduce(data, data, static_cast<std::size_t>(count), ncclFloat32, ncclSum, group_->comm(rank_), stream_),
          "ncclAllReduce");
  }

  // Ranks send their part to rank 0, which receives each into a staging buffer and copies it
  // into its columns of `out`.
  void gather_columns(const float* local, int64_t rows, const std::vector<IndexRange>& columns, float* out,
                      int64_t out_cols) override {
    const auto mine = columns.at(static_cast<std::size_t>(rank_));
    if (rank_ != 0) {
      check(nccl().send(local, static_cast<std::size_t>(rows * mine.size()), ncclFloat32, 0, group_->comm(rank_), stream_),
            "ncclSend");
      return;
    }
    int64_t staged = 0;
    for (std::size_t r = 1; r < columns.size(); ++r) staged += rows * columns[r].size();
    if (staging_.bytes() < staged * static_cast<int64_t>(sizeof(float))) {
      staging_ = DeviceBuffer(staged * static_cast<int64_t>(sizeof(float)));
    }
    check(nccl().group_start(), "ncclGroupStart");
    int64_t at = 0;
    for (std::size_t r = 1; r < columns.size(); ++r) {
      const auto n = static_cast<std::size_t>(rows * columns[r].size());
      check(nccl().recv(staging_.as<float>() + at, n, ncclFloat32, static_cast<int>(r), group_->comm(rank_), stream_),
            "ncclRecv");
      at += static_cast<int64_t>(n);
    }
    check(nccl().group_end(), "ncclGroupEnd");
    const auto place = [&](const float* src, IndexRange c) {
      TROUPE_CUDA_CHECK(cudaMemcpy2DAsync(out + c.begin, static_cast<std::size_t>(out_cols) * sizeof(float), src,
                                          static_cast<std::size_t>(c.size()) * sizeof(float),
                                          static_cast<std::size_t>(c.size()) * sizeof(float), static_cast<std::size_t>(rows),
                                          cudaMemcpyDeviceToDevice, stream_));
    };
    place(local, mine);
    at = 0;
    for (std::size_t r = 1; r < columns.size(); ++r) {
      place(staging_.as<float>() + at, columns[r]);
      at += rows * columns[r].size();
    }
  }

  void abort(const std::string& why) override { group_->abort(why); }
  void reset() override { group_->reset(); }

 private:
  std::shared_ptr<NcclGroup> group_;
  int rank_;
  cudaStream_t stream_ = nullptr;
  DeviceBuffer staging_;  // rank 0: the other ranks' logits
};

}  // namespace

std::vector<std::shared_ptr<Communicator>> make_nccl_communicators(const std::vector<int>& devices) {
  if (devices.empty()) throw std::invalid_argument("a communicator group needs at least one device");
  auto group = std::make_shared<NcclGroup>(devices);
  std::vector<std::shared_ptr<Communicator>> out;
  for (int r = 0; r < static_cast<int>(devices.size()); ++r) out.push_back(std::make_shared<NcclCommunicator>(group, r));
  return out;
}

std::string nccl_version() {
  int v = 0;
  check(nccl().get_version(&v), "ncclGetVersion");
  // NCCL >= 2.9 encodes major * 10000 + minor * 100 + patch.
  return std::to_string(v / 10000) + "." + std::to_string(v / 100 % 100) + "." + std::to_string(v % 100);
}

#else  // no nccl.h at build time

std::vector<std::shared_ptr<Communicator>> make_nccl_communicators(const std::vector<int>&) {
  throw ConfigError("this build of troupe has no NCCL support (nccl.h was not found): tensor parallelism runs on the CPU only");
}

std::string nccl_version() { throw ConfigError("this build of troupe has no NCCL support"); }

#endif

}  // namespace troupe::cuda
