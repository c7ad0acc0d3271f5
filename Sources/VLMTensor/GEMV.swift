import COpenBLAS

/// Matrix–vector products on OpenBLAS `cblas_sgemv` (row-major): the exact-search kernel of VLMIndex.
public enum GEMV {
    /// `y(M) = alpha · A(M,N) · x(N) + beta · y`, row-major `A` with row stride `lda`.
    ///
    /// Naive reference: `y[i] = alpha * Σ_j A[i*lda + j] * x[j] + beta * y[i]`.
    @inlinable
    public static func multiply(
        rows: Int, cols: Int, a: UnsafePointer<Float>, lda: Int, x: UnsafePointer<Float>,
        y: UnsafeMutablePointer<Float>, alpha: Float = 1, beta: Float = 0
    ) {
        cblas_sgemv(CblasRowMajor, CblasNoTrans, blasint(rows), blasint(cols), alpha, a, blasint(lda), x, 1, beta, y, 1)
    }
}
