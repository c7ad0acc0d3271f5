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
