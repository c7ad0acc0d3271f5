// y = x·wᵀ (+ bias) (+ y) with w in PyTorch's (out, in) layout, read in place.
//
// Every output is a dot product of a row of x with a row of w, both contiguous along k, so a memory-mapped
// checkpoint is used as it is: no repacked copy of the weights, ever. The AVX2+FMA micro-kernel keeps a 3×4 tile of
// 8-lane partial sums in registers (12 ymm) and folds each tile's lanes with one horizontal-add tree at the end; it
// issues 3 + 4 loads per 12 FMAs, so it is FMA-bound. (A 4×6 AVX-512 tile measured slower on the 2-core Zen 4
// machine, whose 512-bit FMAs have the throughput of two 256-bit ones, and a 4×3 AVX2 tile spills registers.)
//
// Blocking: k is taken in blocks of at most kMaxDepth. Each block of x is copied once into tiles of MR rows
// interleaved by vector ([kc/8][MR][8], k zero-padded), so a tile is one contiguous stream, and the copy is shared by
// the threads that split the columns. Rows go in chunks whose packed slice stays in L2; within a chunk each group of
// NR weight rows (NR × kc, in L1) meets every tile in turn, while the next group is prefetched from DRAM.
#include "vlm_kernels.h"
#include "dispatch.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/// The register tile (MR rows of x × NR rows of w) and the vector width LANES; the portable kernel uses the same
/// packed layout.
enum { MR = 3, NR = 4, LANES = 8 };

/// A chunk of rows of packed x (rows × kc floats) should stay within this many bytes of L2,
static const ptrdiff_t kL2Budget = 512 * 1024;
/// and a group of weight rows (NR × kc floats) within L1 beside a tile of x. Measured best on Zen 4 among
/// 768…3072 (a longer block amortises the tile's horizontal sums, a shorter one keeps the weights in L1).
static const ptrdiff_t kMaxDepth = 768;

/// The k-block length: all of k up to kMaxDepth, else equal blocks rounded up to whole vectors.
ptrdiff_t vlm_linear_block_depth(ptrdiff_t k) {
    const ptrdiff_t kc = kMaxDepth;
    if (kc >= k) return k;
    ptrdiff_t blocks = (k + kc - 1) / kc;
    return (((k + blocks - 1) / blocks) + 15) & ~(ptrdiff_t)15;
}

/// Grows, never shrinks; kept until the thread exits (encoder threads live as long as the process).
float *vlm_thread_scratch(size_t count) {
    static _Thread_local float *buffer;
    static _Thread_local size_t capacity;
    if (count > capacity) {
        free(buffer);
        buffer = aligned_alloc(64, ((count * sizeof(float)) + 63) & ~(size_t)63);
        capacity = buffer ? count : 0;
    }
    return buffer;
}

/// Floats of one packed k-block of m rows: whole tiles, k padded to whole vectors.
static ptrdiff_t padded_depth(ptrdiff_t kc) { return (kc + LANES - 1) / LANES * LANES; }
static ptrdiff_t block_floats(ptrdiff_t m, ptrdiff_t kc) { return (m + MR - 1) / MR * MR * padded_depth(kc); }

/// Copies x[0..m, 0..kc] into tiles of MR rows, each stored as [kc/8][rows][8] with k zero-padded to a multiple of
/// 8. The tile of rows i… starts at i·padded_depth(kc).
static void pack_rows(const float *x, ptrdiff_t ldx, ptrdiff_t m, ptrdiff_t kc, float *packed) {
    const ptrdiff_t whole = kc / LANES * LANES, padded = padded_depth(kc);
    for (ptrdiff_t i = 0; i < m; i += MR) {
        const ptrdiff_t rows = m - i < MR ? m - i : MR;
        for (ptrdiff_t r = 0; r < rows; r++) {
            const float *src = x + (i + r) * ldx;
            float *dst = packed + i * padded + r * LANES;
            for (ptrdiff_t p = 0; p < whole; p += LANES, src += LANES, dst += rows * LANES)
                for (int q = 0; q < LANES; q++) dst[q] = src[q];
            if (whole < kc)
                for (int q = 0; q < LANES; q++) dst[q] = whole + q < kc ? src[q] : 0;
        }
    }
}

