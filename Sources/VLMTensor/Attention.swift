/// Multi-head scaled dot-product attention, `softmax(q·kᵀ/√d (+ causal mask)) · v`, per image and head.
public enum Attention {
    /// Attention for `batch` sequences of `seq` tokens each.
    ///
    /// `q`, `k`, `v` are (batch·seq, heads·headDim) matrices with row strides `ldq`/`ldk`/`ldv` (so they may be
    /// column slices of one fused QKV buffer); head `h` is columns `h·headDim ..< (h+1)·headDim` (PyTorch's
    /// `view(B, T, H, d).transpose(1, 2)`). The result goes to `output` (batch·seq, heads·headDim), row stride `ldo`.
    /// With `causal`, token i attends to tokens 0…i only (CLIP's text tower). Work is split over (sequence, head).
    public static func forward(
        q: UnsafePointer<Float>, ldq: Int, k: UnsafePointer<Float>, ldk: Int, v: UnsafePointer<Float>, ldv: Int,
        into output: UnsafeMutablePointer<Float>, ldo: Int,
        batch: Int, seq: Int, heads: Int, headDim: Int, causal: Bool
    ) {
        let (pq, pk, pv, po) = (SendablePointer(q), SendablePointer(k), SendablePointer(v), SendablePointer(output))
        let jobs = batch * heads
        Parallel.forEachRange(jobs, grain: 1) { range in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: seq + 8) { scores in
                for job in range {
                    let b = job / heads
                    let h = job % heads
                    let rowOffset = b * seq
                    let col = h * headDim
                    head(
                        q: pq.base + rowOffset * ldq + col, ldq: ldq, k: pk.base + rowOffset * ldk + col, ldk: ldk,
                        v: pv.base + rowOffset * ldv + col, ldv: ldv, into: po.base + rowOffset * ldo + col,
                        ldo: ldo, seq: seq, headDim: headDim, causal: causal, scores: scores.baseAddress!)
                }
            }
        }
    }

    /// One (sequence, head): `seq` query rows of `headDim` floats each.
    @inlinable
    static func head(
        q: UnsafePointer<Float>, ldq: Int, k: UnsafePointer<Float>, ldk: Int, v: UnsafePointer<Float>, ldv: Int,
        into out: UnsafeMutablePointer<Float>, ldo: Int, seq: Int, headDim: Int, causal: Bool,
        scores: UnsafeMutablePointer<Float>
    ) {
        typealias V = VectorMath.V
        let scale = 1 / Float(headDim).squareRoot()
        let vectorEnd = headDim & ~7
        for i in 0..<seq {
            let qi = q + i * ldq
            let keys = causal ? i + 1 : seq
            // scores[j] = q_i · k_j / √d
            var maxScore = -Float.infinity
            for j in 0..<keys {
                let kj = k + j * ldk
                var acc = V(repeating: 0)
                var c = 0
                while c < vectorEnd {
                    acc += VectorMath.load(qi + c) * VectorMath.load(kj + c)
                    c += 8
                }
                var s = acc.sum()
                while c < headDim {
                    s += qi[c] * kj[c]
                    c += 1
                }
                s *= scale
                scores[j] = s
                maxScore = max(maxScore, s)
            }
            // softmax numerators, vectorised
            var sumVector = V(repeating: 0)
            var j = 0
            while j + 8 <= keys {
                let e = VectorMath.exp(VectorMath.load(scores + j) - V(repeating: maxScore))
                VectorMath.store(e, scores + j)
                sumVector += e
                j += 8
            }
            var sum = sumVector.sum()
            while j < keys {
                let e = VectorMath.exp(V(repeating: scores[j] - maxScore))[0]
                scores[j] = e
                sum += e
                j += 1
            }
            // out_i = Σ_j p_j · v_j
            let oi = out + i * ldo
            oi.update(repeating: 0, count: headDim)
            for j in 0..<keys {
                let p = scores[j] / sum
                let vj = v + j * ldv
                var c = 0
                while c < vectorEnd {
                    VectorMath.store(VectorMath.load(oi + c) + V(repeating: p) * VectorMath.load(vj + c), oi + c)
                    c += 8
                }
                while c < headDim {
                    oi[c] += p * vj[c]
                    c += 1
                }
            }
        }
    }
}
