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
        let paddedSeq = (seq + 7) & ~7
        Parallel.forEachRange(jobs, grain: 1) { range in
            // Per worker: kᵀ of one head (headDim, paddedSeq) and one row of scores (paddedSeq).
            withUnsafeTemporaryAllocation(of: Float.self, capacity: (headDim + 1) * paddedSeq) { buffer in
                let keysT = buffer.baseAddress!
                let scores = keysT + headDim * paddedSeq
                for job in range {
                    let b = job / heads
                    let h = job % heads
                    let rowOffset = b * seq
                    let col = h * headDim
                    head(
                        q: pq.base + rowOffset * ldq + col, ldq: ldq, k: pk.base + rowOffset * ldk + col, ldk: ldk,
                        v: pv.base + rowOffset * ldv + col, ldv: ldv, into: po.base + rowOffset * ldo + col,
                        ldo: ldo, seq: seq, headDim: headDim, causal: causal, keysT: keysT, scores: scores)
                }
            }
        }
    }

    /// One (sequence, head): `seq` query rows of `headDim` floats each. `keysT` has room for (headDim, seq rounded
    /// up to 8) floats, `scores` for seq rounded up to 8.
    @inlinable
    static func head(
        q: UnsafePointer<Float>, ldq: Int, k: UnsafePointer<Float>, ldk: Int, v: UnsafePointer<Float>, ldv: Int,
        into out: UnsafeMutablePointer<Float>, ldo: Int, seq: Int, headDim: Int, causal: Bool,
        keysT: UnsafeMutablePointer<Float>, scores: UnsafeMutablePointer<Float>
    ) {
        typealias V = VectorMath.V
        let scale = 1 / Float(headDim).squareRoot()
        let paddedSeq = (seq + 7) & ~7
        // kᵀ[c, j] = k[j, c], zero-padded to a multiple of 8 keys so score rows are whole vectors.
        for c in 0..<headDim {
            let row = keysT + c * paddedSeq
            for j in 0..<seq { row[j] = k[j * ldk + c] }
            for j in seq..<paddedSeq { row[j] = 0 }
        }
        let vectorEnd = headDim & ~7
        for i in 0..<seq {
            let qi = q + i * ldq
            let keys = causal ? i + 1 : seq
            let keyVectors = (keys + 7) & ~7
            // scores[j] = Σ_c q[i, c]/√d · kᵀ[c, j], vectorised over j
            scores.update(repeating: 0, count: keyVectors)
            for c in 0..<headDim {
                let qc = V(repeating: qi[c] * scale)
                let row = keysT + c * paddedSeq
                var j = 0
                while j < keyVectors {
                    VectorMath.store(VectorMath.load(scores + j) + qc * VectorMath.load(row + j), scores + j)
                    j += 8
                }
            }
            var maxScore = -Float.infinity
            for j in 0..<keys { maxScore = max(maxScore, scores[j]) }
            // softmax numerators, vectorised; lanes past `keys` are zeroed
            var sumVector = V(repeating: 0)
            var j = 0
            while j < keyVectors {
                var e = VectorMath.exp(VectorMath.load(scores + j) - V(repeating: maxScore))
                if j + 8 > keys {
                    for lane in (keys - j)..<8 { e[lane] = 0 }
                }
                VectorMath.store(e, scores + j)
                sumVector += e
                j += 8
            }
            let inverseSum = 1 / sumVector.sum()
            // out_i = Σ_j p_j · v_j
            let oi = out + i * ldo
            oi.update(repeating: 0, count: headDim)
            for j in 0..<keys {
                let p = scores[j] * inverseSum
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
