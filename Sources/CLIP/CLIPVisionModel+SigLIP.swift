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
    /// At int8 the head's MLP runs in int8 too when it has int8 weights (`CLIPWeights.PoolingHeadInt8`).
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
        PrecisionLinear.run(
            s.projected.data, rows: b, inFeatures: d,
            [
                PrecisionLinear(
                    weight: head.fc1Weight, int8: head.int8?.fc1, bias: head.fc1Bias, y: s.block.mlp.data,
                    activation: shape.activation, zeroPoints: head.int8?.zeroPoints == .all)
            ])
        PrecisionLinear.run(
            s.block.mlp.data, rows: b, inFeatures: v.intermediateSize,
            [
                PrecisionLinear(
                    weight: head.fc2Weight, int8: head.int8?.fc2, bias: head.fc2Bias, y: s.pooled.data,
                    accumulate: true, zeroPoints: (head.int8?.zeroPoints ?? .none) != .none)
            ])
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
    ///
    /// With one fixed query the keys and values need not be computed (2·N·D² multiply-adds per image). Per head h,
    /// with W_k,h, W_v,h its d_h rows of W_k, W_v:
    ///
    ///     q_h·k_j,h / √d_h = u_h·h_j + q_h·b_k,h / √d_h       u_h = W_k,hᵀ·q_h / √d_h (`PoolingQueries`)
    ///     Σ_j p_j·v_j,h = W_v,h·(Σ_j p_j·h_j) + b_v,h         the probabilities p sum to 1
    ///
    /// The constant term drops out of the softmax, so the scores are h·Uᵀ (H·D multiply-adds per token against D·D for
    /// its key) and the values one (d_h, D) product per head of the probability-weighted mean of h: exact algebra,
    /// 2·N·H·D + D² multiply-adds per image.
    private func attentionPool(
        _ h: UnsafePointer<Float>, batch b: Int, head: CLIPWeights.PoolingHead, scratch s: VisionScratch
    ) {
        guard let queries = poolingQueries else { preconditionFailure("a SigLIP tower without its pooling queries") }
        let (d, n, heads, headDim) = (shape.width, weights.config.vision.tokens, shape.heads, shape.headDim)
        // scores = h·Uᵀ  (B·N, H), in block.k
        let scores = SendablePointer(s.block.k.data)
        GEMM.linear(
            h, rows: b * n, inFeatures: d, weight: queries.keys.data, bias: nil, outFeatures: heads,
            into: scores.base)
        // m[image, head] = Σ_j softmax_j(scores[image, j, head]) · h[image, j]  (B·H, D)
        let means = SendablePointer(s.poolingMeans.data)
        let hidden = SendablePointer(h)
        Parallel.forEachRange(b * heads, grain: 1) { range in
            for job in range {
                let (image, headIndex) = job.quotientAndRemainder(dividingBy: heads)
                let column = scores.base + image * n * heads + headIndex
                var maxScore = -Float.infinity
                for j in 0..<n { maxScore = max(maxScore, column[j * heads]) }
                var sum: Float = 0
                for j in 0..<n {
                    column[j * heads] = exp(column[j * heads] - maxScore)
                    sum += column[j * heads]
                }
                let mean = means.base + job * d
                mean.update(repeating: 0, count: d)
                for j in 0..<n {
                    VectorMath.axpy(column[j * heads] / sum, hidden.base + (image * n + j) * d, into: mean, count: d)
                }
            }
        }
        // a[:, head] = m[:, head]·W_v,headᵀ + b_v,head  (B, d_h) per head, into block.attention (B, D)
        let valueWeight = head.inProjWeight.data + 2 * d * d
        let valueBias = head.inProjBias.data + 2 * d
        for headIndex in 0..<heads {
            let first = headIndex * headDim
            GEMM.linear(
                means.base + headIndex * d, rows: b, inFeatures: d, ldx: heads * d, weight: valueWeight + first * d,
                bias: valueBias + first, outFeatures: headDim, into: s.block.attention.data + first, ldy: d)
        }
        GEMM.linear(
            s.block.attention.data, rows: b, inFeatures: d, weight: head.outProjWeight.data,
            bias: head.outProjBias.data, outFeatures: d, into: s.pooled.data)
    }
}

/// SigLIP's pooling probe folded into its keys (see `CLIPVisionModel.attentionPool`): made once per encoder.
struct PoolingQueries: Sendable {
    /// U (H, D): row h is u_h = W_k,hᵀ·q_h / √d_h, q = W_q·probe + b_q (`head.attention.in_proj_*`'s first two
    /// thirds).
    let keys: Tensor

    init(head: CLIPWeights.PoolingHead, shape: TowerShape) {
        let (d, headDim) = (shape.width, shape.headDim)
        let q = Tensor(zeros: [d])
        GEMM.linear(
            head.probe.data, rows: 1, inFeatures: d, weight: head.inProjWeight.data, bias: head.inProjBias.data,
            outFeatures: d, into: q.data)
        let keys = Tensor(zeros: [shape.heads, d])
        let scale = 1 / Float(headDim).squareRoot()
        for t in 0..<d {  // u_h += q[t]/√d_h · W_k[t, :] over head h's rows t
            VectorMath.axpy(
                q.data[t] * scale, head.inProjWeight.data + (d + t) * d, into: keys.data + (t / headDim) * d, count: d)
        }
        self.keys = keys
        // W_q and W_k are not read again: their mapped pages leave the resident set (W_v's come back on first use).
        head.inProjWeight.releaseMappedPages()
    }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
