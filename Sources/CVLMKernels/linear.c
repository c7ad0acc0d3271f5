// y = x·wᵀ (+ bias) (+ y) with w in PyTorch's (out, in) layout, read in place.
//
// Every output is a dot product of a row of x with a row of w, both contiguous along k, so a memory-mapped
// checkpoint is used as it is, with no repacked copy of the weights (on a CPU with AVX-512 an image tower's block
// weights are repacked once into panels instead: linear_panels.c). A micro-kernel keeps a tile of MR × NR vector
// partial sums in registers and folds each tile's lanes with one horizontal-add tree at the end:
// - AVX2+FMA: a 3×4 tile of 8 lanes (12 ymm), 3 + 4 loads per 12 FMAs, FMA-bound. A 4×3 tile spills registers.
// - AVX-512: a 4×6 tile of 16 lanes (24 zmm), 4 + 6 loads per 24 FMAs. It runs where 512-bit FMAs have twice the
//   throughput of 256-bit ones (Zen 5, Intel's AVX-512 cores). Zen 4 executes a 512-bit FMA as two 256-bit halves,
//   and there this tile measured slower than the AVX2 one, so Zen 4 runs AVX2.
//
// Blocking: k is taken in blocks of at most kMaxDepth. Each block of x is copied once into tiles of MR rows
// interleaved by vector ([kc/LANES][MR][LANES], k zero-padded), so a tile is one contiguous stream, and the copy is
// shared by the threads that split the columns. Rows go in chunks whose packed slice stays in L2; within a chunk each
// group of NR weight rows (NR × kc, in L1) meets every tile in turn, while the next group is prefetched from DRAM.
#include "vlm_kernels.h"
#include "dispatch.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/// The register tile (MR rows of x × NR rows of w) and the vector width LANES of the AVX2 kernel; the portable
/// kernel uses the same packed layout.
enum { MR = 3, NR = 4, LANES = 8 };

/// A kernel's tile and packed layout.
typedef struct {
    int mr, nr, lanes;
} Shape;
static const Shape kShape8 = {MR, NR, LANES};
static const Shape kShape16 = {4, 6, 16};

/// A group of weight rows (NR × kc floats) should stay within L1 beside a tile of x (a chunk of rows of packed x
/// stays within `vlm_linear_l2_budget()` bytes of L2). Measured best on Zen 4 among
/// 768…3072 (a longer block amortises the tile's horizontal sums, a shorter one keeps the weights in L1).
static const ptrdiff_t kMaxDepth = 768;

size_t vlm_linear_l2_budget(void) {
    static atomic_long cached = 0;
    long budget = atomic_load_explicit(&cached, memory_order_relaxed);
    if (budget == 0) {
        // Half the core's L2 (the other half holds the weight rows streaming through and the outputs), as the C
        // library reads it from CPUID; 256 KB if it cannot say. 1 MB L2 (Zen 4/5): 512 KB; 512 KB L2 (Zen 2/3): 256 KB.
        const long l2 = sysconf(_SC_LEVEL2_CACHE_SIZE);
        budget = l2 > 0 ? l2 / 2 : 256 * 1024;
        budget = budget < 128 * 1024 ? 128 * 1024 : (budget > 2048 * 1024 ? 2048 * 1024 : budget);
        atomic_store_explicit(&cached, budget, memory_order_relaxed);
    }
    return (size_t)budget;
}

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
static ptrdiff_t padded_depth(ptrdiff_t kc, Shape s) { return (kc + s.lanes - 1) / s.lanes * s.lanes; }
static ptrdiff_t block_floats(ptrdiff_t m, ptrdiff_t kc, Shape s) {
    return (m + s.mr - 1) / s.mr * s.mr * padded_depth(kc, s);
}

