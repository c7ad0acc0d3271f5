// Attention heads and MLP activations: the transformer's non-GEMM work, vectorised with AVX2+FMA when the CPU has
// it (the Swift side compiles for baseline x86-64, i.e. SSE2). Same algorithms as the Swift VectorMath references.
#include "vlm_kernels.h"
#include "dispatch.h"

#include <math.h>
#include <string.h>

// MARK: - Portable

static void attention_head_portable(const float *q, ptrdiff_t ldq, const float *k, ptrdiff_t ldk, const float *v,
                                    ptrdiff_t ldv, float *out, ptrdiff_t ldo, ptrdiff_t seq, ptrdiff_t head_dim,
                                    int causal, float *scores, const vlm_attention_extra *extra) {
    const float scale = 1.0f / sqrtf((float)head_dim);
    for (ptrdiff_t i = 0; i < seq; i++) {
        const ptrdiff_t keys = causal ? i + 1 : seq;
        float max_score = -INFINITY;
        for (ptrdiff_t j = 0; j < keys; j++) {
            float s = 0;
            for (ptrdiff_t c = 0; c < head_dim; c++) s += q[i * ldq + c] * scale * k[j * ldk + c];
            scores[j] = s;
            max_score = s > max_score ? s : max_score;
        }
        float sum = 0;
        for (ptrdiff_t j = 0; j < keys; j++) sum += scores[j] = expf(scores[j] - max_score);
        float *o = out + i * ldo;
        for (ptrdiff_t c = 0; c < head_dim; c++) o[c] = 0;
        for (ptrdiff_t j = 0; j < keys; j++) {
            const float p = scores[j] / sum;
            for (ptrdiff_t c = 0; c < head_dim; c++) o[c] += p * v[j * ldv + c];
        }
        if (extra) {
            float *ox = extra->out + i * extra->ldo;
            for (ptrdiff_t c = 0; c < extra->columns; c++) ox[c] = 0;
            for (ptrdiff_t j = 0; j < keys; j++) {
                const float p = scores[j] / sum;
                for (ptrdiff_t c = 0; c < extra->columns; c++) ox[c] += p * extra->v[j * extra->ldv + c];
            }
        }
    }
}

// tanh-GELU as 0.5x(1 + tanh(u)) = x·σ(2u), u = √(2/π)(x + 0.044715x³): one exp, no cancellation for x < 0.
static const float gelu_tanh_a = 1.5957691216057308f;  // 2·√(2/π)
static const float gelu_tanh_b = 0.0713548162726009f;  // 2·√(2/π)·0.044715

static void activation_portable(float *x, ptrdiff_t count, int kind) {
    for (ptrdiff_t i = 0; i < count; i++) {
        const float v = x[i];
        if (kind == VLM_GELU) {
            x[i] = 0.5f * v * (1 + erff(v * 0.70710678f));
        } else if (kind == VLM_GELU_TANH) {
            x[i] = v / (1 + expf(-(gelu_tanh_a * v + gelu_tanh_b * v * v * v)));
        } else {
            x[i] = v / (1 + expf(-1.702f * v));
        }
    }
}

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define VLM_AVX2 __attribute__((target("avx2,fma")))
#define VLM_INLINE_AVX2 __attribute__((target("avx2,fma"), always_inline)) static inline

/// eˣ: Cephes `expf` polynomial after x = n·ln2 + r, inputs clamped to [-87.3, 88.3] (VectorMath.exp).
VLM_INLINE_AVX2 __m256 exp8(__m256 x) {
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.3f)), _mm256_set1_ps(88.3f));
    const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    const __m256 y = _mm256_add_ps(_mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r), _mm256_set1_ps(1));
    const __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(y, _mm256_castsi256_ps(bits));
}

