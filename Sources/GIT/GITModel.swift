import CLIP
import VLMCore
import VLMTensor

/// `GitForCausalLM`'s forward pass, split the way generation uses it: the image side once per image
/// (`encodeImages`: CLIP tower, projection, and every decoder layer over the image tokens, whose keys and values
/// are kept), then the text side one step at a time over a `GITTextCache` (`decode`).
///
/// GIT's attention mask makes that split exact: image tokens attend only to image tokens, so their hidden states
/// and keys/values never depend on the text; each text token attends to every image token of its image and to the
/// text tokens up to itself. Thread-safe: the weights are read-only and every call allocates its own scratch.
public final class GITModel: Sendable {
    /// The checkpoint.
    public let weights: GITWeights
    let vision: CLIPVisionModel

    /// A model over `weights` (no copy).
    public init(weights: GITWeights) {
        self.weights = weights
        vision = CLIPVisionModel(weights: weights.vision)
    }

    /// The configuration.
    public var config: GITConfig { weights.config }

    /// Receives named activations (tests compare them with transformers').
    public typealias Observer = (String, UnsafeBufferPointer<Float>) -> Void

    /// Runs the image side for `images` inputs of `config.frames` frames each: pixel values (images, frames, 3, S, S)
    /// as `CLIPImageProcessor` makes them. Observed: `vision.last_hidden_state` (images·frames·N, Dv),
    /// `projected` (images·frames·N, D), `image.layer{i}` (same; with an observer the last layer runs in full).
    public func encodeImages(
        pixelValues: UnsafeBufferPointer<Float>, images: Int, observer: Observer? = nil
    ) throws -> GITImageContext {
        let c = config
        let (frames, n, dv, d) = (c.frames, c.vision.tokens, c.vision.hiddenSize, c.hiddenSize)
        let expected = images * frames * 3 * c.vision.imageSize * c.vision.imageSize
        guard images > 0, pixelValues.count == expected else {
            throw GITInputError(
                "pixel values: got \(pixelValues.count) floats for \(images) input(s), expected \(images)×\(frames) "
                    + "frame(s)×3×\(c.vision.imageSize)×\(c.vision.imageSize) = \(expected)")
        }
        // visual_features = image_encoder(pixels).last_hidden_state  (images·F·N, Dv), frames contiguous per input
        let features = try vision.lastHiddenState(pixelValues: pixelValues, batch: images * frames)
        observer?("vision.last_hidden_state", features.buffer.readOnly)
        // visual_features[:, frame] += img_temporal_embedding[frame]  (video checkpoints)
        if !weights.temporalEmbeddings.isEmpty {
            for block in 0..<(images * frames) {
                let temporal = weights.temporalEmbeddings[block % frames].data
                for row in 0..<n { Elementwise.add(temporal, into: features.data + (block * n + row) * dv, count: dv) }
            }
        }
        // projected = LayerNorm(visual_features · W0ᵀ + b0)  (images·F·N, D)
        let rows = images * frames * n
        let hidden = Tensor(zeros: [rows, d])
        let p = weights.projection
        GEMM.linear(
            features.data, rows: rows, inFeatures: dv, weight: p.weight.data, bias: p.bias.data, outFeatures: d,
            into: hidden.data)
        LayerNorm.forward(
            hidden.data, into: hidden.data, rows: rows, dim: d, gamma: p.layerNormWeight.data,
            beta: p.layerNormBias.data, eps: c.vision.layerNormEps)
        observer?("projected", hidden.buffer.readOnly)
        // The decoder over the image tokens alone: bidirectional among them, keys and values kept per layer.
        let context = GITImageContext(images: images, tokens: frames * n, layers: c.numHiddenLayers, width: d)
        let scratch = DecoderScratch(rows: rows, config: c)
        for (i, layer) in weights.layers.enumerated() {
            // The text reads only the last layer's image keys and values, never its image outputs: unless every
            // activation is observed, that layer stops after k, v = x·Wᵀ + b (~1/20 of the image-side work).
            if i == weights.layers.count - 1 && observer == nil {
                PrecisionLinear.run(
                    hidden.data, rows: rows, inFeatures: d,
                    [
                        PrecisionLinear(
                            weight: layer.keyWeight, int8: layer.int8?.key, bias: layer.keyBias,
                            y: context.keys[i].data, zeroPoints: true),
                        PrecisionLinear(
                            weight: layer.valueWeight, int8: layer.int8?.value, bias: layer.valueBias,
                            y: context.values[i].data, zeroPoints: true),
                    ])
                break
            }
            DecoderBlock.forward(
                layer, hidden: hidden.data, rows: rows, config: c, scratch: scratch,
                keys: context.keys[i].data, values: context.values[i].data
            ) { q, out in
                // a = softmax(q·kᵀ/√d_h) · v per image and head, no mask among the image tokens
                Attention.forward(
                    q: q, ldq: d, k: context.keys[i].data, ldk: d, v: context.values[i].data, ldv: d, into: out,
                    ldo: d, batch: images, seq: frames * n, heads: c.numAttentionHeads, headDim: c.headDim,
                    causal: false)
            }
            observer?("image.layer\(i)", hidden.buffer.readOnly)
        }
        return context
    }

