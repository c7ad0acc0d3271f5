// y = x·wᵀ with int8 weights (one fp32 scale per output row) and activations quantized per row at run time.
//
// The scheme (documented in vlm_kernels.h and docs/encoder.md):
//   - weight row j: w_q[j, p] ∈ [−127, 127] (any int8 is accepted), w ≈ s_w[j] · w_q[j, p];
//   - activation row i: s_x[i] = max_p |x[i, p]| / 127, q[i, p] = round(x[i, p] / s_x[i]) ∈ [−127, 127], stored as the
//     unsigned byte u = q + 128 ∈ [1, 255], so that it can be the unsigned operand of `vpdpbusd`;
//   - Σ_p q·w = Σ_p u·w − 128 · Σ_p w, with Σ_p w[j, p] precomputed once per weight row (`w_sums`).
//   - or, asymmetric (`vlm_q8_pack_zp`): the row's range [lo, hi] (holding 0) in 255 steps, s_x = (hi − lo)/255,
//     u = round(x/s_x) + z ∈ [0, 255] with the row's zero point z = round(−lo/s_x), and Σ_p (u − z)·w exact likewise:
//     one more bit for a one-sided row such as GELU's output.
//   - y[i, j] = s_x[i] · s_w[j] · (Σ_p u·w − 128 · w_sums[j]) (+ bias[j]) (+ y[i, j]).
// Every product u·w lies in [−32640, 32385], so `vpmaddubsw`'s saturating 16-bit pair sums (up to ±65280) could
// overflow: the kernels never use it. With VNNI (`vpdpbusd`, AVX-VNNI or AVX512-VNNI + VL) four products are summed
// straight into 32 bits; without it the AVX2 kernel widens both operands to 16 bits and multiplies with
// `vpmaddwd`, whose pair sums (at most 2 · 32640) fit in 32 bits. Both, and the portable C, compute the same exact
// int32 sums, so the results are identical on every CPU; the sums cannot overflow while k < 65793.
//
// Layout: the row-major kernels read the weights in place (a memory-mapped int8 checkpoint needs no copy), row
// stride ldw. x is quantized into tiles of MR rows stored as [k/32][MR][32] bytes (k zero-padded: a zero byte adds
// nothing), the same tile shape as the fp32 kernel, so each output is a dot product of two contiguous streams and the
// micro-kernel keeps an MR×NR tile of 8-lane int32 sums in registers. With AVX512-VNNI the weights are repacked once
// into panels instead and x stays row-major (see "Weight panels" below).
#include "vlm_kernels.h"
#include "dispatch.h"

#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#if defined(__x86_64__)
#include <xmmintrin.h>
#endif

/// lrintf (round half to even in the default rounding mode) without a library call: `cvtss2si` on x86-64, whose
/// rounding is the same; |v| stays far below 2^31 here (a NaN gives INT_MIN, which the callers clamp).
static inline long q8_round(float v) {
#if defined(__x86_64__)
    return _mm_cvtss_si32(_mm_set_ss(v));
#else
    return lrintf(v);
#endif
}

enum { QMR = 3, QNR = 4, QLANES = 32 };

/// Packed x's rows per chunk stay within this many bytes of L2.
static const ptrdiff_t kQ8L2Budget = 384 * 1024;

static ptrdiff_t q8_padded_depth(ptrdiff_t k) { return (k + QLANES - 1) / QLANES * QLANES; }

size_t vlm_q8_packed_bytes(ptrdiff_t m, ptrdiff_t k) {
    return (size_t)((m + QMR - 1) / QMR * QMR) * (size_t)q8_padded_depth(k);
}

int vlm_q8_tile_rows(void) { return QMR; }

/// One row of x into its packed tile: for each group of 32 columns (k zero-padded to `padded`), the bytes
/// u = clamp(round-half-even(x · inverse) + add, lo, 255) at dst, then dst += step. Zero bytes pad the tail.
static void q8_row_portable(const float *src, ptrdiff_t k, ptrdiff_t padded, float inverse, int add, int lo,
                            uint8_t *dst, ptrdiff_t step) {
    for (ptrdiff_t p = 0; p < padded; p += QLANES, dst += step) {
        for (int q = 0; q < QLANES; q++) {
            if (p + q < k) {
                const long v = q8_round(src[p + q] * inverse) + add;  // a NaN's INT_MIN ends at lo
                dst[q] = (uint8_t)(v > 255 ? 255 : (v < lo ? lo : v));
            } else {
                dst[q] = 0;
            }
        }
    }
}

/// The row's range with 0 in it: lo = min(0, min x), hi = max(0, max x); NaNs are passed over.
static void q8_range_portable(const float *src, ptrdiff_t k, float *lo, float *hi) {
    float l = 0, h = 0;
    for (ptrdiff_t p = 0; p < k; p++) {
        l = src[p] < l ? src[p] : l;
        h = src[p] > h ? src[p] : h;
    }
    *lo = l;
    *hi = h;
}

/// max |x| over the row; NaNs are passed over.
static float q8_maxabs_portable(const float *src, ptrdiff_t k) {
    float maxabs = 0;
    for (ptrdiff_t p = 0; p < k; p++) maxabs = fmaxf(maxabs, fabsf(src[p]));
    return maxabs;
}

/// The most capable int8 code the calling thread may use (3: any; see vlm_q8_limit_kernel); the packing uses AVX2
/// at 1 and above.
static _Thread_local int q8_limit = 3;

#if defined(__x86_64__)
#include <immintrin.h>

