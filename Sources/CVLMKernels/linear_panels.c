// y = x·wᵀ (+ bias) (+ y) over float32 weights repacked once into panels of 32 output columns, on AVX-512 CPUs.
//
// The in-place kernel (linear.c) forms each output as a dot product and folds a tile's lanes at the end; its best
// tile measured ~100–105 GFLOP/s a core on Zen 4, ~82 % of the 126 an FMA loop reaches there. ONNX Runtime's MLAS,
// whose weights are packed when a session loads, reaches 108–112 on the same shapes. This is MLAS's arrangement:
// - W (n, k) is stored as panels [n/32][k][32]: for each step p of k, the 32 weights of a panel's columns are two
//   adjacent 16-lane vectors.
// - x is read in place, row-major. A 12 × 32 tile keeps its 12 × 2 sums in 24 zmm registers; each step of k loads
//   the panel's two vectors once and broadcasts x[i, p] from memory for each of the 12 rows: 2 + 12 loads per 24
//   FMAs, and no horizontal sums at all.
// - The lanes are the outputs, so each output is one chain of FMAs in k order (per block of kKPanel steps), the same
//   whatever the number of rows or the row's position: a batch gives each image the same result as one alone.
// The tile is inline assembly: compiled from intrinsics, clang hoisted the broadcasts of later steps and spilled the
// accumulators, at less than half the speed (48 against 110 GFLOP/s). Side by side with the in-place tile on Zen 4,
// weights streamed from DRAM, it measured 1.02–1.07× alone (one thread) and 1.04–1.13× in the whole encoder
// (docs/encoder.md, "Weight panels for float32").
//
// Blocking: columns in blocks of kNPanelBlock (4 panels), k in blocks of kKPanel steps: a block of panels (128 KB)
// stays in L2 while every group of 12 rows meets it, and a group's x (12 × kKPanel floats) stays in L1 across the
// block's 4 panels.
#include "vlm_kernels.h"
#include "dispatch.h"

#include <math.h>
#include <string.h>

enum { PANEL = 32, PANEL_ROWS = 12 };
static const ptrdiff_t kKPanel = 256, kNPanelBlock = 128;

size_t vlm_panels_count(ptrdiff_t n, ptrdiff_t k) {
    return (size_t)((n + PANEL - 1) / PANEL * PANEL) * (size_t)(k > 0 ? k : 0);
}

int vlm_panel_width(void) { return PANEL; }

void vlm_panels_pack(const float *w, ptrdiff_t ldw, ptrdiff_t n, ptrdiff_t k, ptrdiff_t j0, ptrdiff_t j1,
                     float *panels) {
    j1 = j1 < n ? j1 : n;
    for (ptrdiff_t j = j0; j < j1; j += PANEL) {
        float *panel = panels + j * k;
        const int cols = n - j < PANEL ? (int)(n - j) : PANEL;
        for (ptrdiff_t p = 0; p < k; p++)
            for (int c = 0; c < PANEL; c++) panel[p * PANEL + c] = c < cols ? w[(j + c) * ldw + p] : 0;
    }
}

/// The signature of a tile: mr rows of x (row stride ldx, from column kb) against one panel's kc steps, into 32
/// columns of y: y = (sums (+ y when add)) (+ bias when not NULL).
typedef void (*PanelTileFn)(const float *x, ptrdiff_t ldx, const float *panel, ptrdiff_t kc, float *y, ptrdiff_t ldy,
                            int add, const float *bias);

/// The reference: the same FMAs in the same order as the assembly (each lane a chain in k), in C.
static void panel_tile_portable(int mr, const float *x, ptrdiff_t ldx, const float *panel, ptrdiff_t kc, float *y,
                                ptrdiff_t ldy, int add, const float *bias) {
    for (int r = 0; r < mr; r++) {
        float sums[PANEL] = {0};
        for (ptrdiff_t p = 0; p < kc; p++)
            for (int c = 0; c < PANEL; c++) sums[c] = fmaf(x[r * ldx + p], panel[p * PANEL + c], sums[c]);
        for (int c = 0; c < PANEL; c++) {
            float v = add ? sums[c] + y[r * ldy + c] : sums[c];
            y[r * ldy + c] = bias ? v + bias[c] : v;
        }
    }
}