/// Copies x[0..m, 0..kc] into tiles of s.mr rows, each stored as [kc/lanes][rows][lanes] with k zero-padded to whole
/// vectors. The tile of rows i… starts at i·padded_depth(kc).
static void pack_rows(const float *x, ptrdiff_t ldx, ptrdiff_t m, ptrdiff_t kc, float *packed, Shape s) {
    const int lanes = s.lanes;
    const ptrdiff_t whole = kc / lanes * lanes, padded = padded_depth(kc, s);
    for (ptrdiff_t i = 0; i < m; i += s.mr) {
        const ptrdiff_t rows = m - i < s.mr ? m - i : s.mr;
        for (ptrdiff_t r = 0; r < rows; r++) {
            const float *src = x + (i + r) * ldx;
            float *dst = packed + i * padded + r * lanes;
            // One vector per copy, of a size the compiler knows (a move or two): a size known only at run time
            // was a call into the C library per vector, 2.5 % of the encoder's time at batch 8.
            if (lanes == 16)
                for (ptrdiff_t p = 0; p < whole; p += 16, src += 16, dst += rows * 16) memcpy(dst, src, 64);
            else
                for (ptrdiff_t p = 0; p < whole; p += 8, src += 8, dst += rows * 8) memcpy(dst, src, 32);
            if (whole < kc)
                for (int q = 0; q < lanes; q++) dst[q] = whole + q < kc ? src[q] : 0;
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
    // Unrolled 4×: not unrolled, the loop's own pointer, counter and branch instructions held the tile to ~70 % of
    // the FMA peak on Zen 3 with both operands in L1 (~78 % unrolled) and the whole encoder 13–17 % slower. Each
    // accumulator still takes the same FMAs in the same order, so the sums are bit for bit the same.
#pragma clang loop unroll_count(4)
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

// MARK: - AVX-512 kernel

#define VLM_INLINE_AVX512 __attribute__((target("avx512f,avx2,fma"), always_inline)) static inline

/// The two 256-bit halves of v added.
VLM_INLINE_AVX512 __m256 fold512(__m512 v) {
    return _mm256_add_ps(_mm512_castps512_ps256(v), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
}

/// One mr×nr tile (mr ≤ 4, nr ≤ 6, constants after inlining) over kc steps of k, x packed 16 lanes wide.
VLM_INLINE_AVX512 void tile_avx512(const int mr, const int nr, const float *x, const float *w, ptrdiff_t ldw,
                                   ptrdiff_t kc, float *y, ptrdiff_t ldy, const float *bias, int add) {
    __m512 acc[4][6];
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 6; j++) acc[i][j] = _mm512_setzero_ps();
    ptrdiff_t p = 0;
    for (; p + 16 <= kc; p += 16, x += 16 * mr) {
        __m512 xv[4];
        for (int i = 0; i < mr; i++) xv[i] = _mm512_loadu_ps(x + i * 16);
        for (int j = 0; j < nr; j++) {
            __m512 wv = _mm512_loadu_ps(w + j * ldw + p);
            for (int i = 0; i < mr; i++) acc[i][j] = _mm512_fmadd_ps(xv[i], wv, acc[i][j]);
        }
    }
    if (p < kc) {  // x is zero-padded; only the weights need a mask
        const __mmask16 mask = (__mmask16)((1u << (kc - p)) - 1);
        __m512 xv[4];
        for (int i = 0; i < mr; i++) xv[i] = _mm512_loadu_ps(x + i * 16);
        for (int j = 0; j < nr; j++) {
            __m512 wv = _mm512_maskz_loadu_ps(mask, w + j * ldw + p);
            for (int i = 0; i < mr; i++) acc[i][j] = _mm512_fmadd_ps(xv[i], wv, acc[i][j]);
        }
    }
    for (int i = 0; i < mr; i++) {
        float s[8];
        _mm_storeu_ps(s, sum4_avx2(fold512(acc[i][0]), fold512(acc[i][1]), fold512(acc[i][2]), fold512(acc[i][3])));
        if (nr > 4) {
            const __m256 zero = _mm256_setzero_ps();
            _mm_storeu_ps(s + 4, sum4_avx2(fold512(acc[i][4]), fold512(acc[i][5]), zero, zero));
        }
        store_row(y + i * ldy, s, nr, bias, add);
    }
}

#define VLM_TILE_AVX512(MRC, NRC)                                                                                   \
    __attribute__((target("avx512f,avx2,fma"))) static void tile_avx512_##MRC##x##NRC(                             \
        const float *x, const float *w, ptrdiff_t ldw, ptrdiff_t kc, float *y, ptrdiff_t ldy, const float *bias,   \
        int add) {                                                                                                  \
        tile_avx512(MRC, NRC, x, w, ldw, kc, y, ldy, bias, add);                                                    \
    }
#define VLM_TILE_ROW_AVX512(MRC)                                                                                    \
    VLM_TILE_AVX512(MRC, 1) VLM_TILE_AVX512(MRC, 2) VLM_TILE_AVX512(MRC, 3) VLM_TILE_AVX512(MRC, 4)                 \
    VLM_TILE_AVX512(MRC, 5) VLM_TILE_AVX512(MRC, 6)
VLM_TILE_ROW_AVX512(1) VLM_TILE_ROW_AVX512(2) VLM_TILE_ROW_AVX512(3) VLM_TILE_ROW_AVX512(4)

static const TileFn kTilesAVX512[4 * 6] = {
    tile_avx512_1x1, tile_avx512_1x2, tile_avx512_1x3, tile_avx512_1x4, tile_avx512_1x5, tile_avx512_1x6,
    tile_avx512_2x1, tile_avx512_2x2, tile_avx512_2x3, tile_avx512_2x4, tile_avx512_2x5, tile_avx512_2x6,
    tile_avx512_3x1, tile_avx512_3x2, tile_avx512_3x3, tile_avx512_3x4, tile_avx512_3x5, tile_avx512_3x6,
    tile_avx512_4x1, tile_avx512_4x2, tile_avx512_4x3, tile_avx512_4x4, tile_avx512_4x5, tile_avx512_4x6,
};

#endif

// MARK: - Dispatch

typedef enum { ISA_PORTABLE, ISA_AVX2, ISA_AVX512 } Isa;

/// The best fp32 kernel this CPU has (detected once): AVX-512 where its 512-bit FMAs are full width, else AVX2+FMA
/// where present. Zen 4 (AMD family 19h) has AVX-512 but runs it in two 256-bit halves: it gets AVX2.
static Isa cpu_isa(void) {
#if defined(__x86_64__) || defined(__i386__)
    static atomic_int cached = -1;
    int value = atomic_load_explicit(&cached, memory_order_relaxed);
    if (value < 0) {
        __builtin_cpu_init();
        value = ISA_PORTABLE;
        if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
            value = ISA_AVX2;
            unsigned eax, ebx, ecx, edx;
            __asm__("cpuid" : "=a"(eax), "=b"(ebx), "=c"(ecx), "=d"(edx) : "a"(1), "c"(0));
            const unsigned base = (eax >> 8) & 0xf;
            const unsigned family = base + (base == 0xf ? (eax >> 20) & 0xff : 0);
            const int zen4 = __builtin_cpu_is("amd") && family == 0x19;
            if (__builtin_cpu_supports("avx512f") && !zen4) value = ISA_AVX512;
        }
        atomic_store_explicit(&cached, value, memory_order_relaxed);
    }
    return (Isa)value;
#else
    return ISA_PORTABLE;
#endif
}

/// The calling thread's choice (set by its caller for itself and the regions it starts; see vlm_kernels.h).
static _Thread_local int thread_choice = VLM_KERNELS_NATIVE;

int vlm_kernels_set_choice(int choice) {
    const int previous = thread_choice;
    thread_choice = choice;
    return previous;
}

static Isa detect_isa(void) {
    const Isa best = cpu_isa();
    switch (thread_choice) {
    case VLM_KERNELS_PORTABLE: return ISA_PORTABLE;
    case VLM_KERNELS_AVX2: return best > ISA_AVX2 ? ISA_AVX2 : best;
    default: return best;
    }
}

int vlm_use_avx2(void) { return detect_isa() >= ISA_AVX2; }

/// Whether the CPU has AVX-512F, for the panel kernel: on Zen 4 too, whose 512-bit FMAs run in two halves but whose
/// panel tile still outruns the AVX2 dot-product tile (linear_panels.c). `cpu_isa` ran `__builtin_cpu_init`.
static int cpu_avx512f(void) {
#if defined(__x86_64__)
    return cpu_isa() >= ISA_AVX2 && __builtin_cpu_supports("avx512f");
#else
    return 0;
#endif
}

int vlm_panels_run(void) { return thread_choice == VLM_KERNELS_NATIVE && cpu_avx512f(); }

const char *vlm_kernels_isa(void) {
    switch (detect_isa()) {
    case ISA_AVX512: return "avx512f";
    case ISA_AVX2: return "avx2+fma";
    default: return "portable";
    }
}

/// The calling thread's tiles for an m-row input, indexed [(mr − 1)·nr + nr − 1] of its shape, or NULL for the
/// portable kernel. Fewer rows than one AVX-512 tile (a decoder step, m = 1) run the AVX2 tile: GIT's 20-token
/// caption step measured 6.6 ms on the 4×6 AVX-512 tile and 4.8 ms on the 3×4 AVX2 one (Zen 5).
static const TileFn *thread_tiles(ptrdiff_t m, Shape *shape) {
    *shape = kShape8;
#if defined(__x86_64__) || defined(__i386__)
    switch (detect_isa()) {
    case ISA_AVX512:
        if (m < kShape16.mr) return kTilesAVX2;
        *shape = kShape16;
        return kTilesAVX512;
    case ISA_AVX2: return kTilesAVX2;
    default: break;
    }
#endif
    return NULL;
}

// MARK: - Driver

size_t vlm_packed_count(ptrdiff_t m, ptrdiff_t k) {
    Shape shape;
    thread_tiles(m, &shape);
    const ptrdiff_t depth = vlm_linear_block_depth(k);
    size_t total = 0;
    for (ptrdiff_t kb = 0; kb < k; kb += depth)
        total += (size_t)block_floats(m, k - kb < depth ? k - kb : depth, shape);
    return total;
}

int vlm_pack_tile_rows(ptrdiff_t m) {
    Shape shape;
    thread_tiles(m, &shape);
    return shape.mr;
}

void vlm_pack(const float *x, ptrdiff_t ldx, ptrdiff_t m, ptrdiff_t k, ptrdiff_t row0, ptrdiff_t row1,
              float *packed) {
    Shape shape;
    thread_tiles(m, &shape);
    const ptrdiff_t depth = vlm_linear_block_depth(k);
    row1 = row1 < m ? row1 : m;
    if (row0 >= row1) return;
    for (ptrdiff_t kb = 0; kb < k; kb += depth) {
        const ptrdiff_t kc = k - kb < depth ? k - kb : depth;
        // rows row0 ..< row1 of this block (row0 is a whole number of tiles)
        pack_rows(x + row0 * ldx + kb, ldx, row1 - row0, kc, packed + row0 * padded_depth(kc, shape), shape);
        packed += block_floats(m, kc, shape);
    }
}

/// Columns [n0, n1) of rows [i0, i1) (whole tiles) for one k-block.
static void linear_chunk(const TileFn *tiles, Shape shape, const float *packed, ptrdiff_t m, ptrdiff_t i0,
                         ptrdiff_t i1, ptrdiff_t kc, const float *w, ptrdiff_t ldw, const float *bias, float *y,
                         ptrdiff_t ldy, ptrdiff_t n0, ptrdiff_t n1, int add) {
    const int MRS = shape.mr, NRS = shape.nr;
    const ptrdiff_t padded = padded_depth(kc, shape);
    const ptrdiff_t tile_count = (i1 - i0 + MRS - 1) / MRS;
    for (ptrdiff_t j = n0; j < n1; j += NRS) {
        const int nr = n1 - j < NRS ? (int)(n1 - j) : NRS;
        const float *wj = w + j * ldw;
        const float *bj = bias ? bias + j : NULL;
        // The next group of weight rows comes from DRAM (a checkpoint is far larger than the caches). Without the
        // prefetch the kernel ran ~15 % slower at m = 50 and ~5 % at m = 400.
        const ptrdiff_t next_rows = n1 - (j + nr) < NRS ? n1 - (j + nr) : NRS;
        const ptrdiff_t row_bytes = kc * (ptrdiff_t)sizeof(float), stride = ldw * (ptrdiff_t)sizeof(float);
        VLMPrefetch prefetch = vlm_prefetch_rows(wj + (ptrdiff_t)nr * ldw, stride, next_rows, row_bytes, tile_count);
        for (ptrdiff_t i = i0; i < i1; i += MRS) {
            vlm_prefetch_step(&prefetch);
            const int mr = m - i < MRS ? (int)(m - i) : MRS;
            if (tiles) {
                tiles[(mr - 1) * NRS + (nr - 1)](packed + i * padded, wj, ldw, kc, y + i * ldy + j, ldy, bj, add);
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
        vlm_linear_empty(m, bias, y, ldy, n0, n1, accumulate);
        return;
    }
    Shape shape;
    const TileFn *tiles = thread_tiles(m, &shape);
    const ptrdiff_t depth = vlm_linear_block_depth(k);
    for (ptrdiff_t kb = 0; kb < k; kb += depth) {
        const ptrdiff_t kc = k - kb < depth ? k - kb : depth;
        // Rows in equal chunks of whole tiles whose packed slice stays in L2; the weights are re-read per chunk,
        // from L3 after the first.
        const ptrdiff_t budget_rows =
            (ptrdiff_t)vlm_linear_l2_budget() / (ptrdiff_t)(sizeof(float) * padded_depth(kc, shape));
        const ptrdiff_t chunks = (m + budget_rows - 1) / (budget_rows > shape.mr ? budget_rows : shape.mr);
        const ptrdiff_t chunk = ((m + chunks - 1) / chunks + shape.mr - 1) / shape.mr * shape.mr;
        for (ptrdiff_t i0 = 0; i0 < m; i0 += chunk)
            linear_chunk(tiles, shape, packed, m, i0, i0 + chunk < m ? i0 + chunk : m, kc, w + kb, ldw,
                         kb == 0 ? bias : NULL, y, ldy, n0, n1, accumulate || kb > 0);
        packed += block_floats(m, kc, shape);
    }
}

// MARK: - Narrow products (a few input columns)
//
// y += x·wᵀ over a few input columns (64 at a time): an int8 layer's outlier channels (x_o · W[:, channels]ᵀ),
// attention's carried values ((P·x_o) · Mᵀ). The dot-product tile would end every 12 outputs with a horizontal sum
// after c/8 steps; here the outputs are the vector lanes instead: each block of 64 weight rows is transposed once
// into wᵀ (c × 64, on the stack), then every row of y takes c broadcast-FMAs per 8 outputs, its block loaded and
// stored once.

enum { NARROW_BLOCK = 64, NARROW_MAX = 64 };

/// wt[q·64 + j] = w[(j0 + j)·ldw + q] for j < cols (zero beyond), q < c.
static void narrow_transpose(const float *w, ptrdiff_t ldw, ptrdiff_t j0, int cols, ptrdiff_t c, float *wt) {
    for (ptrdiff_t q = 0; q < c; q++)
        for (int j = 0; j < NARROW_BLOCK; j++) wt[q * NARROW_BLOCK + j] = j < cols ? w[(j0 + j) * ldw + q] : 0;
}

static void narrow_rows_portable(const float *x, ptrdiff_t ldx, ptrdiff_t m, ptrdiff_t c, const float *wt, float *y,
                                 ptrdiff_t ldy, int cols) {
    for (ptrdiff_t i = 0; i < m; i++)
        for (int j = 0; j < cols; j++) {
            float v = y[i * ldy + j];
            for (ptrdiff_t q = 0; q < c; q++) v += x[i * ldx + q] * wt[q * NARROW_BLOCK + j];
            y[i * ldy + j] = v;
        }
}

#if defined(__x86_64__) || defined(__i386__)
/// Rows of y × a whole block of 64 columns: two rows at a time, 32 columns per pass (8 accumulators), the same
/// FMAs in the same order for every output.
__attribute__((target("avx2,fma"))) static void narrow_rows_avx2(const float *x, ptrdiff_t ldx, ptrdiff_t m,
                                                                  ptrdiff_t c, const float *wt, float *y,
                                                                  ptrdiff_t ldy) {
    ptrdiff_t i = 0;
    for (; i + 2 <= m; i += 2)
        for (int h = 0; h < NARROW_BLOCK; h += 32) {
            float *y0 = y + i * ldy + h, *y1 = y0 + ldy;
            __m256 a[2][4];
            for (int v = 0; v < 4; v++) a[0][v] = _mm256_loadu_ps(y0 + 8 * v), a[1][v] = _mm256_loadu_ps(y1 + 8 * v);
            for (ptrdiff_t q = 0; q < c; q++) {
                const __m256 b0 = _mm256_broadcast_ss(x + i * ldx + q), b1 = _mm256_broadcast_ss(x + (i + 1) * ldx + q);
                for (int v = 0; v < 4; v++) {
                    const __m256 wv = _mm256_load_ps(wt + q * NARROW_BLOCK + h + 8 * v);
                    a[0][v] = _mm256_fmadd_ps(b0, wv, a[0][v]);
                    a[1][v] = _mm256_fmadd_ps(b1, wv, a[1][v]);
                }
            }
            for (int v = 0; v < 4; v++) _mm256_storeu_ps(y0 + 8 * v, a[0][v]), _mm256_storeu_ps(y1 + 8 * v, a[1][v]);
        }
    for (; i < m; i++)
        for (int h = 0; h < NARROW_BLOCK; h += 32) {
            float *y0 = y + i * ldy + h;
            __m256 a[4];
            for (int v = 0; v < 4; v++) a[v] = _mm256_loadu_ps(y0 + 8 * v);
            for (ptrdiff_t q = 0; q < c; q++) {
                const __m256 b0 = _mm256_broadcast_ss(x + i * ldx + q);
                for (int v = 0; v < 4; v++)
                    a[v] = _mm256_fmadd_ps(b0, _mm256_load_ps(wt + q * NARROW_BLOCK + h + 8 * v), a[v]);
            }
            for (int v = 0; v < 4; v++) _mm256_storeu_ps(y0 + 8 * v, a[v]);
        }
}
#endif

void vlm_linear_narrow(const float *x, ptrdiff_t ldx, ptrdiff_t m, ptrdiff_t c, const float *w, ptrdiff_t ldw,
                       float *y, ptrdiff_t ldy, ptrdiff_t n0, ptrdiff_t n1) {
    if (m <= 0 || n1 <= n0 || c <= 0) return;
    _Alignas(64) float wt[NARROW_MAX * NARROW_BLOCK];
    for (ptrdiff_t j0 = n0; j0 < n1; j0 += NARROW_BLOCK) {
        const int cols = n1 - j0 < NARROW_BLOCK ? (int)(n1 - j0) : NARROW_BLOCK;
        // More than 64 columns: 64 at a time, each slice's products added in turn (the sum is the same).
        for (ptrdiff_t q0 = 0; q0 < c; q0 += NARROW_MAX) {
            const ptrdiff_t cq = c - q0 < NARROW_MAX ? c - q0 : NARROW_MAX;
            narrow_transpose(w + q0, ldw, j0, cols, cq, wt);
#if defined(__x86_64__) || defined(__i386__)
            if (cols == NARROW_BLOCK && vlm_use_avx2()) {
                narrow_rows_avx2(x + q0, ldx, m, cq, wt, y + j0, ldy);
                continue;
            }
#endif
            narrow_rows_portable(x + q0, ldx, m, cq, wt, y + j0, ldy, cols);
        }
    }
}
