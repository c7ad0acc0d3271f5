import CVLMKernels

/// One linear layer `y = act(x·Wᵀ + b)` or `y += x·Wᵀ + b` at its precision: its float32 weight and, when the
/// weights run at int8, the quantized one (with the input's outlier channels kept in float32 where a layer norm
/// makes them). CLIP's and SigLIP's blocks and GIT's decoder run their linears through it.
public struct PrecisionLinear {
    public var weight: Tensor
    /// The float32 weight in the AVX-512 kernel's panels, used where the calling thread runs them.
    public var panels: FloatPanels?
    public var int8: QuantizedWeight?
    public var bias: Tensor
    public var y: UnsafeMutablePointer<Float>
    public var accumulate: Bool
    public var activation: Activation?
    /// Outlier channels of the input computed in float32: the channels and W[:, channels] (out, channels).
    public var outliers: (channels: [Int], weight: Tensor)?
    /// Quantize the input per row asymmetrically (with a zero point) for the int8 product.
    public var zeroPoints: Bool
    /// Float32 products over other, narrow inputs added to y before the activation: attention's carried values,
    /// which only int8 blocks have, so only with `int8` weights.
    public var added: [GEMM.NarrowProduct]

    public init(
        weight: Tensor, panels: FloatPanels? = nil, int8: QuantizedWeight?, bias: Tensor,
        y: UnsafeMutablePointer<Float>, accumulate: Bool = false,
        activation: Activation? = nil, outliers: (channels: [Int], weight: Tensor)? = nil, zeroPoints: Bool = false,
        adding added: [GEMM.NarrowProduct] = []
    ) {
        self.weight = weight
        self.panels = panels
        self.int8 = int8
        self.bias = bias
        self.y = y
        self.accumulate = accumulate
        self.activation = activation
        self.outliers = outliers
        self.zeroPoints = zeroPoints
        self.added = added
    }

    /// Runs `outputs` over the same input `x` ((rows, inFeatures)) in one parallel region: the int8 kernel when every
    /// output has int8 weights (x quantized once, per row), else the float32 one.
    public static func run(_ x: UnsafePointer<Float>, rows: Int, inFeatures: Int, _ outputs: [PrecisionLinear]) {
        if let channels = outputs.first?.outliers?.channels, outputs.allSatisfy({ $0.int8 != nil }) {
            runWithOutliers(x, rows: rows, inFeatures: inFeatures, channels: channels, outputs)
        } else if outputs.allSatisfy({ $0.int8 != nil }) {
            GEMM.linearInt8(
                x, rows: rows, inFeatures: inFeatures, zeroPoints: outputs.contains { $0.zeroPoints },
                outputs: outputs.map {
                    GEMM.Int8Output(
                        weight: $0.int8!, bias: $0.bias.data, into: $0.y, accumulate: $0.accumulate,
                        activation: $0.activation, adding: $0.added)
                })
        } else {
            precondition(outputs.allSatisfy { $0.added.isEmpty }, "PrecisionLinear: narrow products need int8 weights")
            // The panel kernel where this thread runs it and every weight has panels (GEMM.linear runs them only when
            // all outputs have them), else the in-place one.
            let usePanels = vlm_panels_run() != 0 && outputs.allSatisfy { $0.panels != nil }
            let panels = outputs.map { usePanels ? $0.panels?.panels() : nil }
            GEMM.linear(
                x, rows: rows, inFeatures: inFeatures,
                outputs: zip(outputs, panels).map { output, panels in
                    GEMM.LinearOutput(
                        weight: output.weight.data, panels: panels, bias: output.bias.data,
                        outFeatures: output.weight.shape[0], into: output.y, accumulate: output.accumulate,
                        activation: output.activation)
                })
        }
    }

    /// The int8 product over every channel but `channels` (zeroed in a copy of x, so they do not set the per-token
    /// scale), plus x[:, channels] · W[:, channels]ᵀ in float32 on each block of outputs (`GEMM.NarrowProduct`),
    /// then the activation, all in the int8 product's parallel region.
    private static func runWithOutliers(
        _ x: UnsafePointer<Float>, rows: Int, inFeatures: Int, channels: [Int], _ outputs: [PrecisionLinear]
    ) {
        let c = channels.count
        // Every element is written below (in parallel), so neither buffer is zeroed first.
        let rest = UnsafeMutablePointer<Float>.allocate(capacity: rows * inFeatures)
        let columns = UnsafeMutablePointer<Float>.allocate(capacity: rows * c)
        defer {
            rest.deallocate()
            columns.deallocate()
        }
        let (source, restPointer, columnPointer) = (SendablePointer(x), SendablePointer(rest), SendablePointer(columns))
        Parallel.forEachRange(rows, grain: max(1, 65_536 / max(inFeatures, 1))) { range in
            for r in range {
                let (from, to) = (source.base + r * inFeatures, restPointer.base + r * inFeatures)
                to.update(from: from, count: inFeatures)
                for (i, channel) in channels.enumerated() {
                    columnPointer.base[r * c + i] = from[channel]
                    to[channel] = 0
                }
            }
        }
        GEMM.linearInt8(
            rest, rows: rows, inFeatures: inFeatures, zeroPoints: outputs.contains { $0.zeroPoints },
            outputs: outputs.map { output in
                let outlierProducts = output.outliers.map {
                    [GEMM.NarrowProduct(x: columns, ldx: c, columns: c, weight: $0.weight.data)]
                }
                return GEMM.Int8Output(
                    weight: output.int8!, bias: output.bias.data, into: output.y, accumulate: output.accumulate,
                    activation: output.activation, adding: (outlierProducts ?? []) + output.added)
            })
    }
}
