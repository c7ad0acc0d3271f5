import COpenBLAS
import CVLMKernels

/// Matrix products: `nn.Linear` layers on vlm-stream's own kernel (CVLMKernels), general products on OpenBLAS.
public enum GEMM {
    /// `C(M,N) = alpha · op(A) · op(B) + beta · C` on OpenBLAS `cblas_sgemm`, row-major, where `op(A)` is (M,K) and
    /// `op(B)` is (K,N). `lda`/`ldb`/`ldc` are the row strides of the matrices as stored.
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

    /// The same product in float64 (`cblas_dgemm`), for small objectives whose gradients are checked against
    /// float64 references (query tuning).
    @inlinable
    public static func multiply(
        m: Int, n: Int, k: Int,
        a: UnsafePointer<Double>, lda: Int, transposeA: Bool = false,
        b: UnsafePointer<Double>, ldb: Int, transposeB: Bool = false,
        c: UnsafeMutablePointer<Double>, ldc: Int,
        alpha: Double = 1, beta: Double = 0
    ) {
        cblas_dgemm(
            CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
            blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda), b, blasint(ldb), beta, c, blasint(ldc))
    }

    /// One weight applied by `linear(_:rows:inFeatures:ldx:outputs:)`: `y = act(x·Wᵀ + b)`, or `y += x·Wᵀ + b` when
    /// `accumulate` (a residual add fused into the product). `weight` is (outFeatures, inFeatures) row-major, as
    /// PyTorch stores it; it is read in place, so a memory-mapped checkpoint is never copied.
    public struct LinearOutput: @unchecked Sendable {
        // @unchecked: crosses into the kernel's worker threads only for the duration of one `linear` call, which
        // reads `weight`/`bias` and gives each worker its own blocks of `y`'s columns to write.
        public var weight: UnsafePointer<Float>
        /// The same weight in the AVX-512 kernel's panels (`FloatPanels`), when the calling thread runs them.
        public var panels: UnsafePointer<Float>?
        public var bias: UnsafePointer<Float>?
        public var outFeatures: Int
        public var y: UnsafeMutablePointer<Float>
        public var ldy: Int
        public var accumulate: Bool
        public var activation: Activation?

        public init(
            weight: UnsafePointer<Float>, panels: UnsafePointer<Float>? = nil, bias: UnsafePointer<Float>?,
            outFeatures: Int, into y: UnsafeMutablePointer<Float>, ldy: Int? = nil, accumulate: Bool = false,
            activation: Activation? = nil
        ) {
            precondition(!(accumulate && activation != nil), "GEMM: an activation cannot follow a residual add")
            self.weight = weight
            self.panels = panels
            self.bias = bias
            self.outFeatures = outFeatures
            self.y = y
            self.ldy = ldy ?? outFeatures
            self.accumulate = accumulate
            self.activation = activation
        }

        /// Applies the activation, if any, to `columns` of the first `rows` rows of y, just written and still in
        /// this core's cache.
        func activate(rows: Int, columns: Range<Int>) {
            guard let activation else { return }
            for r in 0..<rows { activation.apply(y + r * ldy + columns.lowerBound, count: columns.count) }
        }
    }

    /// A PyTorch `nn.Linear`: `y(rows,out) = x(rows,in) · W(out,in)ᵀ (+ b(out))`, or `y += …` when `accumulate`,
    /// then `activation` if given. Rows of `x` and `y` may be strided (`ldx`, `ldy`).
    public static func linear(
        _ x: UnsafePointer<Float>, rows: Int, inFeatures: Int, ldx: Int? = nil,
        weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?, outFeatures: Int,
        into y: UnsafeMutablePointer<Float>, ldy: Int? = nil, accumulate: Bool = false, activation: Activation? = nil
    ) {
        linear(
            x, rows: rows, inFeatures: inFeatures, ldx: ldx,
            outputs: [
                LinearOutput(
                    weight: weight, bias: bias, outFeatures: outFeatures, into: y, ldy: ldy, accumulate: accumulate,
                    activation: activation)
            ])
    }

    /// Several `nn.Linear` layers over the same input (q, k and v projections): `x` is packed once and every
    /// output's columns are split over `Parallel.workers` in one parallel region.
    ///
    /// The output columns go out in a few blocks per worker, claimed dynamically, so a worker the OS pauses only
    /// delays its own block. Each block streams its rows of W once while the packed x stays in the cores' L2.
    /// Large inputs (the MLP's second layer at batch 8) are packed and multiplied one k-slice at a time, so the
    /// packing buffer stays under 2 MB. When every output comes with its weight in panels (an AVX-512 CPU), the
    /// panel kernel runs instead, on x as it is.
    public static func linear(
        _ x: UnsafePointer<Float>, rows: Int, inFeatures: Int, ldx: Int? = nil, outputs: [LinearOutput]
    ) {
        guard rows > 0, !outputs.isEmpty else { return }
        let ldx = ldx ?? inFeatures
        if outputs.allSatisfy({ $0.panels != nil }) {
            linearOverPanels(x, rows: rows, inFeatures: inFeatures, ldx: ldx, outputs: outputs)
            return
        }
        // Pack all of x when it is at most 2 MB; a wider batch goes a k-slice at a time (fewer parallel regions
        // the other way, measured faster at batch 1).
        let depth = rows * inFeatures <= 1 << 19 ? max(1, inFeatures) : max(1, vlm_linear_block_depth(inFeatures))
        guard let packed = vlm_thread_scratch(vlm_packed_count(rows, min(depth, max(inFeatures, 1)))) else {
            fatalError("GEMM: out of memory packing a \(rows)×\(inFeatures) input")
        }
        let blocksPerOutput = columnBlocks(rows: rows, inFeatures: inFeatures, outputs: outputs)
        let tileRows = Int(vlm_pack_tile_rows(rows))
        let tiles = (rows + tileRows - 1) / tileRows
        let (px, pp) = (SendablePointer(x), SendablePointer(packed))
        var sliceStart = 0
        repeat {
            let kb = sliceStart
            let kc = min(depth, inFeatures - kb)
            let first = kb == 0
            let last = kb + kc >= inFeatures
            // Pack x[:, kb..<kb+kc] into the kernel's tile layout, in parallel when it is large.
            Parallel.forEachRange(tiles, grain: max(1, (1 << 16) / max(tileRows * kc, 1))) { range in
                vlm_pack(
                    px.base + kb, ldx, rows, kc, range.lowerBound * tileRows, range.upperBound * tileRows, pp.base)
            }
            // Blocks of whole tiles of 4 and of 6 columns (the AVX2 and AVX-512 kernels' widths); the bias goes in
            // with the first slice, the activation after the last.
            Parallel.forEachIndex(outputs.count * blocksPerOutput) { index in
                let output = outputs[index / blocksPerOutput]
                let (lower, upper) = columnRange(
                    of: index % blocksPerOutput, in: blocksPerOutput, columns: output.outFeatures, multiple: 12)
                guard lower < upper else { return }
                vlm_linear_packed(
                    pp.base, rows, kc, output.weight + kb, inFeatures, first ? output.bias : nil, output.y,
                    output.ldy, lower, upper, output.accumulate || !first ? 1 : 0)
                if last { output.activate(rows: rows, columns: lower..<upper) }
            }
            sliceStart += kc
        } while sliceStart < inFeatures
    }

    /// `linear` over weights in panels (`vlm_linear_panels`): x is read in place, so there is nothing to pack; each
    /// block of columns runs all of k.
    private static func linearOverPanels(
        _ x: UnsafePointer<Float>, rows: Int, inFeatures: Int, ldx: Int, outputs: [LinearOutput]
    ) {
        let blocksPerOutput = columnBlocks(rows: rows, inFeatures: inFeatures, outputs: outputs)
        let (px, width) = (SendablePointer(x), Int(vlm_panel_width()))
        Parallel.forEachIndex(outputs.count * blocksPerOutput) { index in
            let output = outputs[index / blocksPerOutput]
            let (lower, upper) = columnRange(
                of: index % blocksPerOutput, in: blocksPerOutput, columns: output.outFeatures, multiple: width)
            guard lower < upper, let panels = output.panels else { return }
            vlm_linear_panels(
                px.base, ldx, rows, inFeatures, panels, output.outFeatures, output.bias, output.y, output.ldy, lower,
                upper, output.accumulate ? 1 : 0)
            output.activate(rows: rows, columns: lower..<upper)
        }
    }

    /// Blocks of columns per output: a few per worker, claimed dynamically, so that a worker the OS pauses only
    /// delays its own block; one when there is a single worker or little work.
    private static func columnBlocks(rows: Int, inFeatures: Int, outputs: [LinearOutput]) -> Int {
        let work = rows * outputs.reduce(0) { $0 + $1.outFeatures } * inFeatures
        let workers = Parallel.available
        return workers == 1 || work < 1 << 20 ? 1 : workers * 3
    }

    /// Block `block` of `blocks` covers columns [n·b/B, n·(b+1)/B), both ends rounded down to a multiple of
    /// `multiple` (whole tiles of the kernel) except the last.
    private static func columnRange(of block: Int, in blocks: Int, columns n: Int, multiple: Int) -> (Int, Int) {
        let lower = block == 0 ? 0 : n * block / blocks / multiple * multiple
        let upper = block == blocks - 1 ? n : n * (block + 1) / blocks / multiple * multiple
        return (lower, upper)
    }

}