/// erf(x), Abramowitz & Stegun 7.1.26 (|error| ≤ 1.5e-7) (VectorMath.erf).
VLM_INLINE_AVX2 __m256 erf8(__m256 x) {
    const __m256 sign = _mm256_and_ps(x, _mm256_set1_ps(-0.0f));
    const __m256 a = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x);
    const __m256 one = _mm256_set1_ps(1);
    const __m256 t = _mm256_div_ps(one, _mm256_fmadd_ps(_mm256_set1_ps(0.3275911f), a, one));
    __m256 p = _mm256_set1_ps(1.061405429f);
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-1.453152027f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(1.421413741f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-0.284496736f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(0.254829592f));
    const __m256 e = exp8(_mm256_sub_ps(_mm256_setzero_ps(), _mm256_mul_ps(a, a)));
    const __m256 y = _mm256_fnmadd_ps(_mm256_mul_ps(p, t), e, _mm256_set1_ps(1));
    return _mm256_or_ps(y, sign);
}

VLM_INLINE_AVX2 float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
}

/// Lanes < n set: kLaneMask + 8 - n.
static const int kLaneMask[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};

/// The first n of 8 lanes set, 0 < n ≤ 8.
VLM_INLINE_AVX2 __m256 first_lanes(ptrdiff_t n) {
    return _mm256_castsi256_ps(_mm256_loadu_si256((const __m256i *)(kLaneMask + 8 - n)));
}

/// scores_r[j] = Σ_c qs_r[c] · kᵀ[c, j] for the R query rows qs_r (R ≤ 3, a constant after inlining; already scaled
/// by 1/√d) and `vectors` ≤ 4 groups of 8 keys: R × 4 accumulators sharing each load of kᵀ. Three rows (12
/// accumulators) keep both FMA pipes busy through the FMA's latency, where two rows (8) left the loop latency-bound.
VLM_INLINE_AVX2 void attention_scores_avx2(const int R, const int vectors, const float *qs, const float *keys_t,
                                           ptrdiff_t padded, ptrdiff_t head_dim, float *scores) {
    __m256 acc[3][4];
    for (int r = 0; r < 3; r++)
        for (int t = 0; t < 4; t++) acc[r][t] = _mm256_setzero_ps();
    for (ptrdiff_t c = 0; c < head_dim; c++) {
        const float *row = keys_t + c * padded;
        __m256 qc[3];
        for (int r = 0; r < R; r++) qc[r] = _mm256_broadcast_ss(qs + r * head_dim + c);
        for (int t = 0; t < 4; t++) {
            if (t >= vectors) break;
            const __m256 kv = _mm256_loadu_ps(row + 8 * t);
            for (int r = 0; r < R; r++) acc[r][t] = _mm256_fmadd_ps(qc[r], kv, acc[r][t]);
        }
    }
    for (int r = 0; r < R; r++)
        for (int t = 0; t < vectors; t++) _mm256_storeu_ps(scores + r * padded + 8 * t, acc[r][t]);
}

/// Softmax numerators of one row of scores in place (lanes past `keys` zeroed); returns 1 / their sum.
VLM_INLINE_AVX2 float attention_softmax_avx2(float *scores, ptrdiff_t keys) {
    const ptrdiff_t key_vectors = (keys + 7) & ~(ptrdiff_t)7;
    __m256 max_vector = _mm256_set1_ps(-INFINITY);
    for (ptrdiff_t j = 0; j < key_vectors; j += 8) {
        __m256 s = _mm256_loadu_ps(scores + j);
        if (j + 8 > keys) {  // lanes past the last key must not win
            s = _mm256_blendv_ps(_mm256_set1_ps(-INFINITY), s, first_lanes(keys - j));
        }
        max_vector = _mm256_max_ps(max_vector, s);
    }
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(max_vector), _mm256_extractf128_ps(max_vector, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
    const __m256 max_score = _mm256_set1_ps(_mm_cvtss_f32(m4));
    __m256 sum_vector = _mm256_setzero_ps();
    for (ptrdiff_t j = 0; j < key_vectors; j += 8) {
        __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(scores + j), max_score));
        if (j + 8 > keys) e = _mm256_and_ps(e, first_lanes(keys - j));
        _mm256_storeu_ps(scores + j, e);
        sum_vector = _mm256_add_ps(sum_vector, e);
    }
    return 1.0f / hsum8(sum_vector);
}