#if defined(__x86_64__)

// MARK: - The AVX-512 tile (inline assembly)
//
// Registers: row r's sums in zmm r (columns 0–15) and zmm 12 + r (16–31); the panel's two vectors in zmm24/25;
// broadcasts alternate between zmm26 and zmm27. Row r of x is at a0/a3/a6/a9 (rows 0, 3, 6, 9) + (r mod 3)·lda.
// `.if %c[mr] > r` keeps the rows a tile of mr rows has: one template, twelve tiles.

#define VLM_PANEL_ROWS(M, OFF)                                                                                      \
    M(0, 12, 26, OFF "(%[a0])") M(1, 13, 27, OFF "(%[a0],%[lda],1)") M(2, 14, 26, OFF "(%[a0],%[lda],2)")          \
    M(3, 15, 27, OFF "(%[a3])") M(4, 16, 26, OFF "(%[a3],%[lda],1)") M(5, 17, 27, OFF "(%[a3],%[lda],2)")          \
    M(6, 18, 26, OFF "(%[a6])") M(7, 19, 27, OFF "(%[a6],%[lda],1)") M(8, 20, 26, OFF "(%[a6],%[lda],2)")          \
    M(9, 21, 27, OFF "(%[a9])") M(10, 22, 26, OFF "(%[a9],%[lda],1)") M(11, 23, 27, OFF "(%[a9],%[lda],2)")

#define VLM_PANEL_IF(r) ".if %c[mr] > " #r "\n\t"
#define VLM_PANEL_ZERO(r, r2, t, at) VLM_PANEL_IF(r) "vpxord %%zmm" #r ", %%zmm" #r ", %%zmm" #r "\n\t"         \
    "vpxord %%zmm" #r2 ", %%zmm" #r2 ", %%zmm" #r2 "\n\t.endif\n\t"
#define VLM_PANEL_FMA(r, r2, t, at) VLM_PANEL_IF(r) "vbroadcastss " at ", %%zmm" #t "\n\t"                      \
    "vfmadd231ps %%zmm" #t ", %%zmm24, %%zmm" #r "\n\t"                                                             \
    "vfmadd231ps %%zmm" #t ", %%zmm25, %%zmm" #r2 "\n\t.endif\n\t"
#define VLM_PANEL_ADD_Y(r, r2, t, at) VLM_PANEL_IF(r) "vaddps (%[y]), %%zmm" #r ", %%zmm" #r "\n\t"               \
    "vaddps 64(%[y]), %%zmm" #r2 ", %%zmm" #r2 "\n\t"                                                               \
    "add %[ldy], %[y]\n\t.endif\n\t"
#define VLM_PANEL_ADD_BIAS(r, r2, t, at) VLM_PANEL_IF(r) "vaddps %%zmm24, %%zmm" #r ", %%zmm" #r "\n\t"           \
    "vaddps %%zmm25, %%zmm" #r2 ", %%zmm" #r2 "\n\t.endif\n\t"
#define VLM_PANEL_STORE(r, r2, t, at) VLM_PANEL_IF(r) "vmovups %%zmm" #r ", (%[y])\n\t"                          \
    "vmovups %%zmm" #r2 ", 64(%[y])\n\t"                                                                            \
    "add %[ldy], %[y]\n\t.endif\n\t"
/// One step of k: the panel's two vectors at BOFF bytes, x at OFF bytes from each row's pointer.
#define VLM_PANEL_STEP(OFF, BOFF0, BOFF1)                                                                           \
    "vmovaps " BOFF0 "(%[b]), %%zmm24\n\t"                                                                          \
    "vmovaps " BOFF1 "(%[b]), %%zmm25\n\t" VLM_PANEL_ROWS(VLM_PANEL_FMA, OFF)

