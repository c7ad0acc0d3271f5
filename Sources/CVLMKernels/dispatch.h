#ifndef VLM_DISPATCH_H
#define VLM_DISPATCH_H

/// 1 when the kernels run their AVX2+FMA code on the calling thread: the CPU has it, and the thread did not choose
/// the portable kernels with vlm_kernels_set_choice (also 1 where `linear` runs AVX-512). Shared by linear.c,
/// linear_q8.c and elementwise.c.
int vlm_use_avx2(void);

#include <stddef.h>

/// The float32 and int8 kernels' weight prefetch: while one group of weight rows computes against every tile of x,
/// the next group's 64-byte lines are asked into L2 a few per tile (`vlm_prefetch_step` before each tile), so that
/// they arrive from DRAM spread over the group's work. At batch 1 each weight row meets only ~50 tokens, and the
/// weights would otherwise stream in at the start of each group.
typedef struct {
    const char *next;       // the first of the next group's rows
    ptrdiff_t stride;       // bytes from one row to the next
    ptrdiff_t rows;         // rows in the next group
    ptrdiff_t row_lines;    // 64-byte lines per row
    ptrdiff_t per_step;     // lines to ask for before each tile
    ptrdiff_t row, line;    // the next line to ask for
} VLMPrefetch;

/// Spreads `rows` rows of `row_bytes` bytes each, `stride` bytes apart from `next`, over `steps` tiles.
static inline VLMPrefetch vlm_prefetch_rows(const void *next, ptrdiff_t stride, ptrdiff_t rows, ptrdiff_t row_bytes,
                                            ptrdiff_t steps) {
    const ptrdiff_t row_lines = (row_bytes + 63) / 64;
    const VLMPrefetch p = {(const char *)next, stride, rows, row_lines, (rows * row_lines + steps - 1) / steps, 0, 0};
    return p;
}

static inline void vlm_prefetch_step(VLMPrefetch *p) {
    for (ptrdiff_t q = 0; q < p->per_step && p->row < p->rows; q++) {
        __builtin_prefetch(p->next + p->row * p->stride + p->line * 64, 0, 2);
        if (++p->line == p->row_lines) p->line = 0, p->row++;
    }
}

/// The product with k = 0: y[i, j] = (accumulate ? y[i, j] : 0) + (bias ? bias[j] : 0) over rows < m, columns
/// [n0, n1). Shared by the float32 kernels.
static inline void vlm_linear_empty(ptrdiff_t m, const float *bias, float *y, ptrdiff_t ldy, ptrdiff_t n0,
                                    ptrdiff_t n1, int accumulate) {
    for (ptrdiff_t i = 0; i < m; i++)
        for (ptrdiff_t j = n0; j < n1; j++) {
            const float v = bias ? bias[j] : 0;
            y[i * ldy + j] = accumulate ? y[i * ldy + j] + v : v;
        }
}

#endif