/// `q8_row_portable` with AVX2, the same bytes: `vcvtps2dq` rounds half to even as `cvtss2si` does (and gives
/// INT_MIN for a NaN), the packs saturate to [0, 255] as the clamp does, then max with lo.
__attribute__((target("avx2"))) static void q8_row_avx2(const float *src, ptrdiff_t k, ptrdiff_t padded,
                                                       float inverse, int add, int lo, uint8_t *dst,
                                                       ptrdiff_t step) {
    const __m256 scale = _mm256_set1_ps(inverse);
    const __m256i offset = _mm256_set1_epi32(add);
    const __m256i floor = _mm256_set1_epi8((char)lo);
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    ptrdiff_t p = 0;
    for (; p + QLANES <= k; p += QLANES, dst += step) {
        __m256i v[4];
        for (int g = 0; g < 4; g++) {
            const __m256 x = _mm256_mul_ps(_mm256_loadu_ps(src + p + 8 * g), scale);
            v[g] = _mm256_add_epi32(_mm256_cvtps_epi32(x), offset);
        }
        // packs work per 128-bit lane: the 4-byte groups come out as a0 b0 c0 d0 a1 b1 c1 d1 (x0: elements 0–3 of
        // x, x1: 4–7); the permutation puts them back in column order.
        const __m256i bytes = _mm256_packus_epi16(_mm256_packs_epi32(v[0], v[1]), _mm256_packs_epi32(v[2], v[3]));
        _mm256_storeu_si256((__m256i *)dst, _mm256_max_epu8(_mm256_permutevar8x32_epi32(bytes, order), floor));
    }
    if (p < padded) q8_row_portable(src + p, k - p, padded - p, inverse, add, lo, dst, step);
}

/// `q8_range_portable` with AVX2, the same result: `vminps(x, m)` is `x < m ? x : m` lane by lane (m when x is
/// NaN), and min and max are exact, so the lanes' order does not matter (a −0 never replaces the starting +0, as in
/// the scalar loop).
__attribute__((target("avx2"))) static void q8_range_avx2(const float *src, ptrdiff_t k, float *lo, float *hi) {
    __m256 low[4], high[4];
    for (int g = 0; g < 4; g++) low[g] = high[g] = _mm256_setzero_ps();
    ptrdiff_t p = 0;
    for (; p + 32 <= k; p += 32) {
        for (int g = 0; g < 4; g++) {
            const __m256 x = _mm256_loadu_ps(src + p + 8 * g);
            low[g] = _mm256_min_ps(x, low[g]);
            high[g] = _mm256_max_ps(x, high[g]);
        }
    }
    for (; p + 8 <= k; p += 8) {
        const __m256 x = _mm256_loadu_ps(src + p);
        low[0] = _mm256_min_ps(x, low[0]);
        high[0] = _mm256_max_ps(x, high[0]);
    }
    float lanes[2][8];
    _mm256_storeu_ps(lanes[0], _mm256_min_ps(_mm256_min_ps(low[0], low[1]), _mm256_min_ps(low[2], low[3])));
    _mm256_storeu_ps(lanes[1], _mm256_max_ps(_mm256_max_ps(high[0], high[1]), _mm256_max_ps(high[2], high[3])));
    float l, h;  // the tail's range, then the lanes'
    q8_range_portable(src + p, k - p, &l, &h);
    for (int q = 0; q < 8; q++) {
        l = lanes[0][q] < l ? lanes[0][q] : l;
        h = lanes[1][q] > h ? lanes[1][q] : h;
    }
    *lo = l;
    *hi = h;
}

/// `q8_maxabs_portable` with AVX2, the same result: |x| by clearing the sign bit, and `vmaxps(|x|, m)` keeps m for
/// a NaN as fmaxf does.
__attribute__((target("avx2"))) static float q8_maxabs_avx2(const float *src, ptrdiff_t k) {
    const __m256 magnitude = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    __m256 m[4];
    for (int g = 0; g < 4; g++) m[g] = _mm256_setzero_ps();
    ptrdiff_t p = 0;
    for (; p + 32 <= k; p += 32) {
        for (int g = 0; g < 4; g++) {
            m[g] = _mm256_max_ps(_mm256_and_ps(_mm256_loadu_ps(src + p + 8 * g), magnitude), m[g]);
        }
    }
    for (; p + 8 <= k; p += 8) m[0] = _mm256_max_ps(_mm256_and_ps(_mm256_loadu_ps(src + p), magnitude), m[0]);
    float lanes[8];
    _mm256_storeu_ps(lanes, _mm256_max_ps(_mm256_max_ps(m[0], m[1]), _mm256_max_ps(m[2], m[3])));
    float maxabs = q8_maxabs_portable(src + p, k - p);  // the tail's, then the lanes'
    for (int q = 0; q < 8; q++) maxabs = fmaxf(maxabs, lanes[q]);
    return maxabs;
}
#endif

static void q8_range(const float *src, ptrdiff_t k, float *lo, float *hi) {
#if defined(__x86_64__)
    if (vlm_use_avx2() && q8_limit >= 1) {
        q8_range_avx2(src, k, lo, hi);
        return;
    }
#endif
    q8_range_portable(src, k, lo, hi);
}

static float q8_maxabs(const float *src, ptrdiff_t k) {
#if defined(__x86_64__)
    if (vlm_use_avx2() && q8_limit >= 1) return q8_maxabs_avx2(src, k);
#endif
    return q8_maxabs_portable(src, k);
}