#define VLM_PANEL_ASM                                                                                               \
    VLM_PANEL_ROWS(VLM_PANEL_ZERO, "")                                                                              \
    "cmp $2, %[k]\n\t"                                                                                              \
    "jl 2f\n\t"                                                                                                     \
    "1:\n\t" VLM_PANEL_STEP("", "0", "64") VLM_PANEL_STEP("4", "128", "192")                                        \
    "add $8, %[a0]\n\t"                                                                                             \
    "add $8, %[a3]\n\t"                                                                                             \
    "add $8, %[a6]\n\t"                                                                                             \
    "add $8, %[a9]\n\t"                                                                                             \
    "add $256, %[b]\n\t"                                                                                            \
    "sub $2, %[k]\n\t"                                                                                              \
    "cmp $2, %[k]\n\t"                                                                                              \
    "jge 1b\n\t"                                                                                                    \
    "2:\n\t"                                                                                                        \
    "test %[k], %[k]\n\t"                                                                                           \
    "jz 3f\n\t" VLM_PANEL_STEP("", "0", "64")                                                                       \
    "3:\n\t"                                                                                                        \
    "test %[add], %[add]\n\t"                                                                                       \
    "jz 4f\n\t" VLM_PANEL_ROWS(VLM_PANEL_ADD_Y, "")                                                                 \
    "sub %[ytot], %[y]\n\t"                                                                                         \
    "4:\n\t"                                                                                                        \
    "test %[bias], %[bias]\n\t"                                                                                     \
    "jz 5f\n\t"                                                                                                     \
    "vmovups (%[bias]), %%zmm24\n\t"                                                                                \
    "vmovups 64(%[bias]), %%zmm25\n\t" VLM_PANEL_ROWS(VLM_PANEL_ADD_BIAS, "")                                      \
    "5:\n\t" VLM_PANEL_ROWS(VLM_PANEL_STORE, "")

#define VLM_PANEL_TILE(MR)                                                                                          \
    __attribute__((target("avx512f"))) static void panel_tile_##MR(const float *x, ptrdiff_t ldx,                  \
                                                                   const float *panel, ptrdiff_t kc, float *y,      \
                                                                   ptrdiff_t ldy, int add, const float *bias) {     \
        const float *a0 = x, *a3 = MR > 3 ? x + 3 * ldx : x, *a6 = MR > 6 ? x + 6 * ldx : x;                        \
        const float *a9 = MR > 9 ? x + 9 * ldx : x;                                                                 \
        ptrdiff_t k = kc, lda = ldx * 4, ldy_bytes = ldy * 4, ytot = ldy * 4 * MR, add_y = add;                     \
        __asm__ volatile(VLM_PANEL_ASM                                                                              \
                         : [a0] "+r"(a0), [a3] "+r"(a3), [a6] "+r"(a6), [a9] "+r"(a9), [b] "+r"(panel),             \
                           [k] "+r"(k), [y] "+r"(y)                                                                 \
                         : [lda] "r"(lda), [ldy] "r"(ldy_bytes), [ytot] "r"(ytot), [add] "r"(add_y),               \
                           [bias] "r"(bias), [mr] "i"(MR)                                                           \
                         : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9",          \
                           "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "xmm18",         \
                           "xmm19", "xmm20", "xmm21", "xmm22", "xmm23", "xmm24", "xmm25", "xmm26", "xmm27", "cc",   \
                           "memory");                                                                               \
    }
VLM_PANEL_TILE(1) VLM_PANEL_TILE(2) VLM_PANEL_TILE(3) VLM_PANEL_TILE(4) VLM_PANEL_TILE(5) VLM_PANEL_TILE(6)
VLM_PANEL_TILE(7) VLM_PANEL_TILE(8) VLM_PANEL_TILE(9) VLM_PANEL_TILE(10) VLM_PANEL_TILE(11) VLM_PANEL_TILE(12)

static const PanelTileFn kPanelTiles[PANEL_ROWS] = {
    panel_tile_1, panel_tile_2, panel_tile_3, panel_tile_4,  panel_tile_5,  panel_tile_6,
    panel_tile_7, panel_tile_8, panel_tile_9, panel_tile_10, panel_tile_11, panel_tile_12,
};
#endif

// MARK: - Driver

