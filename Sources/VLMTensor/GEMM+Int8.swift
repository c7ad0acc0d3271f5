import CVLMKernels

extension GEMM {
    /// One int8 weight applied by `linearInt8(_:rows:inFeatures:ldx:outputs:)`: `y = act(x·Wᵀ + b)` or `y += x·Wᵀ + b`,
    /// as `LinearOutput`, with W int8 per output row and x quantized per row on the fly.
    public struct Int8Output: @unchecked Sendable {
        // @unchecked: as LinearOutput, crosses into the workers only for one call; each writes its own columns.
        public var weight: QuantizedWeight
        public var bias: UnsafePointer<Float>?
        public var y: UnsafeMutablePointer<Float>
        public var ldy: Int
        public var accumulate: Bool
        public var activation: Activation?
        /// Float32 products over a few more input columns, added before the activation.
        public var added: [NarrowProduct]

        public init(
            weight: QuantizedWeight, bias: UnsafePointer<Float>?, into y: UnsafeMutablePointer<Float>,
            ldy: Int? = nil, accumulate: Bool = false, activation: Activation? = nil, adding added: [NarrowProduct] = []
        ) {
            precondition(!(accumulate && activation != nil), "GEMM: an activation cannot follow a residual add")
            self.weight = weight
            self.bias = bias
            self.y = y
            self.ldy = ldy ?? weight.outFeatures
            self.accumulate = accumulate
            self.activation = activation
            self.added = added
        }
    }

    /// `y += x·Wᵀ` over a few input columns, in float32: x (rows, columns) with row stride `ldx`, W (out, columns)
    /// row-major. An int8 layer's outlier channels (x's columns at those channels and W's), or attention's carried
    /// values ((P·x_o) and M); `vlm_linear_narrow` runs it on the same block of outputs as the int8 product, while
    /// that block is in cache, instead of in a float32 product of its own.
    public struct NarrowProduct: @unchecked Sendable {
        // @unchecked: read by the workers of one `linearInt8` call only.
        public var x: UnsafePointer<Float>
        public var ldx: Int
        public var columns: Int
        public var weight: UnsafePointer<Float>

        public init(x: UnsafePointer<Float>, ldx: Int, columns: Int, weight: UnsafePointer<Float>) {
            (self.x, self.ldx, self.columns, self.weight) = (x, ldx, columns, weight)
        }

        /// Columns `columns` of every row of `y` (row stride `ldy`).
        func add(rows: Int, into y: UnsafeMutablePointer<Float>, ldy: Int, outputs: Range<Int>) {
            vlm_linear_narrow(x, ldx, rows, columns, weight, columns, y, ldy, outputs.lowerBound, outputs.upperBound)
        }
    }

    /// The int8 `nn.Linear`: each row of `x` is quantized to int8 with its own scale (max |x|/127), once, then every
    /// output's columns are split over the workers in one parallel region (`vlm_linear_q8_packed`). With
    /// `zeroPoints`, each row is quantized asymmetrically instead (its range [min(0, min x), max(0, max x)] in 255
    /// steps with an integer zero point, `vlm_q8_pack_zp`): twice the resolution for a one-sided row such as
    /// GELU's output.
    public static func linearInt8(
        _ x: UnsafePointer<Float>, rows: Int, inFeatures: Int, ldx: Int? = nil, zeroPoints: Bool = false,
        outputs: [Int8Output]
    ) {
        guard rows > 0, !outputs.isEmpty else { return }
        let ldx = ldx ?? inFeatures
        for output in outputs {
            precondition(output.weight.inFeatures == inFeatures, "GEMM: an int8 weight of the wrong width")
        }
        // One layout for every output: all panels (this thread runs the panel kernel) or all row-major.
        let panels = outputs.map { $0.weight.panelsForCallingThread() }
        precondition(panels.allSatisfy { ($0 == nil) == (panels[0] == nil) }, "GEMM: int8 weights in two layouts")
        let bytes = Int(vlm_q8_packed_bytes(rows, inFeatures))
        let paddedRows = (rows + 15) & ~15
        let words = (bytes + 63) / 4 + 2 * paddedRows
        guard let scratch = vlm_thread_scratch(words) else {
            fatalError("GEMM: out of memory packing a \(rows)×\(inFeatures) input")
        }
        // [row scales | row zero points | packed x], each 64-byte aligned.
        let rowScales = scratch
        let rowZero = UnsafeMutableRawPointer(scratch + paddedRows).assumingMemoryBound(to: Int32.self)
        let packed = UnsafeMutableRawPointer(scratch + 2 * paddedRows).assumingMemoryBound(to: UInt8.self)
        let tileRows = panels[0] == nil ? Int(vlm_q8_tile_rows()) : 1
        let tiles = (rows + tileRows - 1) / tileRows
        let (px, pp, ps, pz) = (
            SendablePointer(x), SendablePointer(packed), SendablePointer(rowScales), SendablePointer(rowZero)
        )
        Parallel.forEachRange(tiles, grain: max(1, (1 << 16) / max(tileRows * inFeatures, 1))) { range in
            let (row0, row1) = (range.lowerBound * tileRows, range.upperBound * tileRows)
            if zeroPoints {
                vlm_q8_pack_zp(px.base, ldx, rows, inFeatures, row0, row1, tileRows, pp.base, ps.base, pz.base)
            } else {
                vlm_q8_pack(px.base, ldx, rows, inFeatures, row0, row1, tileRows, pp.base, ps.base)
            }
        }
        let zeros: UnsafePointer<Int32>? = zeroPoints ? UnsafePointer(rowZero) : nil
        let pzero = zeros.map { SendablePointer($0) }
        let columns = outputs.reduce(0) { $0 + $1.weight.outFeatures }
        let workers = Parallel.available
        let blocksPerOutput = workers == 1 || rows * columns * inFeatures < 1 << 20 ? 1 : workers * 3
        // Blocks of whole panels (64 columns) or of whole tiles (4 columns).
        let align = panels[0] == nil ? 4 : Int(vlm_q8_panel_width())
        let layouts = panels.map { $0.map { SendablePointer($0) } }
        Parallel.forEachIndex(outputs.count * blocksPerOutput) { index in
            let output = outputs[index / blocksPerOutput]
            let block = index % blocksPerOutput
            let n = output.weight.outFeatures
            let lower = block == 0 ? 0 : (n * block / blocksPerOutput) / align * align
            let upper = block == blocksPerOutput - 1 ? n : (n * (block + 1) / blocksPerOutput) / align * align
            guard lower < upper else { return }
            int8Product(
                output.weight, panels: layouts[index / blocksPerOutput].map { UnsafePointer($0.base) },
                packed: pp.base, rows: rows, rowScales: ps.base, rowZero: pzero.map { UnsafePointer($0.base) },
                bias: output.bias, y: output.y, exact: nil, ldy: output.ldy, columns: lower..<upper,
                accumulate: output.accumulate)
            for product in output.added {
                product.add(rows: rows, into: output.y, ldy: output.ldy, outputs: lower..<upper)
            }
            if let activation = output.activation {
                for r in 0..<rows { activation.apply(output.y + r * output.ldy + lower, count: upper - lower) }
            }
        }
    }

