#pragma once
// Which instruction sets the CPU kernels use, decided once per process from what the CPU reports
// (cpuid, through __builtin_cpu_supports, which also checks that the OS saves the wider registers).
// One binary runs on every x86-64 CPU: each fast kernel sits beside its portable reference and
// the dispatchers pick the best variant this machine has.
//
// TROUPE_CPU_ISA=portable|avx2|avx512 caps the choice (for A/B benchmarks and for checking a
// slower path on a faster machine); it never enables what the CPU lacks.
namespace troupe::cpu {

enum class CpuIsa {
  Portable = 0,
  Avx2 = 1,        // AVX2, FMA, F16C
  Avx512Vnni = 2,  // and AVX-512 F/BW/VL with VNNI (vpdpbusd on 256-bit registers; Ice Lake, Zen 4 and later)
};

// What the hardware (and OS) supports, ignoring TROUPE_CPU_ISA.
bool cpu_supports(CpuIsa isa);

// The variant the kernels run: the best supported, capped by TROUPE_CPU_ISA.
CpuIsa cpu_isa();

const char* cpu_isa_name(CpuIsa isa);

// True on CPUs that execute a 512-bit operation as two 256-bit halves (AMD Zen 4: family 19h with
// AVX-512). There a single-row product streams its weights faster one 8-row group at a time on
// 256-bit registers than two groups per 512-bit register (1B Q4_K_M decode 36.6–39.9 against
// 29.5–30.3 tok/s on a Zen 4 VM); with more rows the 512-bit form, half the instructions, wins.
// TROUPE_CPU_SPLIT_512=0|1 overrides it (for A/B runs).
bool cpu_splits_512bit_ops();

// Hardware AVX2/FMA/F16C support (what the AVX2 kernels' tests check against).
inline bool avx2_available() { return cpu_supports(CpuIsa::Avx2); }

}  // namespace troupe::cpu
