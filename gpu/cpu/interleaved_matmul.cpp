#include "gpu/cpu/interleaved_matmul.hpp"


#include <cstddef>
#include <vector>

#include "gpu/cpu/cpu_features.hpp"
#include "gpu/cpu/int8_matmul.hpp"
#include "gpu/cpu/interleaved_weights.hpp"

namespace troupe::cpu {

// The reference: each group's rows rebuilt as GGUF blocks and multiplied by int8_matmul's
// portable kernel, which is written chunk by chunk from the weight formats themselves.
void interleaved_matmul_portable(const InterleavedMatmulJob& j, int64_t g0, int64_t g1) {
  const int64_t row_bytes = static_cast<int64_t>(dtype_bytes_for(j.type, j.cols));
  std::vector<std::byte> rows(static_cast<std::size_t>(kInterleavedRows * row_bytes));
  const auto* groups = reinterpret_cast<const std::byte*>(j.groups);
  for (int64_t g = g0; g < g1; ++g) {
    for (int64_t i = 0; i < kInterleavedRows; ++i) {
      deinterleave_row(j.type, groups, j.cols, g * kInterleavedRows + i, rows.data() + i * row_bytes);
    }
    const Int8MatmulJob group{j.type, reinterpret_cast<const std::uint8_t*>(rows.data()), row_bytes, j.cols,
                              j.a, j.c + g * kInterleavedRows, j.c_stride, j.accumulate};
    int8_matmul_portable(group, 0, kInterleavedRows);
  }
}

void interleaved_matmul(const InterleavedMatmulJob& job, int64_t g0, int64_t g1) {
  static const CpuIsa isa = cpu_isa();
  switch (isa) {
    case CpuIsa::Avx512Vnni: return interleaved_matmul_avx512(job, g0, g1);
    case CpuIsa::Avx2: return interleaved_matmul_avx2(job, g0, g1);
    case CpuIsa::Portable: return interleaved_matmul_portable(job, g0, g1);
  }
}

}  // namespace troupe::cpu