/// Writes a tile's row sums: y[j] = (add ? y[j] : 0) + s[j] (+ bias[j]).
static inline void store_row(float *y, const float *s, int nr, const float *bias, int add) {
    for (int j = 0; j < nr; j++) {
        float v = s[j] + (bias ? bias[j] : 0);
        y[j] = add ? y[j] + v : v;
    }
}

/// The tile signature: packed x tile, weight rows, kc, output tile, bias (or NULL), add-to-output.
typedef void (*TileFn)(const float *, const float *, ptrdiff_t, ptrdiff_t, float *, ptrdiff_t, const float *, int);

// MARK: - Portable kernel (any CPU)

static void tile_portable(int mr, int nr, const float *x, const float *w, ptrdiff_t ldw, ptrdiff_t kc, float *y,
                          ptrdiff_t ldy, const float *bias, int add) {
    for (int i = 0; i < mr; i++) {
        float s[NR];
        for (int j = 0; j < nr; j++) {
            const float *wj = w + j * ldw;
            float lanes[LANES] = {0};  // the same eight partial sums as the vector kernel
            ptrdiff_t p = 0;
            for (; p + LANES <= kc; p += LANES) {
                const float *xp = x + p * mr + i * LANES;
                for (int q = 0; q < LANES; q++) lanes[q] += xp[q] * wj[p + q];
            }
            for (int q = 0; p + q < kc; q++) lanes[q] += x[p * mr + i * LANES + q] * wj[p + q];
            s[j] = ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
        }
        store_row(y + i * ldy, s, nr, bias, add);
    }
}

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

// MARK: - AVX2 + FMA kernel

#define VLM_INLINE_AVX2 __attribute__((target("avx2,fma"), always_inline)) static inline

/// Lanes < n set, for masked loads of a k tail: kTailMask + 8 - n.
static const int kTailMask[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};

/// [Σ a, Σ b, Σ c, Σ d] of four 8-lane vectors.
VLM_INLINE_AVX2 __m128 sum4_avx2(__m256 a, __m256 b, __m256 c, __m256 d) {
    __m256 abcd = _mm256_hadd_ps(_mm256_hadd_ps(a, b), _mm256_hadd_ps(c, d));
    return _mm_add_ps(_mm256_castps256_ps128(abcd), _mm256_extractf128_ps(abcd, 1));
}

/// One mr×nr tile (mr ≤ 3, nr ≤ 4, constants after inlining) over kc steps of k.
VLM_INLINE_AVX2 void tile_avx2(const int mr, const int nr, const float *x, const float *w, ptrdiff_t ldw,
                               ptrdiff_t kc, float *y, ptrdiff_t ldy, const float *bias, int add) {
    __m256 acc[MR][NR];
    for (int i = 0; i < MR; i++)
        for (int j = 0; j < NR; j++) acc[i][j] = _mm256_setzero_ps();
    ptrdiff_t p = 0;
    for (; p + 8 <= kc; p += 8, x += 8 * mr) {
        __m256 xv[MR];
        for (int i = 0; i < mr; i++) xv[i] = _mm256_load_ps(x + i * 8);
        for (int j = 0; j < nr; j++) {
            __m256 wv = _mm256_loadu_ps(w + j * ldw + p);
            for (int i = 0; i < mr; i++) acc[i][j] = _mm256_fmadd_ps(xv[i], wv, acc[i][j]);
        }
    }
    if (p < kc) {  // x is zero-padded; only the weights need a mask
        __m256i mask = _mm256_loadu_si256((const __m256i *)(kTailMask + 8 - (kc - p)));
        __m256 xv[MR];
        for (int i = 0; i < mr; i++) xv[i] = _mm256_load_ps(x + i * 8);
        for (int j = 0; j < nr; j++) {
            __m256 wv = _mm256_maskload_ps(w + j * ldw + p, mask);
            for (int i = 0; i < mr; i++) acc[i][j] = _mm256_fmadd_ps(xv[i], wv, acc[i][j]);
        }
    }
    for (int i = 0; i < mr; i++) {
        __m128 sums = sum4_avx2(acc[i][0], acc[i][1], acc[i][2], acc[i][3]);
        float *yi = y + i * ldy;
        if (nr == NR) {  // a whole row of the tile: one vector of four outputs
            if (bias) sums = _mm_add_ps(sums, _mm_loadu_ps(bias));
            if (add) sums = _mm_add_ps(sums, _mm_loadu_ps(yi));
            _mm_storeu_ps(yi, sums);
        } else {
            float s[NR];
            _mm_storeu_ps(s, sums);
            store_row(yi, s, nr, bias, add);
        }
    }
}

