#ifndef VLM_KERNELS_H
#define VLM_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// A PyTorch `nn.Linear` on row-major float32 matrices, for output columns j in [n0, n1) of every row i < m:
///
///     y[i, j] = (accumulate ? y[i, j] : 0) + (bias ? bias[j] : 0) + Σ_p x[i, p] · w[j, p]    (p < k)
///
/// `w` is the weight as PyTorch stores it, (out_features, in_features) row-major with row stride `ldw`, read in
/// place: a memory-mapped checkpoint needs no copy. It runs in two steps so that several threads can share one
/// packed copy of x: `vlm_pack` copies rows [row0, row1) of x (m × k, row stride ldx; row0 a multiple of
/// `vlm_pack_tile_rows(m)`) into `packed`, which holds `vlm_packed_count(m, k)` floats; then each thread calls
/// `vlm_linear_packed` for its own columns [n0, n1). Single-threaded each, on the thread's kernel choice
/// (`vlm_kernels_set_choice`) and m (fewer rows than an AVX-512 tile run the AVX2 one): the packed layout depends
/// on both, so pack and multiply the same m under the same choice.
size_t vlm_packed_count(ptrdiff_t m, ptrdiff_t k);
int vlm_pack_tile_rows(ptrdiff_t m);
void vlm_pack(const float *x, ptrdiff_t ldx, ptrdiff_t m, ptrdiff_t k, ptrdiff_t row0, ptrdiff_t row1, float *packed);
void vlm_linear_packed(const float *packed, ptrdiff_t m, ptrdiff_t k, const float *w, ptrdiff_t ldw,
                       const float *bias, float *y, ptrdiff_t ldy, ptrdiff_t n0, ptrdiff_t n1, int accumulate);
/// y[i, j] += Σ_q x[i, q] · w[j, q] for rows i < m, columns j in [n0, n1) and q < c, with w (out, c) row-major (row
/// stride ldw): a product over a few input columns (an int8 layer's outlier channels, attention's carried values),
/// vectorized over the outputs. Each block of 64 weight rows is transposed once; every output takes its c
/// multiply-adds in order q = 0, 1, …, onto the value y held (any c; 64 columns of x at a time).
void vlm_linear_narrow(const float *x, ptrdiff_t ldx, ptrdiff_t m, ptrdiff_t c, const float *w, ptrdiff_t ldw,
                       float *y, ptrdiff_t ldy, ptrdiff_t n0, ptrdiff_t n1);
/// The same product over weights repacked once into panels of `vlm_panel_width()` (32) output columns
/// (linear_panels.c), for AVX-512 CPUs: `vlm_panels_pack` writes columns [j0, j1) (j0 a multiple of 32) of w (n, k),
/// row stride ldw, into `panels` (`vlm_panels_count(n, k)` floats, 64-byte aligned; columns past n are zeros) as
/// [n/32][k][32]. `vlm_linear_panels` computes columns [n0, n1) (n0 a multiple of 32, n1 one too or n) of every row
/// of x (m × k, row stride ldx, read in place: no packing of x):
///
///     y[i, j] = ((Σ_p x[i, p] · w[j, p]) (+ y[i, j] when accumulate)) (+ bias[j])
///
/// each sum one chain of FMAs in p order per block of 256 steps, the block's sum then added to y. It runs the
/// AVX-512 assembly tile when `vlm_panels_run()` (the CPU has AVX-512F and the calling thread chose the native
/// kernels), else the same FMAs in portable C (for reference, slow).
size_t vlm_panels_count(ptrdiff_t n, ptrdiff_t k);
int vlm_panel_width(void);
void vlm_panels_pack(const float *w, ptrdiff_t ldw, ptrdiff_t n, ptrdiff_t k, ptrdiff_t j0, ptrdiff_t j1,
                     float *panels);
