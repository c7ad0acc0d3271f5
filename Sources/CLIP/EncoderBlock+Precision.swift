import VLMTensor

extension EncoderBlock {
    /// One of a block's linear layers, `y = act(x·Wᵀ + b)` or `y += x·Wᵀ + b`, with its float32 weight and, when the
    /// weights run at int8, the quantized one.
    struct Linear {
        var weight: Tensor
        var int8: QuantizedWeight?
        var bias: Tensor
        var y: UnsafeMutablePointer<Float>
        var accumulate = false
        var activation: Activation? = nil
    }

    /// Runs `outputs` over the same input `x` ((rows, inFeatures)) in one parallel region: the int8 kernel when every
    /// output has int8 weights (x quantized once, per row), else the float32 one.
    static func linear(_ x: UnsafePointer<Float>, rows: Int, inFeatures: Int, _ outputs: [Linear]) {
        if outputs.allSatisfy({ $0.int8 != nil }) {
            GEMM.linearInt8(
                x, rows: rows, inFeatures: inFeatures,
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
}