/// out_r[0 ..< 8·vectors] = inverse_r · Σ_{j < keys_r} p_r[j] · v_j for R rows (R ≤ 3; p_r padded apart) and
/// `vectors` ≤ 4 groups of 8 columns of v (row stride 32): R × 4 accumulators sharing each load of v. In a causal
/// group each later row has one key more: the keys beyond the first row's it finishes alone, so each row's sum is the
/// same sequence of FMAs as one row on its own.
VLM_INLINE_AVX2 void attention_values_avx2(const int R, const float *p, ptrdiff_t padded, const ptrdiff_t *keys,
                                           const float *inverse, const float *v, const int vectors, float *out,
                                           ptrdiff_t ldo) {
    ptrdiff_t shared = keys[0];
    for (int r = 1; r < R; r++) shared = keys[r] < shared ? keys[r] : shared;
    __m256 o[3][4];
    for (int r = 0; r < 3; r++)
        for (int t = 0; t < 4; t++) o[r][t] = _mm256_setzero_ps();
    for (ptrdiff_t j = 0; j < shared; j++) {
        const float *vj = v + j * 32;
        __m256 pj[3];
        for (int r = 0; r < R; r++) pj[r] = _mm256_broadcast_ss(p + r * padded + j);
        for (int t = 0; t < 4; t++) {
            if (t >= vectors) break;
            const __m256 vv = _mm256_loadu_ps(vj + 8 * t);
            for (int r = 0; r < R; r++) o[r][t] = _mm256_fmadd_ps(pj[r], vv, o[r][t]);
        }
    }
    for (int r = 0; r < R; r++)
        for (ptrdiff_t j = shared; j < keys[r]; j++) {
            const __m256 pj = _mm256_broadcast_ss(p + r * padded + j);
            const float *vj = v + j * 32;
            for (int t = 0; t < vectors; t++) o[r][t] = _mm256_fmadd_ps(pj, _mm256_loadu_ps(vj + 8 * t), o[r][t]);
        }
    for (int r = 0; r < R; r++) {
        const __m256 scale = _mm256_set1_ps(inverse[r]);
        for (int t = 0; t < vectors; t++) _mm256_storeu_ps(out + r * ldo + 8 * t, _mm256_mul_ps(o[r][t], scale));
    }
}

/// `attention_values_avx2` for every query row, in threes (the last one or two together): out[i, 0 ..< 8·vectors]
/// from the probabilities `scores` (row stride padded) and a block of v (seq, 32).
VLM_INLINE_AVX2 void attention_values_rows_avx2(const float *scores, ptrdiff_t padded, const float *inverse,
                                                const float *vblock, const int vectors, float *out, ptrdiff_t ldo,
                                                ptrdiff_t seq, int causal) {
    for (ptrdiff_t i = 0; i < seq; i += 3) {
        const int rows = seq - i < 3 ? (int)(seq - i) : 3;
        const ptrdiff_t keys[3] = {causal ? i + 1 : seq, causal ? i + 2 : seq, causal ? i + 3 : seq};
        const float *p = scores + i * padded;
        if (rows == 3 && vectors == 4) {  // the usual case: constant arguments, so the loops unroll
            attention_values_avx2(3, p, padded, keys, inverse + i, vblock, 4, out + i * ldo, ldo);
        } else if (rows == 3) {
            attention_values_avx2(3, p, padded, keys, inverse + i, vblock, vectors, out + i * ldo, ldo);
        } else if (rows == 2) {
            attention_values_avx2(2, p, padded, keys, inverse + i, vblock, vectors, out + i * ldo, ldo);
        } else {
            attention_values_avx2(1, p, padded, keys, inverse + i, vblock, vectors, out + i * ldo, ldo);
        }
    }
}

