/// One linear layer `y = act(x·Wᵀ + b)` or `y += x·Wᵀ + b` at its precision: its float32 weight and, when the
/// weights run at int8, the quantized one (with the input's outlier channels kept in float32 where a layer norm
/// makes them). CLIP's and SigLIP's blocks and GIT's decoder run their linears through it.
public struct PrecisionLinear {
    public var weight: Tensor
    public var int8: QuantizedWeight?
    public var bias: Tensor
    public var y: UnsafeMutablePointer<Float>
    public var accumulate: Bool
    public var activation: Activation?
    /// Outlier channels of the input computed in float32: the channels and W[:, channels] (out, channels).
    public var outliers: (channels: [Int], weight: Tensor)?
    /// Quantize the input per row asymmetrically (with a zero point) for the int8 product.
    public var zeroPoints: Bool

    public init(
        weight: Tensor, int8: QuantizedWeight?, bias: Tensor, y: UnsafeMutablePointer<Float>, accumulate: Bool = false,
        activation: Activation? = nil, outliers: (channels: [Int], weight: Tensor)? = nil, zeroPoints: Bool = false
    ) {
        self.weight = weight
        self.int8 = int8
        self.bias = bias
        self.y = y
        self.accumulate = accumulate
        self.activation = activation
        self.outliers = outliers
        self.zeroPoints = zeroPoints
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
                        activation: $0.activation)
                })
        } else {
            GEMM.linear(
                x, rows: rows, inFeatures: inFeatures,
                outputs: outputs.map {
                    GEMM.LinearOutput(
                        weight: $0.weight.data, bias: $0.bias.data, outFeatures: $0.weight.shape[0], into: $0.y,
                        accumulate: $0.accumulate, activation: $0.activation)
                })
        }
    }

    /// The int8 product over every channel but `channels` (zeroed in a copy of x, so they do not set the per-token
    /// scale), then y += x[:, channels] · W[:, channels]ᵀ in float32, then the activation.
    private static func runWithOutliers(
        _ x: UnsafePointer<Float>, rows: Int, inFeatures: Int, channels: [Int], _ outputs: [PrecisionLinear]
    ) {
        var rest = [Float](UnsafeBufferPointer(start: x, count: rows * inFeatures))
        var columns = [Float](repeating: 0, count: rows * channels.count)
        for r in 0..<rows {
            for (i, c) in channels.enumerated() {
                columns[r * channels.count + i] = rest[r * inFeatures + c]
                rest[r * inFeatures + c] = 0
            }
        }
        rest.withUnsafeBufferPointer { restPointer in
            GEMM.linearInt8(
                restPointer.baseAddress!, rows: rows, inFeatures: inFeatures,
                zeroPoints: outputs.contains { $0.zeroPoints },
                outputs: outputs.map {
                    GEMM.Int8Output(weight: $0.int8!, bias: $0.bias.data, into: $0.y, accumulate: $0.accumulate)
                })
        }
        for output in outputs {
            guard let outlier = output.outliers else { continue }
            let n = outlier.weight.shape[0]
            GEMM.linear(
                columns, rows: rows, inFeatures: channels.count, weight: outlier.weight.data, bias: nil,
                outFeatures: n, into: output.y, accumulate: true)
            if let activation = output.activation {
                let y = SendablePointer(output.y)
                Parallel.forEachRange(rows, grain: max(1, 32_768 / max(n, 1))) { range in
                    activation.apply(y.base + range.lowerBound * n, count: range.count * n)
                }
            }
        }
    }
}