static void q8_row(const float *src, ptrdiff_t k, ptrdiff_t padded, float inverse, int add, int lo, uint8_t *dst,
                   ptrdiff_t step) {
#if defined(__x86_64__)
    if (vlm_use_avx2() && q8_limit >= 1) {
        q8_row_avx2(src, k, padded, inverse, add, lo, dst, step);
        return;
    }
#endif
    q8_row_portable(src, k, padded, inverse, add, lo, dst, step);
}

void vlm_q8_pack(const float *x, ptrdiff_t ldx, ptrdiff_t m, ptrdiff_t k, ptrdiff_t row0, ptrdiff_t row1,
                 ptrdiff_t tile_rows, uint8_t *packed, float *row_scales) {
    const ptrdiff_t padded = q8_padded_depth(k);
    row1 = row1 < m ? row1 : m;
    for (ptrdiff_t i = row0; i < row1; i++) {
        const float *src = x + i * ldx;
        const float maxabs = q8_maxabs(src, k);
        const float inverse = maxabs > 0 ? 127.0f / maxabs : 0;
        row_scales[i] = maxabs / 127.0f;
        const ptrdiff_t tile = i / tile_rows * tile_rows;
        const ptrdiff_t rows = m - tile < tile_rows ? m - tile : tile_rows;
        // u = clamp(round(x / s), −127, 127) + 128 = clamp(round(x / s) + 128, 1, 255)
        q8_row(src, k, padded, inverse, 128, 1, packed + tile * padded + (i - tile) * QLANES, rows * QLANES);
    }
}

void vlm_q8_pack_zp(const float *x, ptrdiff_t ldx, ptrdiff_t m, ptrdiff_t k, ptrdiff_t row0, ptrdiff_t row1,
                    ptrdiff_t tile_rows, uint8_t *packed, float *row_scales, int32_t *row_zero) {
    const ptrdiff_t padded = q8_padded_depth(k);
    row1 = row1 < m ? row1 : m;
    for (ptrdiff_t i = row0; i < row1; i++) {
        const float *src = x + i * ldx;
        float lo, hi;  // the range always holds 0, so the zero point is in [0, 255]
        q8_range(src, k, &lo, &hi);
        const float scale = (hi - lo) / 255.0f;
        const float inverse = scale > 0 ? 1.0f / scale : 0;
        long zero = scale > 0 ? q8_round(-lo * inverse) : 128;
        zero = zero < 0 ? 0 : (zero > 255 ? 255 : zero);
        row_scales[i] = scale;
        row_zero[i] = (int32_t)zero;
        const ptrdiff_t tile = i / tile_rows * tile_rows;
        const ptrdiff_t rows = m - tile < tile_rows ? m - tile : tile_rows;
        q8_row(src, k, padded, inverse, (int)zero, 0, packed + tile * padded + (i - tile) * QLANES, rows * QLANES);
    }
}

/// A weight's value at column p of `row`, times column_scales[p] when given.
static inline float q8_weight(const float *row, const float *column_scales, ptrdiff_t p) {
    return column_scales ? row[p] * column_scales[p] : row[p];
}

/// The largest magnitude in a weight row (scaled per column when column_scales is given).
static float q8_row_maxabs(const float *row, const float *column_scales, ptrdiff_t k) {
    float maxabs = 0;
    for (ptrdiff_t p = 0; p < k; p++) maxabs = fmaxf(maxabs, fabsf(q8_weight(row, column_scales, p)));
    return maxabs;
}

/// Columns [p0, p0 + count) of a weight row whose largest magnitude is `maxabs`, to q ∈ [−127, 127].
static void q8_quantize_row(const float *row, const float *column_scales, ptrdiff_t p0, ptrdiff_t count, float maxabs,
                            int8_t *q) {
    const float inverse = maxabs > 0 ? 127.0f / maxabs : 0;
    for (ptrdiff_t p = 0; p < count; p++) {
        long v = lrintf(q8_weight(row, column_scales, p0 + p) * inverse);
        q[p] = (int8_t)(v > 127 ? 127 : (v < -127 ? -127 : v));
    }
}

void vlm_q8_quantize_weights(const float *w, ptrdiff_t n, ptrdiff_t k, const float *column_scales, int8_t *q,
                             float *scales) {
    for (ptrdiff_t j = 0; j < n; j++) {
        const float maxabs = q8_row_maxabs(w + j * k, column_scales, k);
        scales[j] = maxabs / 127.0f;
        q8_quantize_row(w + j * k, column_scales, 0, k, maxabs, q + j * k);
    }
}

void vlm_q8_weight_sums(const int8_t *w, ptrdiff_t ldw, ptrdiff_t n, ptrdiff_t k, int32_t *sums) {
    for (ptrdiff_t j = 0; j < n; j++) {
        int32_t s = 0;
        for (ptrdiff_t p = 0; p < k; p++) s += w[j * ldw + p];
        sums[j] = s;
    }
}

/// Rows of packed x per chunk (a multiple of tile_rows): about equal chunks of at most kQ8L2Budget bytes
/// (row_bytes each), so that a chunk stays in L2 while every group of weight rows or panel meets it.
static ptrdiff_t q8_row_chunk(ptrdiff_t m, ptrdiff_t row_bytes, ptrdiff_t tile_rows) {
    const ptrdiff_t budget_rows = kQ8L2Budget / (row_bytes > 0 ? row_bytes : 1);
    const ptrdiff_t chunks = (m + budget_rows - 1) / (budget_rows > tile_rows ? budget_rows : tile_rows);
    return ((m + chunks - 1) / chunks + tile_rows - 1) / tile_rows * tile_rows;
}

