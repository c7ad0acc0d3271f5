/// `nn.LayerNorm` over the last dimension.
public enum LayerNorm {
    /// `y[r] = (x[r] − mean) / √(var + eps) · gamma + beta` for `rows` contiguous rows of length `dim`
    /// (`x` and `y` may be the same buffer). Biased variance, as PyTorch. Rows are split over the cores.
    public static func forward(
        _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, rows: Int, dim: Int,
        gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>, eps: Float
    ) {
        let (px, py, pg, pb) = (SendablePointer(x), SendablePointer(y), SendablePointer(gamma), SendablePointer(beta))
        Parallel.forEachRange(rows, grain: max(1, 32_768 / max(dim, 1))) { range in
            for r in range {
                row(px.base + r * dim, into: py.base + r * dim, dim: dim, gamma: pg.base, beta: pb.base, eps: eps)
            }
        }
    }

    /// One row, on the calling thread.
    @inlinable
    public static func row(
        _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, dim: Int,
        gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>, eps: Float
    ) {
        typealias V = VectorMath.V
        let vectorEnd = dim & ~7
        var acc = V(repeating: 0)
        var i = 0
        while i < vectorEnd {
            acc += VectorMath.load(x + i)
            i += 8
        }
        var sum = acc.sum()
        while i < dim {
            sum += x[i]
            i += 1
        }
        let mean = sum / Float(dim)
        var accSq = V(repeating: 0)
        i = 0
        while i < vectorEnd {
            let d = VectorMath.load(x + i) - V(repeating: mean)
            accSq += d * d
            i += 8
        }
        var sq = accSq.sum()
        while i < dim {
            sq += (x[i] - mean) * (x[i] - mean)
            i += 1
        }
        let rstd = 1 / (sq / Float(dim) + eps).squareRoot()
        i = 0
        while i < vectorEnd {
            let n = (VectorMath.load(x + i) - V(repeating: mean)) * V(repeating: rstd)
            VectorMath.store(n * VectorMath.load(gamma + i) + VectorMath.load(beta + i), y + i)
            i += 8
        }
        while i < dim {
            y[i] = (x[i] - mean) * rstd * gamma[i] + beta[i]
            i += 1
        }
    }
}
