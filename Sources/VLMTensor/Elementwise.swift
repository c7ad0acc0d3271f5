/// Element-wise kernels on raw buffers: embedding sums, L2 normalisation. (Residual and bias adds of the
/// transformer blocks are fused into `linear`.)
public enum Elementwise {
    /// `y[i] += x[i]` for `count` elements (GIT's position and temporal embeddings).
    @inlinable
    public static func add(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { y[i] += x[i] }
    }

    /// Scales each of the `rows` rows of length `dim` (contiguous) to unit L2 norm (rows of zeros are left alone).
    @inlinable
    public static func l2NormalizeRows(_ x: UnsafeMutablePointer<Float>, rows: Int, dim: Int) {
        for r in 0..<rows {
            let row = x + r * dim
            var sum: Float = 0
            for c in 0..<dim { sum += row[c] * row[c] }
            guard sum > 0 else { continue }
            let inv = 1 / sum.squareRoot()
            for c in 0..<dim { row[c] *= inv }
        }
    }
}
