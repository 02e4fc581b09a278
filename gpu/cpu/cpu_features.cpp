#include "gpu/cpu/cpu_features.hpp"

#include <cstdlib>
#include <cstring>
#include <string_view>

#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#endif

namespace troupe::cpu {

bool cpu_supports(CpuIsa isa) {
#if defined(__x86_64__) && defined(__GNUC__)
  switch (isa) {
    case CpuIsa::Portable: return true;
    case CpuIsa::Avx2:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
    case CpuIsa::Avx512Vnni:
      return cpu_supports(CpuIsa::Avx2) && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
  }
  return false;
#else
  return isa == CpuIsa::Portable;
#endif
}

namespace {

CpuIsa detect() {
  CpuIsa best = CpuIsa::Portable;
  for (CpuIsa isa : {CpuIsa::Avx2, CpuIsa::Avx512Vnni}) {
    if (cpu_supports(isa)) best = isa;
  }
  if (const char* cap = std::getenv("TROUPE_CPU_ISA"); cap != nullptr) {
    const std::string_view name = cap;
    CpuIsa limit = best;
    if (name == "portable") limit = CpuIsa::Portable;
    if (name == "avx2") limit = CpuIsa::Avx2;
    if (name == "avx512") limit = CpuIsa::Avx512Vnni;
    if (static_cast<int>(limit) < static_cast<int>(best)) best = limit;
  }
  return best;
}

}  // namespace

CpuIsa cpu_isa() {
  static const CpuIsa isa = detect();
  return isa;
}

bool cpu_splits_512bit_ops() {
  static const bool split = [] {
    if (const char* env = std::getenv("TROUPE_CPU_SPLIT_512"); env != nullptr && *env != '\0') return env[0] == '1';
#if defined(__x86_64__) && defined(__GNUC__)
    unsigned a = 0, b = 0, c = 0, d = 0;
    if (!cpu_supports(CpuIsa::Avx512Vnni) || __get_cpuid(0, &a, &b, &c, &d) == 0) return false;
    char vendor[13] = {};
    std::memcpy(vendor, &b, 4);
    std::memcpy(vendor + 4, &d, 4);
    std::memcpy(vendor + 8, &c, 4);
    if (std::string_view(vendor) != "AuthenticAMD" || __get_cpuid(1, &a, &b, &c, &d) == 0) return false;
    const unsigned family = ((a >> 8) & 0xf) + (((a >> 8) & 0xf) == 0xf ? (a >> 20) & 0xff : 0);
    return family == 0x19;  // Zen 4 (Zen 3, the other family-19h core, has no AVX-512)
#else
    return false;
#endif
  }();
  return split;
}

const char* cpu_isa_name(CpuIsa isa) {
  switch (isa) {
    case CpuIsa::Portable: return "portable";
    case CpuIsa::Avx2: return "avx2";
    case CpuIsa::Avx512Vnni: return "avx512-vnni";
  }
  return "?";
}

}  // namespace troupe::cpu
