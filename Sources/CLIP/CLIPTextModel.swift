import VLMCore
import VLMTensor

/// CLIP's text tower (`CLIPTextTransformer` + `text_projection`): causal blocks over token ids, pooled at the
/// end-of-text token. For SigLIP (`SiglipTextTransformer` + `head`): bidirectional blocks over ids padded to the
/// context length (64), pooled at the last position, then a linear head with bias.
public final class CLIPTextModel: Sendable {
    /// The checkpoint this encoder runs.
    public let weights: CLIPWeights
    let shape: TowerShape
    let pool: ScratchPool<TextScratch>

    /// An encoder over `weights` (no copy).
    public init(weights: CLIPWeights) {
        self.weights = weights
        let t = weights.config.text
        let shape = TowerShape(
            width: t.hiddenSize, heads: t.numAttentionHeads, mlpWidth: t.intermediateSize, activation: t.hiddenAct,
            eps: t.layerNormEps)
        self.shape = shape
        let config = weights.config
        pool = ScratchPool(capacity: { $0.rows }, make: { TextScratch(rows: $0, config: config, shape: shape) })
    }

    /// Most tokens one sequence may have (`max_position_embeddings`, 77), start and end tokens included.
    public var contextLength: Int { weights.config.text.maxPositionEmbeddings }
    /// Length E of the returned embeddings.
    public var embeddingSize: Int { weights.config.projectionDim }
    /// `exp(logit_scale)`.
    public var logitScale: Float { weights.logitScale }
    /// SigLIP's `logit_bias`; nil for CLIP.
    public var logitBias: Float? { weights.logitBias }
    /// CLIP's text tower is causal; SigLIP's attends both ways (so padding changes the result: SigLIP's tokenizer
    /// always pads to the context length, as the model was trained).
    var causal: Bool { weights.config.family == .clip }

    /// The position whose hidden state represents `ids`: the highest id when the config's `eos_token_id` is 2
    /// (older transformers configs; the end token 49407 is the highest id), otherwise the first `eos_token_id`
    /// (0 when absent, as transformers' argmax over all-false gives).
    /// For SigLIP, the last position.
    public func poolingIndex(_ ids: [Int32]) -> Int {
        if weights.config.family == .siglip { return max(0, ids.count - 1) }
        let eos = weights.config.text.eosTokenID
        if eos == 2 {
            var best = 0
            for (i, id) in ids.enumerated() where id > ids[best] { best = i }
            return best
        }
        guard let eos = Int32(exactly: eos) else { return 0 }
        return ids.firstIndex(of: eos) ?? 0
    }

    /// Embeds each token-id sequence (already tokenized, with start and end tokens, at most `contextLength` ids;
    /// padding after the end token is allowed and ignored), returning L2-normalised embeddings in order.
    public func encode(tokenIDs: [[Int32]]) throws -> [Embedding] {
        try encode(tokenIDs: tokenIDs, observer: nil)
    }

    func encode(
        tokenIDs: [[Int32]], observer: ((String, UnsafeBufferPointer<Float>) -> Void)?
    ) throws -> [Embedding] {
        guard !tokenIDs.isEmpty else { return [] }
        let vocab = weights.config.text.vocabSize
        for (n, ids) in tokenIDs.enumerated() {
            guard !ids.isEmpty, ids.count <= contextLength else {
                throw CLIPInputError(
                    "text \(n): \(ids.count) tokens; the model takes 1…\(contextLength) (truncate the prompt)")
            }
            if let bad = ids.first(where: { $0 < 0 || Int($0) >= vocab }) {
                throw CLIPInputError("text \(n): token id \(bad) is outside the vocabulary of \(vocab)")
            }
        }
        guard observer == nil else {
            let seq = tokenIDs.map(\.count).max()!
            return pool.with(count: tokenIDs.count * seq) {
                forward(tokenIDs: tokenIDs, seq: seq, scratch: $0, observer: observer)
            }
        }
        // Bidirectional attention sees padding, so texts of different lengths are not batched together.
        if !causal, Set(tokenIDs.map(\.count)).count > 1 {
            return try tokenIDs.flatMap { try encode(tokenIDs: [$0], observer: nil) }
        }
        // As for images: several texts and several workers, each worker encodes its share single-threaded.
        return try Parallel.mapParts(tokenIDs.count) { range in
            let texts = Array(tokenIDs[range])
            let seq = texts.map(\.count).max()!
            return pool.with(count: texts.count * seq) {
                forward(tokenIDs: texts, seq: seq, scratch: $0, observer: nil)
            }
        }.checkedFinite("a text")
    }
}

