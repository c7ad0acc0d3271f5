import VLMTensor

extension CLIPVisionModel {
    /// `CLIPVisionTransformer`'s `last_hidden_state` after `post_layernorm` over every token, (B·N, D) row-major:
    /// what GIT's image encoder (`GitVisionModel`) hands its projection. No pooling, no `visual_projection`.
    ///
    /// `observer` sees `embeddings`, `pre_layernorm`, `layer{i}` and `last_hidden_state`, as in `encode`.
    public func lastHiddenState(
        pixelValues: UnsafeBufferPointer<Float>, batch: Int,
        observer: ((String, UnsafeBufferPointer<Float>) -> Void)? = nil
    ) throws -> Tensor {
        let v = weights.config.vision
        let expected = batch * v.numChannels * v.imageSize * v.imageSize
        guard batch > 0, pixelValues.count == expected, let pixels = pixelValues.baseAddress else {
            throw CLIPInputError(
                "pixel values: got \(pixelValues.count) floats for a batch of \(batch), expected "
                    + "\(batch)×\(v.numChannels)×\(v.imageSize)×\(v.imageSize) = \(expected)")
        }
        let (d, n) = (v.hiddenSize, v.tokens)
        let output = Tensor(zeros: [batch * n, d])
        pool.with(count: batch) { s in
            embed(pixels: pixels, batch: batch, scratch: s, observer: observer)
            for (i, layer) in weights.vision.layers.enumerated() {
                EncoderBlock.forward(
                    layer, hidden: s.hidden.data, batch: batch, seq: n, shape: shape, causal: false, scratch: s.block)
                observer?("layer\(i)", UnsafeBufferPointer(start: s.hidden.data, count: batch * n * d))
            }
            // last_hidden_state = post_layernorm(hidden)  (B·N, D)
            LayerNorm.forward(
                s.hidden.data, into: output.data, rows: batch * n, dim: d,
                gamma: weights.vision.postLayerNormWeight.data,
                beta: weights.vision.postLayerNormBias.data, eps: v.layerNormEps)
        }
        observer?("last_hidden_state", UnsafeBufferPointer(start: output.data, count: batch * n * d))
        return output
    }
}
