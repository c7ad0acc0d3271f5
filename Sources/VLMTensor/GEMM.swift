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
    public static func linear(
        _ x: UnsafePointer<Float>, rows: Int, inFeatures: Int, ldx: Int? = nil,
        weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?, outFeatures: Int,
        into y: UnsafeMutablePointer<Float>, ldy: Int? = nil, accumulate: Bool = false
    ) {
        let ldy = ldy ?? outFeatures
        let ldx = ldx ?? inFeatures
        let work = rows * outFeatures * inFeatures
        guard splitOutputs, Parallel.workers > 1, work >= 1 << 21, outFeatures >= 128 else {
            linearSerial(
                x, rows: rows, inFeatures: inFeatures, ldx: ldx, weight: weight, bias: bias,
                outFeatures: outFeatures, into: y, ldy: ldy, accumulate: accumulate)
            return
        }
        // Column blocks of y (rows of W) pulled dynamically by the workers, each a single-threaded sgemm: a worker
        // the OS pauses only delays its own block, where OpenBLAS's static split would stall the whole GEMM.
        _ = singleThreadedBLAS
        let blocks = min(outFeatures / 64, Parallel.workers * 3)
        let (px, pw, py) = (SendablePointer(x), SendablePointer(weight), SendablePointer(y))
        let pb = bias.map { SendablePointer($0) }
        Parallel.forEachIndex(blocks) { block in
            let lower = (outFeatures * block / blocks) & ~15
            let upper = block == blocks - 1 ? outFeatures : (outFeatures * (block + 1) / blocks) & ~15
            linearSerial(
                px.base, rows: rows, inFeatures: inFeatures, ldx: ldx, weight: pw.base + lower * inFeatures,
                bias: pb.map { UnsafePointer($0.base + lower) }, outFeatures: upper - lower, into: py.base + lower,
                ldy: ldy, accumulate: accumulate)
        }
    }

    /// OpenBLAS runs inside the split blocks, so it must not start threads of its own; set on first use.
    private static let singleThreadedBLAS: Void = { BLASThreads.count = 1 }()

    /// When true (the default), large `linear` calls split their output columns over `Parallel.workers` and run
    /// OpenBLAS single-threaded per block (`BLASThreads.count` should then be 1); when false, one OpenBLAS call
    /// uses OpenBLAS's own threads. Set once at startup.
    nonisolated(unsafe) public static var splitOutputs = true

    /// `linear` as one OpenBLAS call on the calling thread's OpenBLAS configuration.
    @inlinable
    public static func linearSerial(
        _ x: UnsafePointer<Float>, rows: Int, inFeatures: Int, ldx: Int,
        weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?, outFeatures: Int,
        into y: UnsafeMutablePointer<Float>, ldy: Int, accumulate: Bool
    ) {
        if let bias, !accumulate {
            // Pre-fill y with the bias rows; the GEMM then adds x·Wᵀ (beta = 1).
            for r in 0..<rows { (y + r * ldy).update(from: bias, count: outFeatures) }
        }
        multiply(
            m: rows, n: outFeatures, k: inFeatures, a: x, lda: ldx, b: weight, ldb: inFeatures,
            transposeB: true, c: y, ldc: ldy, beta: (bias != nil || accumulate) ? 1 : 0)
        if let bias, accumulate {
            Elementwise.addRowVector(y, rows: rows, cols: outFeatures, ld: ldy, vector: bias)
        }
    }
}