// MARK: - Forward

/// Scratch for a text forward pass of up to `rows` tokens in all.
final class TextScratch {
    let rows: Int
    let hidden: Tensor  // (B·S, D)
    let pooled: Tensor  // (B, D) at most one row per token
    let projected: Tensor  // (B, E)
    let block: BlockScratch

    init(rows: Int, config: CLIPConfig, shape: TowerShape) {
        self.rows = rows
        hidden = Tensor(zeros: [rows, shape.width])
        pooled = Tensor(zeros: [rows, shape.width])
        projected = Tensor(zeros: [rows, config.projectionDim])
        block = BlockScratch(rows: rows, shape: shape)
    }
}

extension CLIPTextModel {
    /// Sequences shorter than `seq` are padded with id 0 at the end: the causal mask keeps padding from reaching
    /// earlier positions, so each sequence's pooled state is exactly its unpadded one. (Bidirectional towers are
    /// only given sequences of one length; see `encode`.)
    func forward(
        tokenIDs: [[Int32]], seq: Int, scratch s: TextScratch,
        observer: ((String, UnsafeBufferPointer<Float>) -> Void)?
    ) -> [Embedding] {
        let config = weights.config
        let w = weights.text
        let d = shape.width
        let b = tokenIDs.count
        // embeddings = token_embedding[ids] + position_embedding[0..<S]  (B, S, D)
        for (n, ids) in tokenIDs.enumerated() {
            for position in 0..<seq {
                let id = position < ids.count ? Int(ids[position]) : 0
                let dst = s.hidden.data + (n * seq + position) * d
                let token = w.tokenEmbedding.data + id * d
                let pos = w.positionEmbedding.data + position * d
                for j in 0..<d { dst[j] = token[j] + pos[j] }
            }
        }
        // Only each text's end token leaves the last block, so unless the whole last hidden state is observed,
        // that block runs for those tokens alone (EncoderBlock.forwardPooled), leaving them in pooled.
        let positions = tokenIDs.map(poolingIndex)
        let pruneLast = observer == nil && !w.layers.isEmpty
        for (i, layer) in w.layers.enumerated() {
            if pruneLast && i == w.layers.count - 1 {
                EncoderBlock.forwardPooled(
                    layer, hidden: s.hidden.data, batch: b, seq: seq, positions: positions, shape: shape,
                    causal: causal, scratch: s.block, into: s.pooled.data)
            } else {
                EncoderBlock.forward(
                    layer, hidden: s.hidden.data, batch: b, seq: seq, shape: shape, causal: causal, scratch: s.block)
            }
        }
        if !pruneLast {
            LayerNorm.forward(
                s.hidden.data, into: s.hidden.data, rows: b * seq, dim: d, gamma: w.finalLayerNormWeight.data,
                beta: w.finalLayerNormBias.data, eps: config.text.layerNormEps)
            observer?("last_hidden_state", UnsafeBufferPointer(start: s.hidden.data, count: b * seq * d))
            for (n, position) in positions.enumerated() {
                (s.pooled.data + n * d).update(from: s.hidden.data + (n * seq + position) * d, count: d)
            }
        } else {
            // pooled = final_layer_norm(h[b, eos_b])  (SigLIP: h[b, -1])
            LayerNorm.forward(
                s.pooled.data, into: s.pooled.data, rows: b, dim: d, gamma: w.finalLayerNormWeight.data,
                beta: w.finalLayerNormBias.data, eps: config.text.layerNormEps)
        }
        observer?("pooled", UnsafeBufferPointer(start: s.pooled.data, count: b * d))
        // text_embeds = pooled · W_projᵀ (+ b for SigLIP's head)  (B, E), then L2-normalised
        let e = config.projectionDim
        GEMM.linear(
            s.pooled.data, rows: b, inFeatures: d, weight: w.projection.data, bias: w.projectionBias?.data,
            outFeatures: e, into: s.projected.data)
        observer?("projected", UnsafeBufferPointer(start: s.projected.data, count: b * e))
        Elementwise.l2NormalizeRows(s.projected.data, rows: b, dim: e)
        observer?("text_embeds", UnsafeBufferPointer(start: s.projected.data, count: b * e))
        return (0..<b).map { Embedding(Array(UnsafeBufferPointer(start: s.projected.data + $0 * e, count: e))) }
    }
}
