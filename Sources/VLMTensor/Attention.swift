import CVLMKernels

/// Multi-head scaled dot-product attention, `softmax(q·kᵀ/√d (+ causal mask)) · v`, per image and head.
public enum Attention {
    /// More value columns that take every head's probabilities (an int8 block's outlier channels carried through
    /// attention): `values` (batch·seq, columns) with row stride `ldv`, the same for every head; head h's result
    /// goes to columns h·columns ..< (h+1)·columns of `output`, row stride `ldo`, one row per query.
    public struct ExtraValues: @unchecked Sendable {
        // @unchecked: as GEMM.LinearOutput, crosses into the workers only for one call; each writes its own columns.
        public var values: UnsafePointer<Float>
        public var ldv: Int
        public var columns: Int
        public var output: UnsafeMutablePointer<Float>
        public var ldo: Int

        public init(values: UnsafePointer<Float>, ldv: Int, columns: Int, output: UnsafeMutablePointer<Float>, ldo: Int)
        {
            (self.values, self.ldv, self.columns, self.output, self.ldo) = (values, ldv, columns, output, ldo)
        }
    }

    /// Attention for `batch` sequences of `seq` tokens each.
    ///
    /// `q`, `k`, `v` are (batch·seq, heads·headDim) matrices with row strides `ldq`/`ldk`/`ldv` (so they may be
    /// column slices of one fused QKV buffer); head `h` is columns `h·headDim ..< (h+1)·headDim` (PyTorch's
    /// `view(B, T, H, d).transpose(1, 2)`). The result goes to `output` (batch·seq, heads·headDim), row stride `ldo`.
    /// With `causal`, token i attends to tokens 0…i only (CLIP's text tower). Work is split over (sequence, head);
    /// each head runs in CVLMKernels (AVX2+FMA where the CPU has it).
    public static func forward(
        q: UnsafePointer<Float>, ldq: Int, k: UnsafePointer<Float>, ldk: Int, v: UnsafePointer<Float>, ldv: Int,
        into output: UnsafeMutablePointer<Float>, ldo: Int,
        batch: Int, seq: Int, heads: Int, headDim: Int, causal: Bool, extra: ExtraValues? = nil
    ) {
        let (pq, pk, pv, po) = (SendablePointer(q), SendablePointer(k), SendablePointer(v), SendablePointer(output))
        Parallel.forEachRange(batch * heads, grain: 1) { range in
            // Per worker: vlm_attention_head's scratch (kᵀ, the scaled queries and the scores of one head), on the
            // heap: 0.3 MB at 196 tokens, 2.7 MB at SigLIP so400m's 729.
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: vlm_attention_scratch_count(seq, headDim))
            defer { scratch.deallocate() }
            for job in range {
                let (b, h) = job.quotientAndRemainder(dividingBy: heads)
                let rowOffset = b * seq
                let col = h * headDim
                var columns = vlm_attention_extra()
                if let extra {
                    columns = vlm_attention_extra(
                        v: extra.values + rowOffset * extra.ldv, ldv: extra.ldv, columns: extra.columns,
                        out: extra.output + rowOffset * extra.ldo + h * extra.columns, ldo: extra.ldo)
                }
                withUnsafePointer(to: columns) { columns in
                    vlm_attention_head(
                        pq.base + rowOffset * ldq + col, ldq, pk.base + rowOffset * ldk + col, ldk,
                        pv.base + rowOffset * ldv + col, ldv, po.base + rowOffset * ldo + col, ldo, seq, headDim,
                        causal ? 1 : 0, scratch, extra == nil ? nil : columns)
                }
            }
        }
    }
}

extension Attention {
    /// Attention for one query row per sequence: sequence `b`'s query `q[b]` (row stride `ldq`) at token position
    /// `positions[b]` attends to that sequence's keys (all `seq` of them, or 0…position when `causal`), and the
    /// result goes to row b of `output`. This is all a transformer's last block needs when only one token is pooled
    /// from it (CLIP's class token, or each text's end token). `k` and `v` are laid out as in `forward`.
    public static func pooled(
        q: UnsafePointer<Float>, ldq: Int, positions: [Int], k: UnsafePointer<Float>, ldk: Int,
        v: UnsafePointer<Float>, ldv: Int, into output: UnsafeMutablePointer<Float>, ldo: Int,
        seq: Int, heads: Int, headDim: Int, causal: Bool, extra: ExtraValues? = nil
    ) {
        let (pq, pk, pv, po) = (SendablePointer(q), SendablePointer(k), SendablePointer(v), SendablePointer(output))
        let scale = 1 / Float(headDim).squareRoot()
        Parallel.forEachRange(positions.count * heads, grain: 4) { range in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: seq) { scores in
                for job in range {
                    let (b, h) = job.quotientAndRemainder(dividingBy: heads)
                    let keys = causal ? positions[b] + 1 : seq
                    let qi = pq.base + b * ldq + h * headDim
                    let kh = pk.base + b * seq * ldk + h * headDim
                    let vh = pv.base + b * seq * ldv + h * headDim
                    var maxScore = -Float.infinity
                    for j in 0..<keys {
                        scores[j] = VectorMath.dot(qi, kh + j * ldk, count: headDim) * scale
                        maxScore = max(maxScore, scores[j])
                    }
                    var sum: Float = 0
                    for j in 0..<keys {
                        scores[j] = exp(scores[j] - maxScore)
                        sum += scores[j]
                    }
                    let oi = po.base + b * ldo + h * headDim
                    oi.update(repeating: 0, count: headDim)
                    for j in 0..<keys {
                        VectorMath.axpy(scores[j] / sum, vh + j * ldv, into: oi, count: headDim)
                    }
                    if let extra {
                        let values = extra.values + b * seq * extra.ldv
                        let out = extra.output + b * extra.ldo + h * extra.columns
                        out.update(repeating: 0, count: extra.columns)
                        for j in 0..<keys {
                            VectorMath.axpy(scores[j] / sum, values + j * extra.ldv, into: out, count: extra.columns)
                        }
                    }
                }
            }
        }
    }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
