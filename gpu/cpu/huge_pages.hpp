#pragma once
// An allocator for the CPU backend's weight bytes that asks Linux for transparent huge pages
// (madvise MADV_HUGEPAGE before the first touch; distributions default THP to "madvise", so
// without asking a process gets 4 KiB pages). A decode step streams every weight once: with 4 KiB
// pages that is a TLB miss, a page walk and a hardware-prefetch restart every 4 KiB of a stream of
// hundreds of megabytes. Allocations under 2 MiB, and systems that refuse, get ordinary pages.
#include <sys/mman.h>

#include <cstddef>
#include <cstdlib>
#include <memory>
#include <new>
#include <vector>

namespace troupe::cpu {

template <class T>
struct HugePageAllocator {
  using value_type = T;
  static constexpr std::size_t kHugePage = std::size_t{2} << 20;

  HugePageAllocator() = default;
  template <class U>
  HugePageAllocator(const HugePageAllocator<U>&) {}

  T* allocate(std::size_t n) {
    const std::size_t bytes = n * sizeof(T);
    if (bytes < kHugePage) return std::allocator<T>().allocate(n);
    const std::size_t rounded = (bytes + kHugePage - 1) / kHugePage * kHugePage;
    void* p = std::aligned_alloc(kHugePage, rounded);
    if (p == nullptr) throw std::bad_alloc();
    madvise(p, rounded, MADV_HUGEPAGE);  // best effort: a refusal leaves ordinary pages
    return static_cast<T*>(p);
  }
  void deallocate(T* p, std::size_t n) {
    if (n * sizeof(T) < kHugePage) {
      std::allocator<T>().deallocate(p, n);
    } else {
      std::free(p);
    }
  }
  template <class U>
  bool operator==(const HugePageAllocator<U>&) const { return true; }
};

// Bytes on huge pages where Linux grants them: weights, and the KV cache that a long context reads
// whole every decode step.
using HugePageBytes = std::vector<std::byte, HugePageAllocator<std::byte>>;

}  // namespace troupe::cpu
