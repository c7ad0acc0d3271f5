import CLIP
import VLMTensor

extension GITWeights {
    /// One decoder layer's six linears in int8 (per output row, as the CLIP blocks: see CLIPWeights+Int8.swift);
    /// PyTorch keys relative to `git.encoder.layer.{i}.`.
    public struct Int8Linears: Sendable {
        public let query: QuantizedWeight  // attention.self.query.weight (D, D)
        public let key: QuantizedWeight  // attention.self.key.weight (D, D)
        public let value: QuantizedWeight  // attention.self.value.weight (D, D)
        public let attentionOutput: QuantizedWeight  // attention.output.dense.weight (D, D)
        public let intermediate: QuantizedWeight  // intermediate.dense.weight (I, D)
        public let output: QuantizedWeight  // output.dense.weight (D, I)

        init(quantizing layer: Layer) {
            query = QuantizedWeight(quantizing: layer.queryWeight)
            key = QuantizedWeight(quantizing: layer.keyWeight)
            value = QuantizedWeight(quantizing: layer.valueWeight)
            attentionOutput = QuantizedWeight(quantizing: layer.attentionOutputWeight)
            intermediate = QuantizedWeight(quantizing: layer.intermediateWeight)
            output = QuantizedWeight(quantizing: layer.outputWeight)
        }
    }

    /// The precision the decoder runs at: int8 when every layer has int8 weights.
    public var precision: Precision {
        !layers.isEmpty && layers.allSatisfy { $0.int8 != nil } && vision.precision == .int8 ? .int8 : .fp32
    }

    /// These weights with the image tower's blocks (as `CLIPWeights.converted(to:)`) and every decoder layer's six
    /// linears in int8; embeddings, layer norms, biases, the visual projection and the vocabulary head stay float32
    /// (each linear's input quantized per row with a zero point, as the CLIP blocks'). `self` for `.fp32`.
    public func converted(to precision: Precision) -> GITWeights {
        guard precision == .int8, self.precision != .int8 else { return self }
        let quantized = layers.map { layer -> Layer in
            var copy = layer
            copy.int8 = layer.int8 ?? Int8Linears(quantizing: layer)
            for weight in [
                layer.queryWeight, layer.keyWeight, layer.valueWeight, layer.attentionOutputWeight,
                layer.intermediateWeight, layer.outputWeight,
            ] {
                weight.releaseMappedPages()
            }
            return copy
        }
        return GITWeights(
            config: config, vision: vision.converted(to: .int8), embeddings: embeddings, projection: projection,
            temporalEmbeddings: temporalEmbeddings, layers: quantized, outputWeight: outputWeight,
            outputBias: outputBias)
    }
}

/// One of a decoder layer's linears, `y = act(x·Wᵀ + b)` or `y += x·Wᵀ + b`: float32, or int8 when the layer has it.
struct DecoderLinear {
    var weight: Tensor
    var int8: QuantizedWeight?
    var bias: Tensor
    var y: UnsafeMutablePointer<Float>
    var accumulate = false
    var activation: Activation? = nil

    /// Runs `outputs` over the same input x ((rows, inFeatures)) in one parallel region: int8 when all have it
    /// (x quantized once per row, with a zero point when `zeroPoints`, as the CLIP blocks' default), else float32.
    static func run(
        _ x: UnsafePointer<Float>, rows: Int, inFeatures: Int, zeroPoints: Bool = true, _ outputs: [DecoderLinear]
    ) {
        let int8 = outputs.compactMap(\.int8)
        if int8.count == outputs.count {
            GEMM.linearInt8(
                x, rows: rows, inFeatures: inFeatures, zeroPoints: zeroPoints,
                outputs: zip(outputs, int8).map { output, weight in
                    GEMM.Int8Output(
                        weight: weight, bias: output.bias.data, into: output.y, accumulate: output.accumulate,
                        activation: output.activation)
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