/// The scalar epilogue of one row of a tile, `count` columns from j: dot = sums − zero · w_sums (Σ (u − zero)·w,
/// exact) into `exact` when given, else y = (s_x · s_w) · dot + bias (+ y when accumulating). The vector epilogues
/// do the same operations in the same order, so the same floats.
static void q8_store_row(const int32_t *sums, int count, ptrdiff_t j, float row_scale, int32_t zero,
                         const float *w_scales, const int32_t *w_sums, const float *bias, float *y, int32_t *exact,
                         int accumulate) {
    for (int c = 0; c < count; c++) {
        const int32_t dot = sums[c] - zero * w_sums[j + c];
        if (exact) {
            exact[c] = dot;
            continue;
        }
        const float v = row_scale * w_scales[j + c] * (float)dot + (bias ? bias[j + c] : 0);
        y[c] = accumulate ? y[c] + v : v;
    }
}

/// A tile's exact sums s[i][j] = Σ_p u[i, p] · w[j, p] (before the offset correction).
typedef void (*Q8TileFn)(const uint8_t *, const int8_t *, ptrdiff_t, ptrdiff_t, int32_t (*)[QNR]);

// MARK: - Portable kernel

static void q8_tile_portable(int mr, int nr, const uint8_t *x, const int8_t *w, ptrdiff_t ldw, ptrdiff_t k,
                             int32_t s[QMR][QNR]) {
    for (int i = 0; i < mr; i++)
        for (int j = 0; j < nr; j++) {
            const int8_t *wj = w + j * ldw;
            int32_t sum = 0;
            for (ptrdiff_t p = 0; p < k; p++) sum += (int32_t)x[(p / QLANES) * QLANES * mr + i * QLANES + p % QLANES] * wj[p];
            s[i][j] = sum;
        }
}

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

/// 32 weight bytes at w, or the n < 32 that remain followed by zeros (never reads past the row: the last row of a
/// mapped file may end at the page).
#define VLM_Q8_LOAD_TAIL(w, n, out)                                                                                  \
    do {                                                                                                             \
        int8_t tail_[32] = {0};                                                                                      \
        memcpy(tail_, (w), (size_t)(n));                                                                             \
        (out) = _mm256_loadu_si256((const __m256i *)tail_);                                                          \
    } while (0)

/// The body shared by the three x86 kernels: MADD(acc, xv, wv) adds 32 products u·w into 8 int32 lanes.
#define VLM_Q8_TILE_BODY(MADD)                                                                                       \
    __m256i acc[QMR][QNR];                                                                                           \
    for (int i = 0; i < QMR; i++)                                                                                    \
        for (int j = 0; j < QNR; j++) acc[i][j] = _mm256_setzero_si256();                                           \
    ptrdiff_t p = 0;                                                                                                 \
    for (; p + 32 <= k; p += 32, x += 32 * mr) {                                                                     \
        __m256i xv[QMR];                                                                                             \
        for (int i = 0; i < mr; i++) xv[i] = _mm256_load_si256((const __m256i *)(x + i * 32));                      \
        for (int j = 0; j < nr; j++) {                                                                               \
            __m256i wv = _mm256_loadu_si256((const __m256i *)(w + j * ldw + p));                                    \
            for (int i = 0; i < mr; i++) MADD(acc[i][j], xv[i], wv);                                                 \
        }                                                                                                            \
    }                                                                                                                \
    if (p < k) {                                                                                                     \
        __m256i xv[QMR];                                                                                             \
        for (int i = 0; i < mr; i++) xv[i] = _mm256_load_si256((const __m256i *)(x + i * 32));                      \
        for (int j = 0; j < nr; j++) {                                                                               \
            __m256i wv;                                                                                              \
            VLM_Q8_LOAD_TAIL(w + j * ldw + p, k - p, wv);                                                            \
            for (int i = 0; i < mr; i++) MADD(acc[i][j], xv[i], wv);                                                 \
        }                                                                                                            \
    }                                                                                                                \
    for (int i = 0; i < mr; i++) {                                                                                   \
        __m256i ab = _mm256_hadd_epi32(acc[i][0], acc[i][1]), cd = _mm256_hadd_epi32(acc[i][2], acc[i][3]);        \
        __m256i abcd = _mm256_hadd_epi32(ab, cd);                                                                    \
        __m128i sums = _mm_add_epi32(_mm256_castsi256_si128(abcd), _mm256_extracti128_si256(abcd, 1));              \
        _mm_storeu_si128((__m128i *)s[i], sums);                                                                     \
    }

// AVX2 without VNNI: widen u8 → i16 and i8 → i16, then vpmaddwd (pair sums ≤ 65280 in magnitude, exact in i32).
#define VLM_Q8_MADD_AVX2(acc, xv, wv)                                                                                \
    do {                                                                                                             \
        __m256i xl_ = _mm256_cvtepu8_epi16(_mm256_castsi256_si128(xv));                                              \
        __m256i xh_ = _mm256_cvtepu8_epi16(_mm256_extracti128_si256(xv, 1));                                         \
        __m256i wl_ = _mm256_cvtepi8_epi16(_mm256_castsi256_si128(wv));                                              \
        __m256i wh_ = _mm256_cvtepi8_epi16(_mm256_extracti128_si256(wv, 1));                                         \
        (acc) = _mm256_add_epi32((acc), _mm256_add_epi32(_mm256_madd_epi16(xl_, wl_), _mm256_madd_epi16(xh_, wh_))); \
    } while (0)
