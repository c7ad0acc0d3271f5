import VLMTensor

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Scratch for one decoder call over `rows` token rows.
final class DecoderScratch {
    let q: Tensor  // (rows, D)
    let k: Tensor  // (rows, D) text keys before they go to the cache
    let v: Tensor  // (rows, D)
    let attention: Tensor  // (rows, D) heads concatenated
    let mlp: Tensor  // (rows, I)

    init(rows: Int, config: GITConfig) {
        let d = config.hiddenSize
        q = Tensor(zeros: [rows, d])
        k = Tensor(zeros: [rows, d])
        v = Tensor(zeros: [rows, d])
        attention = Tensor(zeros: [rows, d])
        mlp = Tensor(zeros: [rows, config.intermediateSize])
    }
}

/// `GitLayer.forward`: BERT's post-LayerNorm block, the residual stream `hidden` (rows, D) updated in place.
enum DecoderBlock {
    /// q = x·Wqᵀ + bq into `scratch.q`; k, v likewise into `keys`/`values` ((rows, D) each); then `attend(q, out)`
    /// writes the attention output (rows, D); then
    ///     x = LayerNorm(x + a·W_oᵀ + b_o)
    ///     x = LayerNorm(x + gelu(x·W_1ᵀ + b_1)·W_2ᵀ + b_2)
    static func forward(
        _ layer: GITWeights.Layer, hidden: UnsafeMutablePointer<Float>, rows: Int, config c: GITConfig,
        scratch s: DecoderScratch, keys: UnsafeMutablePointer<Float>, values: UnsafeMutablePointer<Float>,
        attend: (UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Void
    ) {
        let (d, i) = (c.hiddenSize, c.intermediateSize)
        let q8 = layer.int8
        PrecisionLinear.run(
            hidden, rows: rows, inFeatures: d,
            [
                PrecisionLinear(
                    weight: layer.queryWeight, int8: q8?.query, bias: layer.queryBias, y: s.q.data, zeroPoints: true),
                PrecisionLinear(weight: layer.keyWeight, int8: q8?.key, bias: layer.keyBias, y: keys, zeroPoints: true),
                PrecisionLinear(
                    weight: layer.valueWeight, int8: q8?.value, bias: layer.valueBias, y: values, zeroPoints: true),
            ])
        attend(s.q.data, s.attention.data)
        // x = LayerNorm(a·W_oᵀ + b_o + x)
        PrecisionLinear.run(
            s.attention.data, rows: rows, inFeatures: d,
            [
                PrecisionLinear(
                    weight: layer.attentionOutputWeight, int8: q8?.attentionOutput, bias: layer.attentionOutputBias,
                    y: hidden, accumulate: true, zeroPoints: true)
            ])
        LayerNorm.forward(
            hidden, into: hidden, rows: rows, dim: d, gamma: layer.attentionLayerNormWeight.data,
            beta: layer.attentionLayerNormBias.data, eps: c.layerNormEps)
        // m = act(x·W_1ᵀ + b_1)  (rows, I)
        PrecisionLinear.run(
            hidden, rows: rows, inFeatures: d,
            [
                PrecisionLinear(
                    weight: layer.intermediateWeight, int8: q8?.intermediate, bias: layer.intermediateBias,
                    y: s.mlp.data, activation: c.hiddenAct, zeroPoints: true)
            ])
        // x = LayerNorm(m·W_2ᵀ + b_2 + x)
        PrecisionLinear.run(
            s.mlp.data, rows: rows, inFeatures: i,
            [
                PrecisionLinear(
                    weight: layer.outputWeight, int8: q8?.output, bias: layer.outputBias, y: hidden, accumulate: true,
                    zeroPoints: true)
            ])
        LayerNorm.forward(
            hidden, into: hidden, rows: rows, dim: d, gamma: layer.outputLayerNormWeight.data,
            beta: layer.outputLayerNormBias.data, eps: c.layerNormEps)
    }
}

/// Attention of text queries: each attends to every image token of its image, then to its sequence's text tokens
/// up to and including itself (GIT's mask: causal text, full image prefix).
enum TextAttention {
    /// `count` new tokens per sequence at positions `start ..< start + count`; q and out are (S·count, D).
    static func forward(
        q: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, layer: Int, start: Int, count: Int,
        context: GITImageContext, cache: GITTextCache, config c: GITConfig
    ) {
        let (d, heads, hd) = (c.hiddenSize, c.numAttentionHeads, c.headDim)
        let n = context.tokens
        let scale = 1 / Float(hd).squareRoot()
        let (pq, po) = (SendablePointer(q), SendablePointer(out))
        let imageKeys = SendablePointer(context.keys[layer].data)
        let imageValues = SendablePointer(context.values[layer].data)
        let textKeys = SendablePointer(cache.keys[layer].data)
        let textValues = SendablePointer(cache.values[layer].data)
        let capacity = cache.capacity
        let imageOf = cache.imageOf
        let rows = cache.sequences * count
        Parallel.forEachRange(rows * heads, grain: 4) { range in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: n + start + count) { scores in
                for job in range {
                    let (row, h) = job.quotientAndRemainder(dividingBy: heads)
                    let (seq, t) = row.quotientAndRemainder(dividingBy: count)
                    let texts = start + t + 1
                    let qi = pq.base + row * d + h * hd
                    let ik = imageKeys.base + imageOf[seq] * n * d + h * hd
                    let iv = imageValues.base + imageOf[seq] * n * d + h * hd
                    let tk = textKeys.base + seq * capacity * d + h * hd
                    let tv = textValues.base + seq * capacity * d + h * hd
                    var maxScore = -Float.infinity
                    for j in 0..<n {
                        scores[j] = VectorMath.dot(qi, ik + j * d, count: hd) * scale
                        maxScore = max(maxScore, scores[j])
                    }
                    for j in 0..<texts {
                        scores[n + j] = VectorMath.dot(qi, tk + j * d, count: hd) * scale
                        maxScore = max(maxScore, scores[n + j])
                    }
                    var sum: Float = 0
                    for j in 0..<(n + texts) {
                        scores[j] = exp(scores[j] - maxScore)
                        sum += scores[j]
                    }
                    let oi = po.base + row * d + h * hd
                    oi.update(repeating: 0, count: hd)
                    let inverse = 1 / sum
                    for j in 0..<n { VectorMath.axpy(scores[j] * inverse, iv + j * d, into: oi, count: hd) }
                    for j in 0..<texts {
                        VectorMath.axpy(scores[n + j] * inverse, tv + j * d, into: oi, count: hd)
                    }
                }
            }
        }
    }
}