void vlm_linear_panels(const float *x, ptrdiff_t ldx, ptrdiff_t m, ptrdiff_t k, const float *panels, ptrdiff_t n,
                       const float *bias, float *y, ptrdiff_t ldy, ptrdiff_t n0, ptrdiff_t n1, int accumulate);
/// 1 when the calling thread's float32 products over panels run the AVX-512 tile (see `vlm_linear_panels`).
int vlm_panels_run(void);
/// The longest slice of k the kernel computes in one pass; callers that pack a slice at a time
/// (`vlm_pack(x + kb, …, kc, …)`, then `vlm_linear_packed(…, w + kb, …)`) use slices this long.
ptrdiff_t vlm_linear_block_depth(ptrdiff_t k);
/// Bytes of packed x a chunk of rows keeps in L2: half this CPU's L2 per core (from sysconf), read once.
size_t vlm_linear_l2_budget(void);
/// A buffer of at least `count` floats owned by the calling thread and kept for its next call (NULL if out of
/// memory), for the packed x.
float *vlm_thread_scratch(size_t count);

/// The int8 `nn.Linear` (linear_q8.c): int8 weights w_q (out, in) row-major with row stride ldw, one fp32 scale per
/// output row (w ≈ w_scales[j]·w_q[j, p]) and the row sums w_sums[j] = Σ_p w_q[j, p] (`vlm_q8_weight_sums`, once at
/// load). `vlm_q8_pack` quantizes rows [row0, row1) of x (m × k; row0 a multiple of tile_rows:
/// `vlm_q8_tile_rows()` for this kernel, 1 for the panel kernel below) per row, symmetric: row_scales[i] =
/// max_p |x[i, p]|/127, q = round-half-even(x/row_scale) ∈ [−127, 127], stored as the byte q + 128 into `packed`
/// (`vlm_q8_packed_bytes(m, k)` bytes, tiles of tile_rows rows). `vlm_linear_q8_packed` then computes, for columns
/// [n0, n1):
///
///     dot[i, j] = Σ_p (u[i, p] − 128) · w_q[j, p] = Σ_p u·w_q − 128 · w_sums[j]        (exact int32, k < 65793)
///     y[i, j]   = (accumulate ? y[i, j] : 0) + row_scales[i] · w_scales[j] · dot[i, j] + (bias ? bias[j] : 0)
///
/// or, when `exact` is not NULL, exact[i·ldy + j] = dot[i, j] (for tests; y, scales and bias are then unused).
/// The sums are exact on every path (VNNI `vpdpbusd`, AVX2 widening `vpmaddwd`, portable C): the same results on
/// every CPU. `vpmaddubsw`, whose 16-bit pair sums saturate, is never used.
size_t vlm_q8_packed_bytes(ptrdiff_t m, ptrdiff_t k);
int vlm_q8_tile_rows(void);
void vlm_q8_pack(const float *x, ptrdiff_t ldx, ptrdiff_t m, ptrdiff_t k, ptrdiff_t row0, ptrdiff_t row1,
                 ptrdiff_t tile_rows, uint8_t *packed, float *row_scales);
/// `vlm_q8_pack_zp` quantizes asymmetrically instead: the row's range [lo, hi] (lo = min(0, min x), hi = max(0,
/// max x)) in 255 steps, row_scales[i] = (hi − lo)/255, zero point row_zero[i] = round(−lo/row_scale) ∈ [0, 255],
/// u = clamp(round(x/row_scale) + row_zero[i], 0, 255); `vlm_linear_q8_packed` given `row_zero` (else NULL: 128 for
/// every row) computes dot[i, j] = Σ_p u·w_q − row_zero[i] · w_sums[j] (exact likewise: |u·w_q| ≤ 255 · 128).
void vlm_q8_pack_zp(const float *x, ptrdiff_t ldx, ptrdiff_t m, ptrdiff_t k, ptrdiff_t row0, ptrdiff_t row1,
                    ptrdiff_t tile_rows, uint8_t *packed, float *row_scales, int32_t *row_zero);