    /// Appends `tokens.count / cache.sequences` text tokens to every sequence of `cache` (sequence-major: sequence
    /// s's tokens are `tokens[s·T ..< (s+1)·T]`) and returns the next-token logits of each sequence, (S, V).
    /// Observed: `text_embeddings` (S·T, D), `text.layer{i}` (S·T, D), `logits` (S, V).
    public func decode(
        tokens: [Int32], context: GITImageContext, cache: GITTextCache, observer: Observer? = nil
    ) throws -> Tensor {
        let c = config
        let s = cache.sequences
        guard s > 0, !tokens.isEmpty, tokens.count % s == 0 else {
            throw GITInputError("decode: \(tokens.count) tokens for \(s) sequences")
        }
        let t = tokens.count / s
        let start = cache.length
        guard start + t <= cache.capacity, start + t <= c.maxPositionEmbeddings else {
            let limit = min(cache.capacity, c.maxPositionEmbeddings)
            throw GITInputError("text of \(start + t) tokens is longer than the model's \(limit) positions")
        }
        if let bad = tokens.first(where: { $0 < 0 || Int($0) >= c.vocabSize }) {
            throw GITInputError("token id \(bad) is outside the vocabulary of \(c.vocabSize)")
        }
        let d = c.hiddenSize
        let rows = s * t
        // x = LayerNorm(word_embeddings[id] + position_embeddings[start + t])  (S·T, D)
        let hidden = Tensor(zeros: [rows, d])
        let e = weights.embeddings
        for r in 0..<rows {
            let dst = hidden.data + r * d
            dst.update(from: e.wordEmbeddings.data + Int(tokens[r]) * d, count: d)
            Elementwise.add(e.positionEmbeddings.data + (start + r % t) * d, into: dst, count: d)
        }
        LayerNorm.forward(
            hidden.data, into: hidden.data, rows: rows, dim: d, gamma: e.layerNormWeight.data,
            beta: e.layerNormBias.data, eps: c.layerNormEps)
        observer?("text_embeddings", hidden.buffer.readOnly)
        let scratch = DecoderScratch(rows: rows, config: c)
        for (i, layer) in weights.layers.enumerated() {
            DecoderBlock.forward(
                layer, hidden: hidden.data, rows: rows, config: c, scratch: scratch, keys: scratch.k.data,
                values: scratch.v.data
            ) { q, out in
                cache.store(layer: i, keys: scratch.k.data, values: scratch.v.data, start: start, count: t)
                TextAttention.forward(
                    q: q, into: out, layer: i, start: start, count: t, context: context, cache: cache, config: c)
            }
            observer?("text.layer\(i)", hidden.buffer.readOnly)
        }
        cache.length = start + t
        // logits = x_last · W_outᵀ + b_out  (S, V), the last text position of each sequence
        let last = Tensor(zeros: [s, d])
        for seq in 0..<s { (last.data + seq * d).update(from: hidden.data + (seq * t + t - 1) * d, count: d) }
        let logits = Tensor(zeros: [s, c.vocabSize])
        PrecisionLinear.run(
            last.data, rows: s, inFeatures: d,
            [
                PrecisionLinear(
                    weight: weights.outputWeight, int8: weights.outputInt8, bias: weights.outputBias, y: logits.data,
                    zeroPoints: true)
            ])
        observer?("logits", logits.buffer.readOnly)
        return logits
    }
}

/// Input that does not fit the model (wrong pixel count, ids out of range, text longer than the positions).
public struct GITInputError: UserFacingError {
    /// What is wrong, on one line.
    public var message: String
    /// An error with `message`.
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

extension UnsafeMutableBufferPointer {
    var readOnly: UnsafeBufferPointer<Element> { UnsafeBufferPointer(self) }
}
