#pragma once
// GGUF weight rows regrouped eight at a time so that one 32-byte vector holds four consecutive
// weights of eight output rows: the layout of interleaved_matmul.hpp's kernels. Multiplying such a
// vector by an activation's four int8 values broadcast across it (maddubs/madd) gives eight
// partial dot products, one per output row, in the lanes where they are needed: the chunk's sums
// stay in vector lanes and are never reduced horizontally. A row-major layout needs one
// horizontal reduction per (weight row, activation row, chunk) instead, which is what held
// int8_matmul.hpp's kernel to a few percent of the int8 roofline at 32 activation rows.
//
// Only the arrangement of the bytes changes: every quant and every scale is kept as stored, so a
// group takes exactly the bytes of its eight rows and each row's blocks can be rebuilt bit for
// bit (deinterleave_row). Per group of 8 rows, for each block of columns (32, or 256 for the
// K-quants) in order, one record:
//   Q4_0  d[8] (fp16)            qs[128]        = 144 bytes (8 blocks of 18)
//   Q4_1  d[8], m[8] (fp16)      qs[128]        = 160 bytes (8 × 20)
//   Q5_0  d[8] (fp16)  qh[32]    qs[128]        = 176 bytes (8 × 22)
//   Q8_0  d[8] (fp16)            qs[256]        = 272 bytes (8 × 34)
//   Q4_K  d[8], dmin[8] (fp16)   scales[96]   qs[1024]   = 1152 bytes (8 × 144)
//   Q6_K  d[8] (fp16)  scales[128]  quants[1536]          = 1680 bytes (8 × 210)
//   Q5_K  as Q4_K with qh[256] before qs: d[8], dmin[8], scales[96], qh[256], qs[1024] = 1408 (8 × 176)
//   Q2_K  scales[128]  qs[512]  d[8], dmin[8] (fp16)      = 672 bytes (8 × 84)
//   Q3_K  hmask[256]  qs[512]  scales[96]  d[8] (fp16)    = 880 bytes (8 × 110)
//   IQ4_NL  as Q4_0 (d[8], qs[128])                       = 144 bytes (8 × 18)
//   MXFP4_F16 as IQ4_NL                                   = 144 bytes (8 × 18)
//   IQ4_XS  d[8], scales_h[8] (16 bits)  scales_l[32]  qs[1024] = 1088 bytes (8 × 136)
//   IQ1_S, IQ1_M, IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S (the lattice types): the 8 rows' blocks
//     as stored, row i's at i · block bytes. Their kernel unpacks a group's table lookups once per
//     product into a scratch Q8_0-like layout (interleaved_matmul_lattice_avx2.cpp), so the record
//     only has to keep a group's bytes together in the order they are read.
// where d[i] (m[i]) is row i's block scale (min), and
//   4-bit quants: byte 32·L + 4·i + t (L, t in 0..3) is row i's block byte qs[4L + t]: its low
//     nibble weight 4L + t, its high nibble weight 16 + 4L + t;
//   Q5_0's high bits: byte 4·i + t holds in bit L the high bit of row i's weight 4L + t and in
//     bit 4 + L that of weight 16 + 4L + t;
//   Q8_0: byte 32·G + 4·i + t (G in 0..7) is row i's weight 4G + t;
//   Q4_K: scales byte 8·k + i is row i's byte k of its 12 bytes of 6-bit scales and mins; qs byte
//     256·p + 32·v + 4·i + t (p, v in 0..3 and 0..7) is row i's qs[32p + 4v + t]: its low nibble
//     weight 4v + t of sub-block 2p, its high nibble weight 4v + t of sub-block 2p + 1;
//   Q6_K: scales byte 8·k + i is row i's int8 scale k. Each 32 consecutive bytes of a row's ql and
//     qh become 8 vectors of 4 bytes × 8 rows, as for Q4_K, placed in the order the kernels read
//     them: half h (0..1, 128 columns each) takes quants bytes 768·h .. 768·h + 767, in steps v
//     (0..7) of 96 bytes: ql vector v of run 2h, of run 2h + 1, then qh vector v of run h. So row i's
//     ql[32u + 4v + t] is quants byte 768·(u / 2) + 96·v + 32·(u % 2) + 4·i + t and its
//     qh[32h + 4v + t] quants byte 768·h + 96·v + 64 + 4·i + t. (Runs one after another instead,
//     the kernels jump back and forth across the record, which streams from memory at about half
//     the rate of reading it in address order: measured on Zen 4.)
//   Q5_K's qh: row i's qh[4v + t] (the fifth bits of weights 4v + t of each sub-block) is byte
//     128 + 32·v + 4·i + t, beside the qs vector v that holds those weights' nibbles;
//   Q2_K, Q3_K and IQ4_XS: each per-row field of bytes (scales, scales_l) is held byte k of every row
//     together, 8·k + i, as Q4_K's scales; each run of 32 bytes of a row's quants (qs, hmask) is
//     spread as Q4_K's qs: row i's byte 32u + 4v + t at 256·u + 32·v + 4·i + t from the field's
//     start. So IQ4_XS sub-block j (16 qs bytes) is 128 record bytes from 64 + 128·j on, Q2_K's and
//     Q3_K's 2-bit run u (0..1) 256 bytes, and Q3_K's 32 hmask bytes the record's first 256.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "model/dtype.hpp"

namespace troupe::cpu {

inline constexpr int64_t kInterleavedRows = 8;

// Where a Q6_K record's 32-byte vector v (0..7) of ql run u (0..3), or of qh run h (0..1), starts
// (the layout above).
constexpr int64_t q6k_ql_vector(int64_t u, int64_t v) { return 144 + 768 * (u / 2) + 96 * v + 32 * (u % 2); }
constexpr int64_t q6k_qh_vector(int64_t h, int64_t v) { return 144 + 768 * h + 96 * v + 64; }

// The block types with an interleaved form.
bool interleaved_supports(DType type);

// The first rows of `blocks` (rows × row_bytes, row-major GGUF blocks) that fill whole groups of
// 8, regrouped; rows beyond the last whole group are not included.
std::vector<std::byte> interleave_rows(DType type, const std::byte* blocks, int64_t rows, int64_t cols);

// Row r of an interleaved matrix as its GGUF blocks (dtype_bytes_for(type, cols) bytes), exactly
// the bytes interleave_rows read.
void deinterleave_row(DType type, const std::byte* interleaved, int64_t cols, int64_t r, std::byte* row_out);

}  // namespace troupe::cpu