void vlm_linear_q8_packed(const uint8_t *packed, const float *row_scales, ptrdiff_t m, ptrdiff_t k, const int8_t *w,
                          ptrdiff_t ldw, const float *w_scales, const int32_t *w_sums, const float *bias, float *y,
                          const int32_t *row_zero, int32_t *exact, ptrdiff_t ldy, ptrdiff_t n0, ptrdiff_t n1,
                          int accumulate);
/// Per-row symmetric quantization of a contiguous (n, k) fp32 weight: q ∈ [−127, 127], scales[j] = max|w[j]|/127;
/// with `column_scales` (else NULL), of w[j, p] · column_scales[p] (SmoothQuant's migrated factors, or zeros for
/// columns kept out of the int8 product) without a scaled copy.
void vlm_q8_quantize_weights(const float *w, ptrdiff_t n, ptrdiff_t k, const float *column_scales, int8_t *q,
                             float *scales);
/// sums[j] = Σ_p w[j·ldw + p] for j < n, p < k.
void vlm_q8_weight_sums(const int8_t *w, ptrdiff_t ldw, ptrdiff_t n, ptrdiff_t k, int32_t *sums);
/// The weight panels (AVX512-VNNI): an int8 weight (n, k) repacked once into ⌈n/64⌉ panels of 64 output columns,
/// each k-group of 4 inputs as 64 columns × 4 bytes (zero past n and k), `vlm_q8_panel_bytes(n, k)` bytes, 64-byte
/// aligned. `vlm_linear_q8_panels` computes what `vlm_linear_q8_packed` does (the same exact sums, the same floats)
/// from panels and x packed with tile_rows 1 (each row contiguous), for columns [n0, n1) with n0 a multiple of 64:
/// with AVX512-VNNI on the calling thread (`vlm_q8_runs_panels`), else in portable C. `vlm_q8_unpack_panels` gives
/// the (n, k) row-major values back.
size_t vlm_q8_panel_bytes(ptrdiff_t n, ptrdiff_t k);
int vlm_q8_panel_width(void);
void vlm_q8_pack_panels(const int8_t *w, ptrdiff_t ldw, ptrdiff_t n, ptrdiff_t k, int8_t *panels);
void vlm_q8_unpack_panels(const int8_t *panels, ptrdiff_t n, ptrdiff_t k, int8_t *w);
/// `vlm_q8_quantize_weights` and `vlm_q8_weight_sums` of a contiguous (n, k) fp32 weight straight into panels.
void vlm_q8_quantize_panels(const float *w, ptrdiff_t n, ptrdiff_t k, const float *column_scales, int8_t *panels,
                            float *scales, int32_t *sums);
void vlm_linear_q8_panels(const uint8_t *packed, const float *row_scales, const int32_t *row_zero, ptrdiff_t m,
                          ptrdiff_t k, const int8_t *panels, const float *w_scales, const int32_t *w_sums,
                          ptrdiff_t n, const float *bias, float *y, int32_t *exact, ptrdiff_t ldy, ptrdiff_t n0,
                          ptrdiff_t n1, int accumulate);
/// 1 when this CPU has the panel kernel (AVX512-VNNI), so int8 weights are best kept as panels.
int vlm_q8_cpu_has_panels(void);
/// 1 when the calling thread's int8 kernel is the panel kernel (the CPU has it and `vlm_q8_limit_kernel` allows it).
int vlm_q8_runs_panels(void);
/// The int8 kernel the calling thread runs: "avx512-vnni", "avx-vnni", "avx2" (vpmaddwd) or "portable".
const char *vlm_q8_isa(void);
/// Caps the int8 kernel on the calling thread (0 portable, 1 AVX2 vpmaddwd, 2 AVX-VNNI, 3 AVX512-VNNI: the best
/// the CPU has up to that), so tests can run each path the CPU offers; returns the previous cap (default 3).
int vlm_q8_limit_kernel(int level);

