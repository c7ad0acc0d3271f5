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

    /// These weights with the image tower's blocks (as `CLIPWeights.converted(to:)`), every decoder layer's six
    /// linears and the vocabulary head in int8; embeddings, layer norms, biases and the visual projection stay
    /// float32 (each linear's input quantized per row with a zero point, as the CLIP blocks'). `self` for `.fp32`.
    ///
    /// The head (`output.weight`, (V, D): 94 MB of float32 at git-base's 30522 × 768) is read whole for every
    /// generated token, so at batch 1 it set the pace of a decoder step once the layers were int8.
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
        let head = outputInt8 ?? QuantizedWeight(quantizing: outputWeight)
        // Read again from the file only if the float32 head is asked for (it may be the word embeddings, tied).
        outputWeight.releaseMappedPages()
        return GITWeights(
            config: config, vision: vision.converted(to: .int8), embeddings: embeddings, projection: projection,
            temporalEmbeddings: temporalEmbeddings, layers: quantized, outputWeight: outputWeight,
            outputBias: outputBias, outputInt8: head)
    }
}