/// One head, in three passes over all its query rows so that what each pass reads again and again stays in L1:
/// the scores by blocks of 32 keys (a block of kᵀ, laid out (head_dim, seq rounded up to 8), is head_dim × 128
/// bytes), the softmax of each row, then the values by blocks of 32 columns of v. Query rows go in threes, the last
/// one or two together. Each score and each output is the same sequence of FMAs as one row on its own.
VLM_AVX2 static void attention_head_avx2(const float *q, ptrdiff_t ldq, const float *k, ptrdiff_t ldk, const float *v,
                                         ptrdiff_t ldv, float *out, ptrdiff_t ldo, ptrdiff_t seq, ptrdiff_t head_dim,
                                         int causal, float *scratch, const vlm_attention_extra *extra) {
    const float scale = 1.0f / sqrtf((float)head_dim);
    const ptrdiff_t padded = (seq + 7) & ~(ptrdiff_t)7;
    float *keys_t = scratch;                     // (head_dim, padded)
    float *qs = keys_t + head_dim * padded;      // (seq, head_dim): q / √d
    float *scores = qs + seq * head_dim;         // (seq, padded)
    float *inverse = scores + seq * padded;      // (seq): 1 / each row's softmax sum
    float *vblock = inverse + seq;               // (seq, 32): 32 columns of v
    float *tail = vblock + seq * 32;             // (seq, 32): outputs of the columns beyond head_dim's vectors
    // k's rows are far apart in the fused QKV buffer: read each once, whole.
    for (ptrdiff_t j = 0; j < seq; j++)
        for (ptrdiff_t c = 0; c < head_dim; c++) keys_t[c * padded + j] = k[j * ldk + c];
    for (ptrdiff_t c = 0; c < head_dim; c++)
        for (ptrdiff_t j = seq; j < padded; j++) keys_t[c * padded + j] = 0;
    for (ptrdiff_t i = 0; i < seq; i++)
        for (ptrdiff_t c = 0; c < head_dim; c++) qs[i * head_dim + c] = q[i * ldq + c] * scale;
    // Scores of each group of rows for the keys its last row sees (rounded up to 8; the earlier rows' extra lanes
    // are masked by the softmax).
    for (ptrdiff_t j0 = 0; j0 < padded; j0 += 32)
        for (ptrdiff_t i = 0; i < seq; i += 3) {
            const int rows = seq - i < 3 ? (int)(seq - i) : 3;
            const ptrdiff_t key_vectors = causal ? (i + rows + 7) & ~(ptrdiff_t)7 : padded;
            if (j0 >= key_vectors) continue;
            const int vectors = key_vectors - j0 < 32 ? (int)(key_vectors - j0) / 8 : 4;
            const float *qi = qs + i * head_dim;
            float *si = scores + i * padded + j0;
            if (rows == 3 && vectors == 4) {  // the usual case: constant arguments, so the loops unroll
                attention_scores_avx2(3, 4, qi, keys_t + j0, padded, head_dim, si);
            } else if (rows == 3) {
                attention_scores_avx2(3, vectors, qi, keys_t + j0, padded, head_dim, si);
            } else if (rows == 2) {
                attention_scores_avx2(2, vectors, qi, keys_t + j0, padded, head_dim, si);
            } else {
                attention_scores_avx2(1, vectors, qi, keys_t + j0, padded, head_dim, si);
            }
        }
    for (ptrdiff_t i = 0; i < seq; i++) inverse[i] = attention_softmax_avx2(scores + i * padded, causal ? i + 1 : seq);
    // Values by blocks of up to 32 columns, each block of v copied once into vblock (seq, 32): v's rows are far
    // apart in the fused QKV buffer and would crowd a few cache sets.
    const ptrdiff_t dim_vectors = head_dim & ~(ptrdiff_t)7;
    for (ptrdiff_t c0 = 0; c0 < dim_vectors; c0 += 32) {
        const int vectors = (int)((dim_vectors - c0 < 32 ? dim_vectors - c0 : 32) / 8);
        for (ptrdiff_t j = 0; j < seq; j++) memcpy(vblock + j * 32, v + j * ldv + c0, sizeof(float) * 8 * vectors);
        attention_values_rows_avx2(scores, padded, inverse, vblock, vectors, out + c0, ldo, seq, causal);
    }
    // The last head_dim mod 8 columns of v, then the extra value columns, likewise by blocks of up to 32, each
    // zero-padded to whole vectors: their outputs go through `tail` (seq, 32) to where they belong.
    const ptrdiff_t rest = head_dim - dim_vectors, columns = rest + (extra ? extra->columns : 0);
    for (ptrdiff_t t0 = 0; t0 < columns; t0 += 32) {
        const ptrdiff_t count = columns - t0 < 32 ? columns - t0 : 32;
        const int vectors = (int)((count + 7) / 8);
        for (ptrdiff_t j = 0; j < seq; j++)
            for (ptrdiff_t t = 0; t < 8 * vectors; t++) {
                const ptrdiff_t c = t0 + t;
                vblock[j * 32 + t] = t >= count ? 0 : c < rest ? v[j * ldv + dim_vectors + c]
                                                               : extra->v[j * extra->ldv + c - rest];
            }
        attention_values_rows_avx2(scores, padded, inverse, vblock, vectors, tail, 32, seq, causal);
        for (ptrdiff_t i = 0; i < seq; i++)
            for (ptrdiff_t t = 0; t < count; t++) {
                const ptrdiff_t c = t0 + t;
                if (c < rest)
                    out[i * ldo + dim_vectors + c] = tail[i * 32 + t];
                else
                    extra->out[i * extra->ldo + c - rest] = tail[i * 32 + t];
            }
    }
}