#define VLM_Q8_MADD_VNNI512(acc, xv, wv) ((acc) = _mm256_dpbusd_epi32((acc), (xv), (wv)))
#define VLM_Q8_MADD_AVXVNNI(acc, xv, wv) ((acc) = _mm256_dpbusd_avx_epi32((acc), (xv), (wv)))

#define VLM_Q8_INLINE(TARGET) __attribute__((target(TARGET), always_inline)) static inline

VLM_Q8_INLINE("avx2") void q8_tile_avx2(const int mr, const int nr, const uint8_t *x, const int8_t *w, ptrdiff_t ldw,
                                        ptrdiff_t k, int32_t s[QMR][QNR]) {
    VLM_Q8_TILE_BODY(VLM_Q8_MADD_AVX2)
}
VLM_Q8_INLINE("avx2,avx512vnni,avx512vl") void q8_tile_vnni512(const int mr, const int nr, const uint8_t *x,
                                                             const int8_t *w, ptrdiff_t ldw, ptrdiff_t k,
                                                             int32_t s[QMR][QNR]) {
    VLM_Q8_TILE_BODY(VLM_Q8_MADD_VNNI512)
}
VLM_Q8_INLINE("avx2,avxvnni") void q8_tile_avxvnni(const int mr, const int nr, const uint8_t *x, const int8_t *w,
                                                 ptrdiff_t ldw, ptrdiff_t k, int32_t s[QMR][QNR]) {
    VLM_Q8_TILE_BODY(VLM_Q8_MADD_AVXVNNI)
}

#define VLM_Q8_TILE(NAME, TARGET, MRC, NRC)                                                                          \
    __attribute__((target(TARGET))) static void q8_##NAME##_##MRC##x##NRC(                                           \
        const uint8_t *x, const int8_t *w, ptrdiff_t ldw, ptrdiff_t k, int32_t s[QMR][QNR]) {                        \
        q8_tile_##NAME(MRC, NRC, x, w, ldw, k, s);                                                                   \
    }
#define VLM_Q8_TILES(NAME, TARGET)                                                                                   \
    VLM_Q8_TILE(NAME, TARGET, 1, 1) VLM_Q8_TILE(NAME, TARGET, 1, 2) VLM_Q8_TILE(NAME, TARGET, 1, 3)                  \
    VLM_Q8_TILE(NAME, TARGET, 1, 4) VLM_Q8_TILE(NAME, TARGET, 2, 1) VLM_Q8_TILE(NAME, TARGET, 2, 2)                  \
    VLM_Q8_TILE(NAME, TARGET, 2, 3) VLM_Q8_TILE(NAME, TARGET, 2, 4) VLM_Q8_TILE(NAME, TARGET, 3, 1)                  \
    VLM_Q8_TILE(NAME, TARGET, 3, 2) VLM_Q8_TILE(NAME, TARGET, 3, 3) VLM_Q8_TILE(NAME, TARGET, 3, 4)                  \
    static const Q8TileFn kQ8Tiles_##NAME[QMR * QNR] = {                                                             \
        q8_##NAME##_1x1, q8_##NAME##_1x2, q8_##NAME##_1x3, q8_##NAME##_1x4, q8_##NAME##_2x1, q8_##NAME##_2x2,        \
        q8_##NAME##_2x3, q8_##NAME##_2x4, q8_##NAME##_3x1, q8_##NAME##_3x2, q8_##NAME##_3x3, q8_##NAME##_3x4,        \
    };
VLM_Q8_TILES(avx2, "avx2")
VLM_Q8_TILES(vnni512, "avx2,avx512vnni,avx512vl")
VLM_Q8_TILES(avxvnni, "avx2,avxvnni")