#define VLM_TILE_AVX2(MRC, NRC)                                                                                     \
    __attribute__((target("avx2,fma"))) static void tile_avx2_##MRC##x##NRC(                                       \
        const float *x, const float *w, ptrdiff_t ldw, ptrdiff_t kc, float *y, ptrdiff_t ldy, const float *bias,   \
        int add) {                                                                                                  \
        tile_avx2(MRC, NRC, x, w, ldw, kc, y, ldy, bias, add);                                                      \
    }
VLM_TILE_AVX2(1, 1) VLM_TILE_AVX2(1, 2) VLM_TILE_AVX2(1, 3) VLM_TILE_AVX2(1, 4)
VLM_TILE_AVX2(2, 1) VLM_TILE_AVX2(2, 2) VLM_TILE_AVX2(2, 3) VLM_TILE_AVX2(2, 4)
VLM_TILE_AVX2(3, 1) VLM_TILE_AVX2(3, 2) VLM_TILE_AVX2(3, 3) VLM_TILE_AVX2(3, 4)

static const TileFn kTilesAVX2[MR * NR] = {
    tile_avx2_1x1, tile_avx2_1x2, tile_avx2_1x3, tile_avx2_1x4, tile_avx2_2x1, tile_avx2_2x2,
    tile_avx2_2x3, tile_avx2_2x4, tile_avx2_3x1, tile_avx2_3x2, tile_avx2_3x3, tile_avx2_3x4,
};

// MARK: - Dispatch

typedef enum { ISA_PORTABLE, ISA_AVX2 } Isa;

/// AVX2 and FMA present (a property of the CPU, detected once).
static int cpu_has_avx2(void) {
    static atomic_int cached = -1;
    int value = atomic_load_explicit(&cached, memory_order_relaxed);
    if (value < 0) {
        __builtin_cpu_init();
        value = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
        atomic_store_explicit(&cached, value, memory_order_relaxed);
    }
    return value;
}
#else
typedef enum { ISA_PORTABLE } Isa;
static int cpu_has_avx2(void) { return 0; }
#endif

/// The calling thread's choice (set by its caller for itself and the regions it starts; see vlm_kernels.h).
static _Thread_local int thread_portable;

int vlm_kernels_set_portable(int portable) {
    const int previous = thread_portable;
    thread_portable = portable != 0;
    return previous;
}

static Isa detect_isa(void) {
#if defined(__x86_64__) || defined(__i386__)
    if (!thread_portable && cpu_has_avx2()) return ISA_AVX2;
#endif
    return ISA_PORTABLE;
}

int vlm_use_avx2(void) {
#if defined(__x86_64__) || defined(__i386__)
    return detect_isa() == ISA_AVX2;
#else
    return 0;
#endif
}

const char *vlm_kernels_isa(void) {
    switch (detect_isa()) {
#if defined(__x86_64__) || defined(__i386__)
    case ISA_AVX2: return "avx2+fma";
#endif
    default: return "portable";
    }
}

/// The AVX2 tiles, indexed [(mr − 1)·NR + nr − 1], or NULL for the portable kernel.
static const TileFn *avx2_tiles(void) {
#if defined(__x86_64__) || defined(__i386__)
    if (detect_isa() == ISA_AVX2) return kTilesAVX2;
#endif
    return NULL;
}

// MARK: - Driver

size_t vlm_packed_count(ptrdiff_t m, ptrdiff_t k) {
    const ptrdiff_t depth = vlm_linear_block_depth(k);
    size_t total = 0;
    for (ptrdiff_t kb = 0; kb < k; kb += depth) total += (size_t)block_floats(m, k - kb < depth ? k - kb : depth);
    return total;
}

int vlm_pack_tile_rows(void) { return MR; }

void vlm_pack(const float *x, ptrdiff_t ldx, ptrdiff_t m, ptrdiff_t k, ptrdiff_t row0, ptrdiff_t row1,
              float *packed) {
    const ptrdiff_t depth = vlm_linear_block_depth(k);
    row1 = row1 < m ? row1 : m;
    if (row0 >= row1) return;
    for (ptrdiff_t kb = 0; kb < k; kb += depth) {
        const ptrdiff_t kc = k - kb < depth ? k - kb : depth;
        // rows row0 ..< row1 of this block (row0 is a whole number of tiles)
        pack_rows(x + row0 * ldx + kb, ldx, row1 - row0, kc, packed + row0 * padded_depth(kc));
        packed += block_floats(m, kc);
    }
}

