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

        public init(
            weight: QuantizedWeight, bias: UnsafePointer<Float>?, into y: UnsafeMutablePointer<Float>,
            ldy: Int? = nil, accumulate: Bool = false, activation: Activation? = nil
        ) {
            precondition(!(accumulate && activation != nil), "GEMM: an activation cannot follow a residual add")
            self.weight = weight
            self.bias = bias
            self.y = y
            self.ldy = ldy ?? weight.outFeatures
            self.accumulate = accumulate
            self.activation = activation
        }
    }

    /// The int8 `nn.Linear`: each row of `x` is quantized to int8 with its own scale (max |x|/127), once, then every
    /// output's columns are split over the workers in one parallel region (`vlm_linear_q8_packed`).
    public static func linearInt8(
        _ x: UnsafePointer<Float>, rows: Int, inFeatures: Int, ldx: Int? = nil, outputs: [Int8Output]
    ) {
        guard rows > 0, !outputs.isEmpty else { return }
        let ldx = ldx ?? inFeatures
        for output in outputs {
            precondition(output.weight.inFeatures == inFeatures, "GEMM: an int8 weight of the wrong width")
        }
        let bytes = Int(vlm_q8_packed_bytes(rows, inFeatures))
        let words = (bytes + 63) / 4 + rows
        guard let scratch = vlm_thread_scratch(words) else {
            fatalError("GEMM: out of memory packing a \(rows)×\(inFeatures) input")
        }
        let rowScales = scratch
        let packed = UnsafeMutableRawPointer(scratch + ((rows + 15) & ~15)).assumingMemoryBound(to: UInt8.self)
        let tileRows = Int(vlm_q8_tile_rows())
        let tiles = (rows + tileRows - 1) / tileRows
        let (px, pp, ps) = (SendablePointer(x), SendablePointer(packed), SendablePointer(rowScales))
        Parallel.forEachRange(tiles, grain: max(1, (1 << 16) / max(tileRows * inFeatures, 1))) { range in
            vlm_q8_pack(
                px.base, ldx, rows, inFeatures, range.lowerBound * tileRows, range.upperBound * tileRows, pp.base,
                ps.base)
        }
        let columns = outputs.reduce(0) { $0 + $1.weight.outFeatures }
        let workers = Parallel.available
        let blocksPerOutput = workers == 1 || rows * columns * inFeatures < 1 << 20 ? 1 : workers * 3
        Parallel.forEachIndex(outputs.count * blocksPerOutput) { index in
            let output = outputs[index / blocksPerOutput]
            let block = index % blocksPerOutput
            let n = output.weight.outFeatures
            let lower = block == 0 ? 0 : (n * block / blocksPerOutput) & ~3
            let upper = block == blocksPerOutput - 1 ? n : (n * (block + 1) / blocksPerOutput) & ~3
            guard lower < upper else { return }
            vlm_linear_q8_packed(
                pp.base, ps.base, rows, inFeatures, output.weight.data, inFeatures, output.weight.scales.data,
                output.weight.sums, output.bias, output.y, nil, output.ldy, lower, upper, output.accumulate ? 1 : 0)
            if let activation = output.activation {
                for r in 0..<rows { activation.apply(output.y + r * output.ldy + lower, count: upper - lower) }
            }
        }
    }

    /// The exact integer products `Σ_p q_x[i, p] · q_w[j, p]` the int8 kernel computes (x quantized per row as in
    /// `linearInt8`), with the row scales: for tests against an integer reference.
    public static func int8Dots(
        _ x: UnsafePointer<Float>, rows: Int, inFeatures: Int, weight: QuantizedWeight
    ) -> (dots: [Int32], rowScales: [Float]) {
        var packed = [UInt8](repeating: 0, count: Int(vlm_q8_packed_bytes(rows, inFeatures)) + 64)
        var rowScales = [Float](repeating: 0, count: rows)
        var dots = [Int32](repeating: 0, count: rows * weight.outFeatures)
        packed.withUnsafeMutableBytes { raw in
            // 32-byte aligned start inside the buffer (the kernel uses aligned loads of x).
            let base = raw.baseAddress!
            let offset = (32 - Int(bitPattern: base) % 32) % 32
            let p = (base + offset).assumingMemoryBound(to: UInt8.self)
            vlm_q8_pack(x, inFeatures, rows, inFeatures, 0, rows, p, &rowScales)
            vlm_linear_q8_packed(
                p, rowScales, rows, inFeatures, weight.data, inFeatures, weight.scales.data, weight.sums, nil, nil,
                &dots, weight.outFeatures, 0, weight.outFeatures, 0)
        }
        return (dots, rowScales)
    }
}