/// mr rows × one panel: the assembly tile where the thread runs it, else the portable one. A panel with fewer than
/// 32 columns left goes through a 12 × 32 buffer, combined in the same order.
static void panel_tile(int assembly, int mr, int cols, const float *x, ptrdiff_t ldx, const float *panel,
                       ptrdiff_t kc, float *y, ptrdiff_t ldy, int add, const float *bias) {
    float buffer[PANEL_ROWS * PANEL];
    float *out = cols == PANEL ? y : buffer;
    const ptrdiff_t ldo = cols == PANEL ? ldy : PANEL;
    const int add_out = cols == PANEL ? add : 0;
    const float *bias_out = cols == PANEL ? bias : NULL;
#if defined(__x86_64__)
    if (assembly)
        kPanelTiles[mr - 1](x, ldx, panel, kc, out, ldo, add_out, bias_out);
    else
#endif
        panel_tile_portable(mr, x, ldx, panel, kc, out, ldo, add_out, bias_out);
    (void)assembly;
    if (cols == PANEL) return;
    for (int r = 0; r < mr; r++)
        for (int c = 0; c < cols; c++) {
            const float v = add ? buffer[r * PANEL + c] + y[r * ldy + c] : buffer[r * PANEL + c];
            y[r * ldy + c] = bias ? v + bias[c] : v;
        }
}

void vlm_linear_panels(const float *x, ptrdiff_t ldx, ptrdiff_t m, ptrdiff_t k, const float *panels, ptrdiff_t n,
                       const float *bias, float *y, ptrdiff_t ldy, ptrdiff_t n0, ptrdiff_t n1, int accumulate) {
    n1 = n1 < n ? n1 : n;
    if (m <= 0 || n1 <= n0) return;
    if (k <= 0) {
        vlm_linear_empty(m, bias, y, ldy, n0, n1, accumulate);
        return;
    }
    const int assembly = vlm_panels_run();
    for (ptrdiff_t nb = n0; nb < n1; nb += kNPanelBlock) {
        const ptrdiff_t nb1 = n1 - nb < kNPanelBlock ? n1 : nb + kNPanelBlock;
        for (ptrdiff_t kb = 0; kb < k; kb += kKPanel) {
            const ptrdiff_t kc = k - kb < kKPanel ? k - kb : kKPanel;
            const int add = accumulate || kb > 0;
            // The next block's panels (the next k-block of these columns, else the first of the next columns) come
            // from DRAM: asked into L2 a few lines per group of rows. Not with fewer than 8 groups, where the
            // requests came in bursts: 6 % slower at m = 50, against 4 % faster at m = 784.
            const ptrdiff_t next_kb = kb + kKPanel < k ? kb + kKPanel : 0;
            const ptrdiff_t next_nb = kb + kKPanel < k ? nb : nb1;
            const ptrdiff_t next_nb1 = n1 - next_nb < kNPanelBlock ? n1 : next_nb + kNPanelBlock;
            const ptrdiff_t next_kc = k - next_kb < kKPanel ? k - next_kb : kKPanel;
            const ptrdiff_t groups = (m + PANEL_ROWS - 1) / PANEL_ROWS;
            const ptrdiff_t next_panels = next_nb < n1 && groups >= 8 ? (next_nb1 - next_nb + PANEL - 1) / PANEL : 0;
            VLMPrefetch prefetch = vlm_prefetch_rows(panels + next_nb * k + next_kb * PANEL, PANEL * k * sizeof(float),
                                                     next_panels, next_kc * PANEL * sizeof(float), groups);
            for (ptrdiff_t i = 0; i < m; i += PANEL_ROWS) {
                const int mr = m - i < PANEL_ROWS ? (int)(m - i) : PANEL_ROWS;
                vlm_prefetch_step(&prefetch);
                for (ptrdiff_t j = nb; j < nb1; j += PANEL) {
                    const int cols = nb1 - j < PANEL ? (int)(nb1 - j) : PANEL;
                    panel_tile(assembly, mr, cols, x + i * ldx + kb, ldx, panels + j * k + kb * PANEL, kc,
                               y + i * ldy + j, ldy, add, kb == 0 && bias ? bias + j : NULL);
                }
            }
        }
    }
}