/// VNNI on this CPU, as bits: 2 = AVX512-VNNI with VL (256-bit vpdpbusd), 1 = AVX-VNNI (detected once).
static int cpu_vnni(void) {
    static atomic_int cached = -1;
    int value = atomic_load_explicit(&cached, memory_order_relaxed);
    if (value < 0) {
        __builtin_cpu_init();
        value = (__builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512vl") ? 2 : 0) |
                (__builtin_cpu_supports("avxvnni") ? 1 : 0);
        atomic_store_explicit(&cached, value, memory_order_relaxed);
    }
    return value;
}
#endif

int vlm_q8_limit_kernel(int level) {
    const int previous = q8_limit;
    q8_limit = level < 0 ? 0 : (level > 3 ? 3 : level);
    return previous;
}

/// The tiles for the calling thread (NULL: portable), and their name.
static const Q8TileFn *q8_tiles(const char **name) {
#if defined(__x86_64__) || defined(__i386__)
    if (vlm_use_avx2() && q8_limit >= 1) {
        const int vnni = cpu_vnni();
        if ((vnni & 2) && q8_limit >= 3) {
            *name = "avx512-vnni";
            return kQ8Tiles_vnni512;
        }
        if ((vnni & 1) && q8_limit >= 2) {
            *name = "avx-vnni";
            return kQ8Tiles_avxvnni;
        }
        *name = "avx2";
        return kQ8Tiles_avx2;
    }
#endif
    *name = "portable";
    return NULL;
}

const char *vlm_q8_isa(void) {
    const char *name;
    (void)q8_tiles(&name);
    return name;
}

// MARK: - Driver

void vlm_linear_q8_packed(const uint8_t *packed, const float *row_scales, ptrdiff_t m, ptrdiff_t k, const int8_t *w,
                          ptrdiff_t ldw, const float *w_scales, const int32_t *w_sums, const float *bias, float *y,
                          const int32_t *row_zero, int32_t *exact, ptrdiff_t ldy, ptrdiff_t n0, ptrdiff_t n1,
                          int accumulate) {
    if (m <= 0 || n1 <= n0) return;
    const char *name;
    const Q8TileFn *tiles = q8_tiles(&name);
    const ptrdiff_t padded = q8_padded_depth(k);
    const ptrdiff_t chunk = q8_row_chunk(m, padded, QMR);
    for (ptrdiff_t i0 = 0; i0 < m; i0 += chunk) {
        const ptrdiff_t i1 = i0 + chunk < m ? i0 + chunk : m;
        const ptrdiff_t tile_count = (i1 - i0 + QMR - 1) / QMR;
        for (ptrdiff_t j = n0; j < n1; j += QNR) {
            const int nr = n1 - j < QNR ? (int)(n1 - j) : QNR;
            const int8_t *wj = w + j * ldw;
            // As in the float32 kernel: the next group of weight rows is prefetched into L2 while this one computes.
            const ptrdiff_t next_rows = n1 - (j + nr) < QNR ? n1 - (j + nr) : QNR;
            VLMPrefetch prefetch = vlm_prefetch_rows(wj + (ptrdiff_t)nr * ldw, ldw, next_rows, k, tile_count);
            for (ptrdiff_t i = i0; i < i1; i += QMR) {
                vlm_prefetch_step(&prefetch);
                const int mr = m - i < QMR ? (int)(m - i) : QMR;
                int32_t s[QMR][QNR];
                if (tiles) tiles[(mr - 1) * QNR + (nr - 1)](packed + i * padded, wj, ldw, k, s);
                else q8_tile_portable(mr, nr, packed + i * padded, wj, ldw, k, s);
#if defined(__x86_64__)
                if (nr == QNR && !exact) {
                    // The scalar epilogue below, four columns at a time in SSE: the same operations in the same
                    // order ((s_x · s_w) · dot + bias, then + y), so the same floats.
                    const __m128 ws = _mm_loadu_ps(w_scales + j);
                    const __m128 b = bias ? _mm_loadu_ps(bias + j) : _mm_setzero_ps();
                    for (int r = 0; r < mr; r++) {
                        const int32_t zero = row_zero ? row_zero[i + r] : 128;
                        int32_t dots[QNR];
                        for (int c = 0; c < QNR; c++) dots[c] = s[r][c] - zero * w_sums[j + c];
                        const __m128 scale = _mm_mul_ps(_mm_set1_ps(row_scales[i + r]), ws);
                        const __m128 dot = _mm_cvtepi32_ps(_mm_loadu_si128((const __m128i *)dots));
                        __m128 v = _mm_add_ps(_mm_mul_ps(scale, dot), b);
                        float *out = y + (i + r) * ldy + j;
                        if (accumulate) v = _mm_add_ps(_mm_loadu_ps(out), v);
                        _mm_storeu_ps(out, v);
                    }
                    continue;
                }
#endif
                for (int r = 0; r < mr; r++)
                    q8_store_row(s[r], nr, j, row_scales[i + r], row_zero ? row_zero[i + r] : 128, w_scales, w_sums,
                                 bias, exact ? NULL : y + (i + r) * ldy + j, exact ? exact + (i + r) * ldy + j : NULL,
                                 accumulate);
            }
        }
    }
}

// MARK: - Weight panels (AVX512-VNNI)
//
// The dot-product tiles above read each weight row in place and end every tile with horizontal sums; on a CPU with
// AVX512-VNNI the weights are instead repacked once into panels of 64 output columns, each k-group of 4 inputs
// stored as 64 columns × 4 bytes (256 bytes, four zmm registers):
//
//     panels[((p · kq + g) · 64 + c) · 4 + b] = w_q[64p + c, 4g + b]      (zero past n and k; kq = ⌈k/4⌉)
//
// A tile of up to 6 rows of x (row-major, each row's 4 bytes of a group broadcast to all 16 lanes) then meets the
// panel's 4 registers with `vpdpbusd`: 24 accumulators hold the 6 × 64 outputs, with no horizontal sums, and the
// epilogue works on 16 outputs per vector. The sums are the same exact integers as the row-major kernels', so the
// results are identical.

enum { QPW = 64, QPMR = 6 };

static ptrdiff_t q8_groups(ptrdiff_t k) { return (k + 3) / 4; }

/// Where w_q[j, q] lies in the panels of a weight with `groups` 4-byte groups per row.
static inline ptrdiff_t q8_panel_index(ptrdiff_t groups, ptrdiff_t j, ptrdiff_t q) {
    return (j / QPW * groups + q / 4) * QPW * 4 + j % QPW * 4 + q % 4;
}

size_t vlm_q8_panel_bytes(ptrdiff_t n, ptrdiff_t k) {
    return (size_t)((n + QPW - 1) / QPW) * (size_t)q8_groups(k) * QPW * 4;
}

int vlm_q8_panel_width(void) { return QPW; }

void vlm_q8_pack_panels(const int8_t *w, ptrdiff_t ldw, ptrdiff_t n, ptrdiff_t k, int8_t *panels) {
    const ptrdiff_t groups = q8_groups(k);
    memset(panels, 0, vlm_q8_panel_bytes(n, k));  // zero past n and k
    for (ptrdiff_t j = 0; j < n; j++)
        for (ptrdiff_t q = 0; q < k; q++) panels[q8_panel_index(groups, j, q)] = w[j * ldw + q];
}

void vlm_q8_quantize_panels(const float *w, ptrdiff_t n, ptrdiff_t k, const float *column_scales, int8_t *panels,
                            float *scales, int32_t *sums) {
    const ptrdiff_t groups = q8_groups(k);
    memset(panels, 0, vlm_q8_panel_bytes(n, k));
    int8_t row[256];
    for (ptrdiff_t j = 0; j < n; j++) {
        int32_t sum = 0;
        const float maxabs = q8_row_maxabs(w + j * k, column_scales, k);
        // Row by row as vlm_q8_quantize_weights, through a small buffer: no row-major copy of the whole weight.
        for (ptrdiff_t p0 = 0; p0 < k; p0 += 256) {
            const ptrdiff_t count = k - p0 < 256 ? k - p0 : 256;
            q8_quantize_row(w + j * k, column_scales, p0, count, maxabs, row);
            for (ptrdiff_t q = 0; q < count; q++) {
                const ptrdiff_t p = p0 + q;
                panels[q8_panel_index(groups, j, p)] = row[q];
                sum += row[q];
            }
        }
        scales[j] = maxabs / 127.0f;
        sums[j] = sum;
    }
}

void vlm_q8_unpack_panels(const int8_t *panels, ptrdiff_t n, ptrdiff_t k, int8_t *w) {
    const ptrdiff_t groups = q8_groups(k);
    for (ptrdiff_t j = 0; j < n; j++)
        for (ptrdiff_t q = 0; q < k; q++) w[j * k + q] = panels[q8_panel_index(groups, j, q)];
}

/// Rows [i, i + mr) × columns [j, j + cols) from panel `panel`, in portable C.
static void q8_panel_tile_portable(int mr, int cols, const uint8_t *x, ptrdiff_t ldx, const int8_t *panel,
                                   ptrdiff_t groups, const float *row_scales, const int32_t *row_zero, ptrdiff_t j,
                                   const float *w_scales, const int32_t *w_sums, const float *bias, float *y,
                                   int32_t *exact, ptrdiff_t ldy, int accumulate) {
    for (int r = 0; r < mr; r++) {
        int32_t sums[QPW] = {0};
        for (ptrdiff_t g = 0; g < groups; g++)
            for (int c = 0; c < cols; c++)
                for (int b = 0; b < 4; b++) sums[c] += (int32_t)x[r * ldx + 4 * g + b] * panel[(g * QPW + c) * 4 + b];
        q8_store_row(sums, cols, j, row_scales[r], row_zero ? row_zero[r] : 128, w_scales, w_sums, bias,
                       y ? y + r * ldy : NULL, exact ? exact + r * ldy : NULL, accumulate);
    }
}

typedef void (*Q8PanelFn)(const uint8_t *, ptrdiff_t, const int8_t *, ptrdiff_t, const float *, const int32_t *,
                          ptrdiff_t, const float *, const int32_t *, const float *, float *, int32_t *, ptrdiff_t, int,
                          int);

#if defined(__x86_64__)
#define VLM_Q8_PANEL_TARGET "avx2,avx512f,avx512vnni"

VLM_Q8_INLINE(VLM_Q8_PANEL_TARGET) void q8_panel_tile_vnni512(
    const int mr, const uint8_t *x, ptrdiff_t ldx, const int8_t *panel, ptrdiff_t groups, const float *row_scales,
    const int32_t *row_zero, ptrdiff_t j, const float *w_scales, const int32_t *w_sums, const float *bias, float *y,
    int32_t *exact, ptrdiff_t ldy, int cols, int accumulate) {
    __m512i acc[QPMR][4];
    for (int r = 0; r < mr; r++)
        for (int c = 0; c < 4; c++) acc[r][c] = _mm512_setzero_si512();
    for (ptrdiff_t g = 0; g < groups; g++, panel += QPW * 4) {
        const __m512i w0 = _mm512_load_si512(panel), w1 = _mm512_load_si512(panel + 64);
        const __m512i w2 = _mm512_load_si512(panel + 128), w3 = _mm512_load_si512(panel + 192);
        for (int r = 0; r < mr; r++) {
            int32_t group;
            memcpy(&group, x + r * ldx + 4 * g, 4);
            const __m512i xb = _mm512_set1_epi32(group);
            acc[r][0] = _mm512_dpbusd_epi32(acc[r][0], xb, w0);
            acc[r][1] = _mm512_dpbusd_epi32(acc[r][1], xb, w1);
            acc[r][2] = _mm512_dpbusd_epi32(acc[r][2], xb, w2);
            acc[r][3] = _mm512_dpbusd_epi32(acc[r][3], xb, w3);
        }
    }
    for (int r = 0; r < mr; r++) {
        const __m512i zero = _mm512_set1_epi32(row_zero ? row_zero[r] : 128);
        const __m512 row_scale = _mm512_set1_ps(row_scales[r]);
        for (int c = 0; c < 4 && 16 * c < cols; c++) {
            const int count = cols - 16 * c < 16 ? cols - 16 * c : 16;
            const __mmask16 mask = (__mmask16)(count == 16 ? 0xFFFF : (1u << count) - 1);
            const ptrdiff_t jc = j + 16 * c;
            const __m512i correction = _mm512_mullo_epi32(zero, _mm512_maskz_loadu_epi32(mask, w_sums + jc));
            const __m512i dot = _mm512_sub_epi32(acc[r][c], correction);
            if (exact) {
                _mm512_mask_storeu_epi32(exact + r * ldy + 16 * c, mask, dot);
                continue;
            }
            const __m512 scale = _mm512_mul_ps(row_scale, _mm512_maskz_loadu_ps(mask, w_scales + jc));
            const __m512 b = bias ? _mm512_maskz_loadu_ps(mask, bias + jc) : _mm512_setzero_ps();
            __m512 v = _mm512_add_ps(_mm512_mul_ps(scale, _mm512_cvtepi32_ps(dot)), b);
            float *out = y + r * ldy + 16 * c;
            if (accumulate) v = _mm512_add_ps(_mm512_maskz_loadu_ps(mask, out), v);
            _mm512_mask_storeu_ps(out, mask, v);
        }
    }
}

#define VLM_Q8_PANEL_TILE(MRC)                                                                                       \
    __attribute__((target(VLM_Q8_PANEL_TARGET))) static void q8_panel_vnni512_##MRC(                                \
        const uint8_t *x, ptrdiff_t ldx, const int8_t *panel, ptrdiff_t groups, const float *row_scales,              \
        const int32_t *row_zero, ptrdiff_t j, const float *w_scales, const int32_t *w_sums, const float *bias,        \
        float *y, int32_t *exact, ptrdiff_t ldy, int cols, int accumulate) {                                         \
        q8_panel_tile_vnni512(MRC, x, ldx, panel, groups, row_scales, row_zero, j, w_scales, w_sums, bias, y, exact,  \
                              ldy, cols, accumulate);                                                                \
    }
