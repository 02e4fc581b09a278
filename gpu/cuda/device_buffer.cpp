#include "gpu/cuda/device_buffer.hpp"

#include <utility>

#include "gpu/cuda/cuda_check.cuh"

namespace troupe::cuda {

namespace {

void check_range(int64_t bytes, int64_t offset, int64_t size) {
  if (bytes < 0 || offset < 0 || offset + bytes > size) {
    throw std::out_of_range("DeviceBuffer: " + std::to_string(bytes) + " bytes at offset " + std::to_string(offset) +
                            " exceed the buffer of " + std::to_string(size));
  }
}

}  // namespace

DeviceBuffer::DeviceBuffer(int64_t bytes) : bytes_(bytes) {
  if (bytes > 0) TROUPE_CUDA_CHECK(cudaMalloc(&data_, static_cast<std::size_t>(bytes)));
}

DeviceBuffer::~DeviceBuffer() {
  if (data_ != nullptr) cudaFree(data_);  // a destructor cannot throw; a failed free leaks nothing we can recover
}

DeviceBuffer::DeviceBuffer(DeviceBuffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), bytes_(std::exchange(other.bytes_, 0)) {}

DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& other) noexcept {
  if (this != &other) {
    if (data_ != nullptr) cudaFree(data_);
    data_ = std::exchange(other.data_, nullptr);
    bytes_ = std::exchange(other.bytes_, 0);
  }
  return *this;
}

void DeviceBuffer::upload(const void* src, int64_t bytes, int64_t offset) {
  check_range(bytes, offset, bytes_);
  if (bytes == 0) return;
  TROUPE_CUDA_CHECK(cudaMemcpy(static_cast<char*>(data_) + offset, src, static_cast<std::size_t>(bytes),
                               cudaMemcpyHostToDevice));
}

void DeviceBuffer::download(void* dst, int64_t bytes, int64_t offset) const {
  check_range(bytes, offset, bytes_);
  if (bytes == 0) return;
  TROUPE_CUDA_CHECK(cudaMemcpy(dst, static_cast<const char*>(data_) + offset, static_cast<std::size_t>(bytes),
                               cudaMemcpyDeviceToHost));
}

void DeviceBuffer::fill_bytes(unsigned char value) {
  if (bytes_ > 0) TROUPE_CUDA_CHECK(cudaMemset(data_, value, static_cast<std::size_t>(bytes_)));
}

PinnedBuffer::PinnedBuffer(int64_t bytes) : bytes_(bytes) {
  if (bytes > 0) TROUPE_CUDA_CHECK(cudaMallocHost(&data_, static_cast<std::size_t>(bytes)));
}

PinnedBuffer::~PinnedBuffer() {
  if (data_ != nullptr) cudaFreeHost(data_);
}

PinnedBuffer::PinnedBuffer(PinnedBuffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), bytes_(std::exchange(other.bytes_, 0)) {}

PinnedBuffer& PinnedBuffer::operator=(PinnedBuffer&& other) noexcept {
  if (this != &other) {
    if (data_ != nullptr) cudaFreeHost(data_);
    data_ = std::exchange(other.data_, nullptr);
    bytes_ = std::exchange(other.bytes_, 0);
  }
  return *this;
}

void device_synchronize() { TROUPE_CUDA_CHECK(cudaDeviceSynchronize()); }

}  // namespace troupe::cuda
