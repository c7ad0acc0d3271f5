#ifndef VLM_DISPATCH_H
#define VLM_DISPATCH_H

/// 1 when the kernels run their AVX2+FMA code on the calling thread: the CPU has it, and the thread did not choose
/// the portable kernels with vlm_kernels_set_choice (also 1 where `linear` runs AVX-512). Shared by linear.c,
/// linear_q8.c and elementwise.c.
int vlm_use_avx2(void);

#endif