VLM_Q8_PANEL_TILE(1) VLM_Q8_PANEL_TILE(2) VLM_Q8_PANEL_TILE(3)
VLM_Q8_PANEL_TILE(4) VLM_Q8_PANEL_TILE(5) VLM_Q8_PANEL_TILE(6)
static const Q8PanelFn kQ8Panels_vnni512[QPMR] = {
    q8_panel_vnni512_1, q8_panel_vnni512_2, q8_panel_vnni512_3,
    q8_panel_vnni512_4, q8_panel_vnni512_5, q8_panel_vnni512_6,
};
#endif

int vlm_q8_cpu_has_panels(void) {
#if defined(__x86_64__)
    return (cpu_vnni() & 2) && __builtin_cpu_supports("avx512f");
#else
    return 0;
#endif
}

int vlm_q8_runs_panels(void) {
#if defined(__x86_64__)
    const char *name;
    return vlm_q8_cpu_has_panels() && q8_tiles(&name) == kQ8Tiles_vnni512;
#else
    return 0;
#endif
}

void vlm_linear_q8_panels(const uint8_t *packed, const float *row_scales, const int32_t *row_zero, ptrdiff_t m,
                          ptrdiff_t k, const int8_t *panels, const float *w_scales, const int32_t *w_sums,
                          ptrdiff_t n, const float *bias, float *y, int32_t *exact, ptrdiff_t ldy, ptrdiff_t n0,
                          ptrdiff_t n1, int accumulate) {
    n1 = n1 < n ? n1 : n;
    if (m <= 0 || n1 <= n0) return;
    const Q8PanelFn *tiles = NULL;
#if defined(__x86_64__)
    if (vlm_q8_runs_panels()) tiles = kQ8Panels_vnni512;
#endif
    const ptrdiff_t groups = q8_groups(k), ldx = q8_padded_depth(k), panel_bytes = groups * QPW * 4;
    // Rows of x in chunks that stay in L2, as in the row-major driver; each panel (48 KB at k = 768) is read once
    // per chunk and meets every tile of it.
    const ptrdiff_t chunk = q8_row_chunk(m, ldx, QPMR);
    for (ptrdiff_t i0 = 0; i0 < m; i0 += chunk) {
        const ptrdiff_t i1 = i0 + chunk < m ? i0 + chunk : m;
        const ptrdiff_t tile_count = (i1 - i0 + QPMR - 1) / QPMR;
        for (ptrdiff_t j = n0 / QPW * QPW; j < n1; j += QPW) {
            const int8_t *panel = panels + j / QPW * panel_bytes;
            const int cols = n1 - j < QPW ? (int)(n1 - j) : QPW;
            // The next panel into L2 while this one computes (at batch 1 the weights stream from DRAM).
            VLMPrefetch prefetch = vlm_prefetch_rows(panel + panel_bytes, 0, j + QPW < n1, panel_bytes, tile_count);
            for (ptrdiff_t i = i0; i < i1; i += QPMR) {
                vlm_prefetch_step(&prefetch);
                const int mr = i1 - i < QPMR ? (int)(i1 - i) : QPMR;
                const uint8_t *xi = packed + i * ldx;
                float *yi = y ? y + i * ldy + j : NULL;
                int32_t *ei = exact ? exact + i * ldy + j : NULL;
                if (tiles)
                    tiles[mr - 1](xi, ldx, panel, groups, row_scales + i, row_zero ? row_zero + i : NULL, j, w_scales,
                                  w_sums, bias, yi, ei, ldy, cols, accumulate);
                else
                    q8_panel_tile_portable(mr, cols, xi, ldx, panel, groups, row_scales + i,
                                           row_zero ? row_zero + i : NULL, j, w_scales, w_sums, bias, yi, ei, ldy,
                                           accumulate);
            }
        }
    }
}
