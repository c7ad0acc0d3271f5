#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Naive, obviously-correct versions of every fast kernel (llm.c style), on plain arrays in double-precision
/// accumulators. Tests compare the fast kernels against these; nothing in the forward pass calls them.
public enum Reference {
    /// `y(rows,out) = x(rows,in) · W(out,in)ᵀ + b(out)`.
    public static func linear(_ x: [Float], rows: Int, inFeatures: Int, weight: [Float], bias: [Float]?) -> [Float] {
        let outFeatures = weight.count / inFeatures
        var y = [Float](repeating: 0, count: rows * outFeatures)
        for r in 0..<rows {
            for o in 0..<outFeatures {
                var s = Double(bias?[o] ?? 0)
                for i in 0..<inFeatures { s += Double(x[r * inFeatures + i]) * Double(weight[o * inFeatures + i]) }
                y[r * outFeatures + o] = Float(s)
            }
        }
        return y
    }

    /// Per-row symmetric int8 quantization as the int8 kernel does it: scale = max|x|/127,
    /// q = round-half-even(x · (127/max|x|)) clamped to [−127, 127].
    public static func quantizeRow(_ row: ArraySlice<Float>) -> (q: [Int], scale: Float) {
        let maxabs = row.reduce(Float(0)) { max($0, abs($1)) }
        let inverse: Float = maxabs > 0 ? 127 / maxabs : 0
        let q = row.map { v -> Int in min(127, max(-127, Int(((v * inverse) as Float).rounded(.toNearestOrEven)))) }
        return (q, maxabs / 127)
    }

    /// Per-row asymmetric quantization as `vlm_q8_pack_zp` does it: lo = min(0, min x), hi = max(0, max x),
    /// scale = (hi − lo)/255, zero = round-half-even(−lo/scale), u = clamp(round-half-even(x/scale) + zero, 0, 255);
    /// returns q = u − zero (so x ≈ scale · q).
    public static func quantizeRowZeroPoint(_ row: ArraySlice<Float>) -> (q: [Int], scale: Float, zero: Int) {
        let lo = row.reduce(Float(0)) { min($0, $1) }
        let hi = row.reduce(Float(0)) { max($0, $1) }
        let scale = (hi - lo) / 255
        let inverse: Float = scale > 0 ? 1 / scale : 0
        let zero = scale > 0 ? min(255, max(0, Int((-lo * inverse).rounded(.toNearestOrEven)))) : 128
        let q = row.map { v -> Int in
            min(255, max(0, Int(((v * inverse) as Float).rounded(.toNearestOrEven)) + zero)) - zero
        }
        return (q, scale, zero)
    }

    /// The exact integer products of the int8 linear: dot[i, j] = Σ_p q_x[i, p] · w[j, p] with x quantized per row
    /// (`quantizeRow`, or `quantizeRowZeroPoint` with `zeroPoints`) and `weight` the int8 values (out, in), summed
    /// in 64-bit integers.
    public static func int8Dots(
        _ x: [Float], rows: Int, inFeatures: Int, weight: [Int8], zeroPoints: Bool = false
    ) -> [Int64] {
        let outFeatures = weight.count / inFeatures
        var dots = [Int64](repeating: 0, count: rows * outFeatures)
        for r in 0..<rows {
            let row = x[(r * inFeatures)..<((r + 1) * inFeatures)]
            let q = zeroPoints ? quantizeRowZeroPoint(row).q : quantizeRow(row).q
            for o in 0..<outFeatures {
                var s: Int64 = 0
                for i in 0..<inFeatures { s += Int64(q[i]) * Int64(weight[o * inFeatures + i]) }
                dots[r * outFeatures + o] = s
            }
        }
        return dots
    }

    /// Layer norm of each row of length `dim` (biased variance).
    public static func layerNorm(_ x: [Float], dim: Int, gamma: [Float], beta: [Float], eps: Float) -> [Float] {
        var y = x
        for r in 0..<(x.count / dim) {
            let row = x[(r * dim)..<((r + 1) * dim)].map(Double.init)
            let mean = row.reduce(0, +) / Double(dim)
            let variance = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(dim)
            for c in 0..<dim {
                let n = (row[c] - mean) / (variance + Double(eps)).squareRoot()
                y[r * dim + c] = Float(n * Double(gamma[c]) + Double(beta[c]))
            }
        }
        return y
    }

    /// Row-wise softmax.
    public static func softmax(_ x: [Float], cols: Int) -> [Float] {
        var y = x
        for r in 0..<(x.count / cols) {
            let row = x[(r * cols)..<((r + 1) * cols)].map(Double.init)
            let m = row.max() ?? 0
            let e = row.map { libmExp($0 - m) }
            let s = e.reduce(0, +)
            for c in 0..<cols { y[r * cols + c] = Float(e[c] / s) }
        }
        return y
    }

    /// Attention over contiguous q, k, v of shape (batch·seq, heads·headDim).
    public static func attention(
        q: [Float], k: [Float], v: [Float], batch: Int, seq: Int, heads: Int, headDim: Int, causal: Bool
    ) -> [Float] {
        let width = heads * headDim
        var out = [Float](repeating: 0, count: batch * seq * width)
        let scale = 1 / Double(headDim).squareRoot()
        for b in 0..<batch {
            for h in 0..<heads {
                for i in 0..<seq {
                    var scores = [Double](repeating: -.infinity, count: seq)
                    for j in 0..<seq where !causal || j <= i {
                        var s = 0.0
                        for c in 0..<headDim {
                            s +=
                                Double(q[(b * seq + i) * width + h * headDim + c])
                                * Double(k[(b * seq + j) * width + h * headDim + c])
                        }
                        scores[j] = s * scale
                    }
                    let p = softmax(scores.map(Float.init), cols: seq)
                    for c in 0..<headDim {
                        var s = 0.0
                        for j in 0..<seq { s += Double(p[j]) * Double(v[(b * seq + j) * width + h * headDim + c]) }
                        out[(b * seq + i) * width + h * headDim + c] = Float(s)
                    }
                }
            }
        }
        return out
    }

    /// The activation, element by element with libm.
    public static func activate(_ x: [Float], _ activation: Activation) -> [Float] {
        switch activation {
        case .quickGELU: x.map { Float(Double($0) / (1 + libmExp(-1.702 * Double($0)))) }
        case .gelu: x.map { Float(0.5 * Double($0) * (1 + erf(Double($0) / 2.0.squareRoot()))) }
        case .geluTanh: x.map(Activation.geluTanh)
        }
    }

    @inline(__always)
    private static func libmExp(_ x: Double) -> Double { exp(x) }
}
