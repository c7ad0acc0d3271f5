import COpenBLAS
import CVLMKernels

/// Matrix–vector products: OpenBLAS `cblas_sgemv` (row-major), and the exact-search scoring of VLMIndex.
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

    /// Scores every row of a large matrix of fp16 bit patterns (IEEE binary16, an index's stored form) against
    /// `count` fp32 query vectors: `y(Q, rows) = X(Q, cols) · A(rows, cols)ᵀ`, widening A while it is read. One
    /// query runs `vlm_score_rows_f16` (AVX2+F16C; bandwidth-bound, on half the bytes of fp32); several widen each
    /// block of 128 rows once into a buffer that stays in L2 and multiply it with a single-threaded `sgemm`. Rows are
    /// split into blocks pulled dynamically by the caller's `Parallel.workers` threads — like `GEMM.linear`, a
    /// descheduled worker only delays its own block, and the work stays parallel whatever OpenBLAS's thread count is.
    ///
    /// Naive reference: `y[q*rows + i] = Σ_j float(A[i*cols + j]) * X[q*cols + j]`.
    public static func scoreRows(
        halves a: UnsafePointer<UInt16>, rows: Int, cols: Int, queries x: UnsafePointer<Float>, count q: Int,
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
        _ a: UnsafePointer<UInt16>, rows range: Range<Int>, total: Int, cols: Int, x: UnsafePointer<Float>, q: Int,
        y: UnsafeMutablePointer<Float>
    ) {
        if q == 1 {
            vlm_score_rows_f16(a + range.lowerBound * cols, range.count, cols, x, y + range.lowerBound)
            return
        }
        let step = 128
        let widened = UnsafeMutablePointer<Float>.allocate(capacity: step * cols)
        defer { widened.deallocate() }
        for lower in stride(from: range.lowerBound, to: range.upperBound, by: step) {
            let n = min(step, range.upperBound - lower)
            vlm_f16_widen(a + lower * cols, widened, n * cols)
            GEMM.multiply(
                m: q, n: n, k: cols, a: x, lda: cols, b: widened, ldb: cols, transposeB: true, c: y + lower,
                ldc: total)
        }
    }

    /// The blocks call OpenBLAS from several threads, so it must not start threads of its own; set on first use.
    private static let singleThreadedBLAS: Void = { BLASThreads.count = 1 }()
}