/// One attention head over `seq` tokens: out_i = Σ_j softmax_j(q_i·k_j/√head_dim) v_j, with j ≤ i when `causal`.
/// q, k, v and out are (seq, head_dim) with row strides ldq, ldk, ldv, ldo; `scratch` holds
/// `vlm_attention_scratch_count(seq, head_dim)` floats (about (seq + 2·head_dim + 65) · seq: the whole head's scores).
/// `extra` (NULL: none) gives more value columns that take the same probabilities: extra->out[i, c] =
/// Σ_j p_ij · extra->v[j, c] for c < extra->columns (an int8 block's outlier channels, carried through attention).
typedef struct {
    const float *v;
    ptrdiff_t ldv;
    ptrdiff_t columns;
    float *out;
    ptrdiff_t ldo;
} vlm_attention_extra;
size_t vlm_attention_scratch_count(ptrdiff_t seq, ptrdiff_t head_dim);
void vlm_attention_head(const float *q, ptrdiff_t ldq, const float *k, ptrdiff_t ldk, const float *v, ptrdiff_t ldv,
                        float *out, ptrdiff_t ldo, ptrdiff_t seq, ptrdiff_t head_dim, int causal, float *scratch,
                        const vlm_attention_extra *extra);

/// The MLP activations, in place: VLM_QUICK_GELU x·σ(1.702x), VLM_GELU 0.5x(1 + erf(x/√2)),
/// VLM_GELU_TANH 0.5x(1 + tanh(√(2/π)(x + 0.044715x³))) (PyTorch's approximate="tanh", SigLIP's activation).
enum { VLM_QUICK_GELU = 0, VLM_GELU = 1, VLM_GELU_TANH = 2 };
void vlm_activation(float *x, ptrdiff_t count, int kind);

/// Exact-search scores over fp16 rows (IEEE binary16 bit patterns, the index's stored form): for i < rows,
/// y[i] = Σ_j float(a[i·cols + j]) · x[j]. AVX2+F16C widens while it multiplies; the portable C gives the same
/// values within float rounding. `vlm_f16_widen` converts `count` values exactly.
void vlm_score_rows_f16(const uint16_t *a, ptrdiff_t rows, ptrdiff_t cols, const float *x, float *y);
void vlm_f16_widen(const uint16_t *src, float *dst, ptrdiff_t count);

/// Which fp32 kernels the calling thread runs from now on: VLM_KERNELS_NATIVE (the best for this CPU: AVX-512,
/// AVX2+FMA or portable C), VLM_KERNELS_PORTABLE, or VLM_KERNELS_AVX2 (AVX2+FMA even where AVX-512 is preferred, for
/// comparisons); returns the thread's previous choice. There is no process-wide setting: a caller that splits work
/// over other threads (`vlm_parallel_for`'s workers) sets the same value on them for the duration of its region, as
/// VLMTensor's `Parallel` does. All give the same results within float rounding.
enum { VLM_KERNELS_NATIVE = 0, VLM_KERNELS_PORTABLE = 1, VLM_KERNELS_AVX2 = 2 };
int vlm_kernels_set_choice(int choice);

/// Runs fn(context, i) for every i in [0, count) on the calling thread and up to threads − 1 pool workers, which
/// claim indices dynamically, and returns 1 when all have run. The pool runs one region at a time: when another
/// thread's region holds it, this returns 0 at once, having run nothing. Workers spin for a while after a region,
/// then sleep.
typedef void (*vlm_task_fn)(void *context, ptrdiff_t index);
int vlm_parallel_for(ptrdiff_t count, int threads, vlm_task_fn fn, void *context);

/// The instruction set the fp32 `linear` kernel runs on the calling thread: "avx512f", "avx2+fma", or "portable" (no
/// AVX2+FMA, or the thread chose the portable kernels with vlm_kernels_set_choice). Attention and activations run
/// AVX2+FMA under both vector choices.
const char *vlm_kernels_isa(void);

#ifdef __cplusplus
}
#endif

#endif
