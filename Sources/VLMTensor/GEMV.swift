import COpenBLAS

/// Matrix–vector products on OpenBLAS `cblas_sgemv` (row-major): the exact-search kernel of VLMIndex.
public enum GEMV {
    /// `y(M) = alpha · A(M,N) · x(N) + beta · y`, row-major `A` with row stride `lda`, on the calling thread's
    /// OpenBLAS configuration.
    ///
    /// Naive reference: `y[i] = alpha * Σ_j A[i*lda + j] * x[j] + beta * y[i]`.
    @inlinable
    public static func multiply(
        rows: Int, cols: Int, a: UnsafePointer<Float>, lda: Int, x: UnsafePointer<Float>,
        y: UnsafeMutablePointer<Float>, alpha: Float = 1, beta: Float = 0
    ) {
        cblas_sgemv(
            CblasRowMajor, CblasNoTrans, blasint(rows), blasint(cols), alpha, a, blasint(lda), x, 1, beta, y, 1)
    }

    /// Scores every row of a large matrix against `count` query vectors:
    /// `y(Q, rows) = X(Q, cols) · A(rows, cols)ᵀ` (for one query, `y = A · x`). Rows are split into blocks pulled
    /// dynamically by the caller's `Parallel.workers` threads, each running a single-threaded `sgemv` (one query) or `sgemm`
    /// (several) — like `GEMM.linear`, a descheduled worker only delays its own block, and the work stays parallel
    /// whatever OpenBLAS's thread count is.
    ///
    /// Naive reference: `y[q*rows + i] = Σ_j A[i*cols + j] * X[q*cols + j]`.
    public static func scoreRows(
        _ a: UnsafePointer<Float>, rows: Int, cols: Int, queries x: UnsafePointer<Float>, count q: Int,
        into y: UnsafeMutablePointer<Float>
    ) {
        let workers = Parallel.available
        let blocks = min(workers * 4, rows / 4096)
        guard workers > 1, blocks > 1 else {
            scoreBlock(a, rows: 0..<rows, total: rows, cols: cols, x: x, q: q, y: y)
            return
        }
        _ = singleThreadedBLAS
        let (pa, px, py) = (SendablePointer(a), SendablePointer(x), SendablePointer(y))
        Parallel.forEachIndex(blocks) { block in
            let lower = rows * block / blocks
            let upper = rows * (block + 1) / blocks
            scoreBlock(
                UnsafePointer(pa.base), rows: lower..<upper, total: rows, cols: cols, x: px.base, q: q, y: py.base)
        }
    }

    /// Rows `range` of `scoreRows`.
    private static func scoreBlock(
        _ a: UnsafePointer<Float>, rows range: Range<Int>, total: Int, cols: Int, x: UnsafePointer<Float>, q: Int,
        y: UnsafeMutablePointer<Float>
    ) {
        let block = a + range.lowerBound * cols
        if q == 1 {
            multiply(rows: range.count, cols: cols, a: block, lda: cols, x: x, y: y + range.lowerBound)
        } else {
            GEMM.multiply(
                m: q, n: range.count, k: cols, a: x, lda: cols, b: block, ldb: cols, transposeB: true,
                c: y + range.lowerBound, ldc: total)
        }
    }

    /// The blocks call OpenBLAS from several threads, so it must not start threads of its own; set on first use.
    private static let singleThreadedBLAS: Void = { BLASThreads.count = 1 }()
}