    /// The exact integer products `Σ_p q_x[i, p] · q_w[j, p]` the int8 kernel computes (x quantized per row as in
    /// `linearInt8`, in the layout the calling thread's kernel reads), with the row scales: for tests against an
    /// integer reference.
    /// With `zeroPoints`, x is quantized asymmetrically (`vlm_q8_pack_zp`) and the row zero points come back too.
    public static func int8Dots(
        _ x: UnsafePointer<Float>, rows: Int, inFeatures: Int, weight: QuantizedWeight, zeroPoints: Bool = false
    ) -> (dots: [Int32], rowScales: [Float], rowZero: [Int32]) {
        var packed = [UInt8](repeating: 0, count: Int(vlm_q8_packed_bytes(rows, inFeatures)) + 64)
        var rowScales = [Float](repeating: 0, count: rows)
        var rowZero = [Int32](repeating: 128, count: rows)
        var dots = [Int32](repeating: 0, count: rows * weight.outFeatures)
        packed.withUnsafeMutableBytes { raw in
            // 32-byte aligned start inside the buffer (the kernel uses aligned loads of x).
            let base = raw.baseAddress!
            let offset = (32 - Int(bitPattern: base) % 32) % 32
            let p = (base + offset).assumingMemoryBound(to: UInt8.self)
            let panels = weight.panelsForCallingThread()
            let tileRows = panels == nil ? Int(vlm_q8_tile_rows()) : 1
            if zeroPoints {
                vlm_q8_pack_zp(x, inFeatures, rows, inFeatures, 0, rows, tileRows, p, &rowScales, &rowZero)
            } else {
                vlm_q8_pack(x, inFeatures, rows, inFeatures, 0, rows, tileRows, p, &rowScales)
            }
            let n = weight.outFeatures
            int8Product(
                weight, panels: panels, packed: p, rows: rows, rowScales: rowScales,
                rowZero: zeroPoints ? rowZero : nil, bias: nil, y: nil, exact: &dots, ldy: n, columns: 0..<n,
                accumulate: false)
        }
        return (dots, rowScales, rowZero)
    }

    /// Columns `columns` of x·Wᵀ from x packed for `panels` (tile rows 1) or, when nil, for the row-major kernel
    /// (`vlm_q8_tile_rows()`): into `y` (`vlm_linear_q8_panels` / `vlm_linear_q8_packed`), or the exact sums into
    /// `exact`.
    private static func int8Product(
        _ weight: QuantizedWeight, panels: UnsafePointer<Int8>?, packed: UnsafePointer<UInt8>, rows: Int,
        rowScales: UnsafePointer<Float>, rowZero: UnsafePointer<Int32>?, bias: UnsafePointer<Float>?,
        y: UnsafeMutablePointer<Float>?, exact: UnsafeMutablePointer<Int32>?, ldy: Int, columns: Range<Int>,
        accumulate: Bool
    ) {
        let k = weight.inFeatures
        if let panels {
            vlm_linear_q8_panels(
                packed, rowScales, rowZero, rows, k, panels, weight.scales.data, weight.sums, weight.outFeatures, bias,
                y, exact, ldy, columns.lowerBound, columns.upperBound, accumulate ? 1 : 0)
        } else {
            vlm_linear_q8_packed(
                packed, rowScales, rows, k, weight.rowMajor, k, weight.scales.data, weight.sums, bias, y, rowZero,
                exact, ldy, columns.lowerBound, columns.upperBound, accumulate ? 1 : 0)
        }
    }
}