VLM_AVX2 static void activation_avx2(float *x, ptrdiff_t count, int kind) {
    ptrdiff_t i = 0;
    for (; i + 8 <= count; i += 8) {
        const __m256 v = _mm256_loadu_ps(x + i);
        __m256 y;
        if (kind == VLM_GELU_TANH) {
            // x·σ(2u) with 2u = a·x + b·x³
            const __m256 v2 = _mm256_mul_ps(v, v);
            const __m256 u2 = _mm256_mul_ps(v, _mm256_fmadd_ps(_mm256_set1_ps(gelu_tanh_b), v2, _mm256_set1_ps(gelu_tanh_a)));
            y = _mm256_div_ps(v, _mm256_add_ps(_mm256_set1_ps(1), exp8(_mm256_sub_ps(_mm256_setzero_ps(), u2))));
        } else if (kind == VLM_GELU) {
            const __m256 e = erf8(_mm256_mul_ps(v, _mm256_set1_ps(0.70710678118654752f)));
            y = _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), v), _mm256_add_ps(_mm256_set1_ps(1), e));
        } else {
            y = _mm256_div_ps(v, _mm256_add_ps(_mm256_set1_ps(1), exp8(_mm256_mul_ps(v, _mm256_set1_ps(-1.702f)))));
        }
        _mm256_storeu_ps(x + i, y);
    }
    activation_portable(x + i, count - i, kind);
}
#endif

size_t vlm_attention_scratch_count(ptrdiff_t seq, ptrdiff_t head_dim) {
    const ptrdiff_t padded = (seq + 7) & ~(ptrdiff_t)7;
    // kᵀ, scaled q, scores, 1/sums, a block of v, the outputs of the last columns
    return (size_t)(head_dim * padded + seq * head_dim + seq * padded + seq + 2 * seq * 32);
}

void vlm_attention_head(const float *q, ptrdiff_t ldq, const float *k, ptrdiff_t ldk, const float *v, ptrdiff_t ldv,
                        float *out, ptrdiff_t ldo, ptrdiff_t seq, ptrdiff_t head_dim, int causal, float *scratch,
                        const vlm_attention_extra *extra) {
#if defined(__x86_64__) || defined(__i386__)
    if (vlm_use_avx2()) {
        attention_head_avx2(q, ldq, k, ldk, v, ldv, out, ldo, seq, head_dim, causal, scratch, extra);
        return;
    }
#endif
    attention_head_portable(q, ldq, k, ldk, v, ldv, out, ldo, seq, head_dim, causal, scratch, extra);
}

void vlm_activation(float *x, ptrdiff_t count, int kind) {
#if defined(__x86_64__) || defined(__i386__)
    if (vlm_use_avx2()) {
        activation_avx2(x, count, kind);
        return;
    }
#endif
    activation_portable(x, count, kind);
}