/// Columns [n0, n1) of rows [i0, i1) (whole tiles) for one k-block.
static void linear_chunk(const TileFn *tiles, const float *packed, ptrdiff_t m, ptrdiff_t i0, ptrdiff_t i1,
                         ptrdiff_t kc, const float *w, ptrdiff_t ldw, const float *bias, float *y, ptrdiff_t ldy,
                         ptrdiff_t n0, ptrdiff_t n1, int add) {
    const ptrdiff_t padded = padded_depth(kc);
    const ptrdiff_t tile_count = (i1 - i0 + MR - 1) / MR;
    const ptrdiff_t row_lines = (kc + 15) / 16;  // 64-byte lines per weight row of this block
    for (ptrdiff_t j = n0; j < n1; j += NR) {
        const int nr = n1 - j < NR ? (int)(n1 - j) : NR;
        const float *wj = w + j * ldw;
        const float *bj = bias ? bias + j : NULL;
        // The next group of weight rows comes from DRAM (a checkpoint is far larger than the caches): its lines are
        // prefetched into L2, a few per tile, while this group computes. Without it the kernel ran ~15 % slower at
        // m = 50 and ~5 % at m = 400.
        const ptrdiff_t next_rows = n1 - (j + nr) < NR ? n1 - (j + nr) : NR;
        const ptrdiff_t per_tile = (next_rows * row_lines + tile_count - 1) / tile_count;
        const float *next = wj + (ptrdiff_t)nr * ldw;
        ptrdiff_t row = 0, line = 0;
        for (ptrdiff_t i = i0; i < i1; i += MR) {
            for (ptrdiff_t q = 0; q < per_tile && row < next_rows; q++) {
                __builtin_prefetch(next + row * ldw + line * 16, 0, 2);
                if (++line == row_lines) line = 0, row++;
            }
            const int mr = m - i < MR ? (int)(m - i) : MR;
            if (tiles) {
                tiles[(mr - 1) * NR + (nr - 1)](packed + i * padded, wj, ldw, kc, y + i * ldy + j, ldy, bj, add);
            } else {
                tile_portable(mr, nr, packed + i * padded, wj, ldw, kc, y + i * ldy + j, ldy, bj, add);
            }
        }
    }
}

void vlm_linear_packed(const float *packed, ptrdiff_t m, ptrdiff_t k, const float *w, ptrdiff_t ldw,
                       const float *bias, float *y, ptrdiff_t ldy, ptrdiff_t n0, ptrdiff_t n1, int accumulate) {
    if (m <= 0 || n1 <= n0) return;
    if (k <= 0) {
        for (ptrdiff_t i = 0; i < m; i++)
            for (ptrdiff_t j = n0; j < n1; j++) {
                const float v = bias ? bias[j] : 0;
                y[i * ldy + j] = accumulate ? y[i * ldy + j] + v : v;
            }
        return;
    }
    const TileFn *tiles = avx2_tiles();
    const ptrdiff_t depth = vlm_linear_block_depth(k);
    for (ptrdiff_t kb = 0; kb < k; kb += depth) {
        const ptrdiff_t kc = k - kb < depth ? k - kb : depth;
        // Rows in equal chunks of whole tiles whose packed slice stays in L2; the weights are re-read per chunk,
        // from L3 after the first.
        const ptrdiff_t budget_rows = kL2Budget / (ptrdiff_t)(sizeof(float) * padded_depth(kc));
        const ptrdiff_t chunks = (m + budget_rows - 1) / (budget_rows > MR ? budget_rows : MR);
        const ptrdiff_t chunk = ((m + chunks - 1) / chunks + MR - 1) / MR * MR;
        for (ptrdiff_t i0 = 0; i0 < m; i0 += chunk)
            linear_chunk(tiles, packed, m, i0, i0 + chunk < m ? i0 + chunk : m, kc, w + kb, ldw,
                         kb == 0 ? bias : NULL, y, ldy, n0, n1, accumulate || kb > 0);
        packed += block_floats(m, kc);
    }
}
