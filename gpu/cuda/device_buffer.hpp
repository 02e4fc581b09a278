#pragma once
// An owned allocation of device memory (cudaMalloc/cudaFree) and a pinned host staging buffer
// (cudaMallocHost), without CUDA headers, for the backend and for tests. Transfers here are
// synchronous; the backend's per-step transfers are asynchronous on its stream instead.
#include <cstddef>
#include <cstdint>

namespace troupe::cuda {

class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(int64_t bytes);  // throws std::runtime_error when the allocation fails
  ~DeviceBuffer();
  DeviceBuffer(DeviceBuffer&& other) noexcept;
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  void* data() const { return data_; }
  template <typename T>
  T* as() const { return static_cast<T*>(data_); }
  int64_t bytes() const { return bytes_; }

  // Host <-> device copies of `bytes` at byte `offset` of this buffer; bounds are checked.
  void upload(const void* src, int64_t bytes, int64_t offset = 0);
  void download(void* dst, int64_t bytes, int64_t offset = 0) const;
  // Sets every byte to `value` (tests poison outputs with 0xff: NaN in float, bf16 and fp16).
  void fill_bytes(unsigned char value);

 private:
  void* data_ = nullptr;
  int64_t bytes_ = 0;
};

class PinnedBuffer {
 public:
  PinnedBuffer() = default;
  explicit PinnedBuffer(int64_t bytes);
  ~PinnedBuffer();
  PinnedBuffer(PinnedBuffer&& other) noexcept;
  PinnedBuffer& operator=(PinnedBuffer&& other) noexcept;
  PinnedBuffer(const PinnedBuffer&) = delete;
  PinnedBuffer& operator=(const PinnedBuffer&) = delete;

  template <typename T>
  T* as() const { return static_cast<T*>(data_); }
  int64_t bytes() const { return bytes_; }

 private:
  void* data_ = nullptr;
  int64_t bytes_ = 0;
};

// cudaDeviceSynchronize, checked: surfaces errors of kernels launched before it.
void device_synchronize();

}  // namespace troupe::cuda
