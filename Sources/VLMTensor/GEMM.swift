import COpenBLAS

/// Matrix products on OpenBLAS `cblas_sgemm` (row-major throughout).
public enum GEMM {
    /// `C(M,N) = alpha · op(A) · op(B) + beta · C`, row-major, where `op(A)` is (M,K) and `op(B)` is (K,N).
    /// `lda`/`ldb`/`ldc` are the row strides of the matrices as stored.
    @inlinable
    public static func multiply(
        m: Int, n: Int, k: Int,
        a: UnsafePointer<Float>, lda: Int, transposeA: Bool = false,
        b: UnsafePointer<Float>, ldb: Int, transposeB: Bool = false,
        c: UnsafeMutablePointer<Float>, ldc: Int,
        alpha: Float = 1, beta: Float = 0
    ) {
        cblas_sgemm(
            CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
            blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda), b, blasint(ldb), beta, c, blasint(ldc))
    }

    /// A PyTorch `nn.Linear`: `y(rows,out) = x(rows,in) · W(out,in)ᵀ (+ b(out))`, or `y += …` when `accumulate`
    /// (a residual add fused into the GEMM via beta = 1). Rows of `x` and `y` may be strided (`ldx`, `ldy`).
    @inlinable
    public static func linear(
        _ x: UnsafePointer<Float>, rows: Int, inFeatures: Int, ldx: Int? = nil,
        weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?, outFeatures: Int,
        into y: UnsafeMutablePointer<Float>, ldy: Int? = nil, accumulate: Bool = false
    ) {
        let ldy = ldy ?? outFeatures
        if let bias, !accumulate {
            // Pre-fill y with the bias rows; the GEMM then adds x·Wᵀ (beta = 1).
            for r in 0..<rows { (y + r * ldy).update(from: bias, count: outFeatures) }
        }
        multiply(
            m: rows, n: outFeatures, k: inFeatures, a: x, lda: ldx ?? inFeatures, b: weight, ldb: inFeatures,
            transposeB: true, c: y, ldc: ldy, beta: (bias != nil || accumulate) ? 1 : 0)
        if let bias, accumulate {
            Elementwise.addRowVector(y, rows: rows, cols: outFeatures, ld: ldy, vector: bias)
        }
    }
}
