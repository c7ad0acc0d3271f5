/// Element-wise kernels on raw buffers: residual adds, row-vector adds, L2 normalisation.
public enum Elementwise {
    /// `y[i] += x[i]` for `count` elements.
    @inlinable
    public static func add(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { y[i] += x[i] }
    }

    /// `y[r, c] += v[c]` for a (rows, cols) matrix with row stride `ld`.
    @inlinable
    public static func addRowVector(
        _ y: UnsafeMutablePointer<Float>, rows: Int, cols: Int, ld: Int, vector v: UnsafePointer<Float>
    ) {
        for r in 0..<rows {
            let row = y + r * ld
            for c in 0..<cols { row[c] += v[c] }
        }
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
