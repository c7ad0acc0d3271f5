#ifndef VLM_DISPATCH_H
#define VLM_DISPATCH_H

/// 1 when the kernels run their AVX2+FMA code (the CPU has it, and neither VLM_KERNELS=portable nor
/// vlm_kernels_force_portable asks otherwise). Shared by linear.c and elementwise.c.
int vlm_use_avx2(void);

#endif
