import VLMCore
import VLMTensor

// MARK: - SigLIP image tower

extension CLIPVisionModel {
    /// `SiglipVisionTransformer` after the patch embedding, then `SiglipMultiheadAttentionPoolingHead`:
    ///
    ///     h = patch_embeds + position_embedding                       (B, N, D), no class token, no pre-LN
    ///     h = encoder(h); h = post_layernorm(h)                        every token (the head attends to all)
    ///     a = MHA(probe, h, h)                                         (B, D)  nn.MultiheadAttention, one query
    ///     pooled = a + mlp(layernorm(a))                               (B, D)
    ///     image_embeds = pooled / ‖pooled‖                             no projection: E = D
    ///
    /// Observed activations: embeddings, layer{i}, post_layernorm, head_attention, pooled, image_embeds.
    func forwardSigLIP(
        patchEmbeds: UnsafeMutablePointer<Float>, batch b: Int, head: CLIPWeights.PoolingHead,
        scratch s: VisionScratch, observer: ((String, UnsafeBufferPointer<Float>) -> Void)?
    ) -> [Embedding] {
        let v = weights.config.vision
        let w = weights.vision
        let (d, n) = (v.hiddenSize, v.tokens)
        func observe(_ name: String, _ t: UnsafeMutablePointer<Float>, rows: Int, cols: Int) {
            observer?(name, UnsafeBufferPointer(start: t, count: rows * cols))
        }
        // embeddings = patch_embeds + position_embedding  (B, N, D)
        for image in 0..<b {
            for token in 0..<n {
                let dst = s.hidden.data + (image * n + token) * d
                let src = patchEmbeds + (image * n + token) * d
                let pos = w.positionEmbedding.data + token * d
                for j in 0..<d { dst[j] = src[j] + pos[j] }
            }
        }
        observe("embeddings", s.hidden.data, rows: b * n, cols: d)
        for (i, layer) in w.layers.enumerated() {
            EncoderBlock.forward(
                layer, hidden: s.hidden.data, batch: b, seq: n, shape: shape, causal: false, scratch: s.block)
            observe("layer\(i)", s.hidden.data, rows: b * n, cols: d)
        }
        // h = post_layernorm(h), every token  (B·N, D), into block.norm
        let h = s.block.norm.data
        LayerNorm.forward(
            s.hidden.data, into: h, rows: b * n, dim: d, gamma: w.postLayerNormWeight.data,
            beta: w.postLayerNormBias.data, eps: v.layerNormEps)
        observe("post_layernorm", h, rows: b * n, cols: d)
        attentionPool(h, batch: b, head: head, scratch: s)
        observe("head_attention", s.pooled.data, rows: b, cols: d)
        // pooled = a + fc2(act(fc1(layernorm(a))))  (B, D); layernorm(a) goes to `projected` as a temporary
        LayerNorm.forward(
            s.pooled.data, into: s.projected.data, rows: b, dim: d, gamma: head.layerNormWeight.data,
            beta: head.layerNormBias.data, eps: v.layerNormEps)
        GEMM.linear(
            s.projected.data, rows: b, inFeatures: d, weight: head.fc1Weight.data, bias: head.fc1Bias.data,
            outFeatures: v.intermediateSize, into: s.block.mlp.data, activation: shape.activation)
        GEMM.linear(
            s.block.mlp.data, rows: b, inFeatures: v.intermediateSize, weight: head.fc2Weight.data,
            bias: head.fc2Bias.data, outFeatures: d, into: s.pooled.data, accumulate: true)
        observe("pooled", s.pooled.data, rows: b, cols: d)
        // image_embeds = pooled / ‖pooled‖  (B, D)
        s.projected.data.update(from: s.pooled.data, count: b * d)
        Elementwise.l2NormalizeRows(s.projected.data, rows: b, dim: d)
        observe("image_embeds", s.projected.data, rows: b, cols: d)
        return (0..<b).map { Embedding(Array(UnsafeBufferPointer(start: s.projected.data + $0 * d, count: d))) }
    }

    /// `nn.MultiheadAttention(probe, h, h)` with `in_proj_weight` = [W_q; W_k; W_v] (3D, D): one query row (the
    /// probe, the same for every image) attends over each image's N tokens of `h` ((B·N, D)); the result
    /// a = softmax(q·kᵀ/√d_h)·v per head, then a·W_outᵀ + b_out, goes to `s.pooled` (B, D).
    private func attentionPool(
        _ h: UnsafePointer<Float>, batch b: Int, head: CLIPWeights.PoolingHead, scratch s: VisionScratch
    ) {
        let (d, n) = (shape.width, weights.config.vision.tokens)
        let weight = head.inProjWeight.data
        let bias = head.inProjBias.data
        // k = h·W_kᵀ + b_k, v = h·W_vᵀ + b_v  (B·N, D) each, one packed pass over h
        let k = GEMM.LinearOutput(weight: weight + d * d, bias: bias + d, outFeatures: d, into: s.block.k.data)
        let v = GEMM.LinearOutput(weight: weight + 2 * d * d, bias: bias + 2 * d, outFeatures: d, into: s.block.v.data)
        GEMM.linear(h, rows: b * n, inFeatures: d, outputs: [k, v])
        // q = probe·W_qᵀ + b_q  (1, D): shared by every image (row stride 0 below)
        GEMM.linear(
            head.probe.data, rows: 1, inFeatures: d, weight: weight, bias: bias, outFeatures: d, into: s.block.q.data)
        Attention.pooled(
            q: s.block.q.data, ldq: 0, positions: Array(repeating: 0, count: b), k: s.block.k.data, ldk: d,
            v: s.block.v.data, ldv: d, into: s.block.attention.data, ldo: d, seq: n, heads: shape.heads,
            headDim: shape.headDim, causal: false)
        GEMM.linear(
            s.block.attention.data, rows: b, inFeatures: d, weight: head.outProjWeight.data,
            bias: head.outProjBias.data, outFeatures: d, into: s.pooled.data)
    }
}
