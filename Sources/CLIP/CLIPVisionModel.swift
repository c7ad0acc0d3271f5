import VLMCore
import VLMTensor

/// CLIP's image tower (`CLIPVisionTransformer` + `visual_projection`), or SigLIP's (`SiglipVisionTransformer`
/// with its attention-pooling head; see CLIPVisionModel+SigLIP.swift).
///
/// Thread-safe: the weights are shared read-only and each call takes its own scratch from a pool, so a warm
/// encoder allocates only the returned embeddings.
public final class CLIPVisionModel: Sendable {
    /// The checkpoint this encoder runs.
    public let weights: CLIPWeights
    let shape: TowerShape
    let pool: ScratchPool<VisionScratch>
    /// SigLIP's pooling probe folded into its keys; nil for CLIP.
    let poolingQueries: PoolingQueries?

    /// An encoder over `weights` (no copy).
    public init(weights: CLIPWeights) {
        self.weights = weights
        let v = weights.config.vision
        let shape = TowerShape(
            width: v.hiddenSize, heads: v.numAttentionHeads, mlpWidth: v.intermediateSize, activation: v.hiddenAct,
            eps: v.layerNormEps)
        self.shape = shape
        poolingQueries = weights.vision.head.map { PoolingQueries(head: $0, shape: shape) }
        let config = weights.config
        pool = ScratchPool(capacity: { $0.images }, make: { VisionScratch(images: $0, config: config, shape: shape) })
    }

    /// Side of the square input images in pixels.
    public var imageSize: Int { weights.config.vision.imageSize }
    /// Length E of the returned embeddings.
    public var embeddingSize: Int { weights.config.projectionDim }

    /// Multiply-adds ×2 of one image's forward pass (GEMMs and attention), for GFLOP/s reports.
    public var flopsPerImage: Double {
        let v = weights.config.vision
        let (d, i, t) = (Double(v.hiddenSize), Double(v.intermediateSize), Double(v.tokens))
        let patches = Double(v.gridSize * v.gridSize) * d * Double(3 * v.patchSize * v.patchSize)
        let perLayer = t * (4 * d * d + 2 * d * i) + 2 * t * t * d
        // SigLIP's head: keys and values of every token, one query, its MLP; CLIP's projection.
        let pooling = weights.vision.head != nil ? t * 2 * d * d + 2 * d * d + 2 * t * d + 2 * d * i : 0
        let projection = weights.vision.projection != nil ? d * Double(weights.config.projectionDim) : 0
        return 2 * (patches + Double(v.numHiddenLayers) * perLayer + pooling + projection)
    }

    /// Embeds `batch` images given as normalised pixel values (B, 3, H, W) (what the image processor produces),
    /// returning one L2-normalised embedding per image.
    public func encode(pixelValues: UnsafeBufferPointer<Float>, batch: Int) throws -> [Embedding] {
        try encode(pixelValues: pixelValues, batch: batch, observer: nil)
    }

    /// `encode(pixelValues:batch:)` for an array.
    public func encode(pixelValues: [Float], batch: Int) throws -> [Embedding] {
        try pixelValues.withUnsafeBufferPointer { try encode(pixelValues: $0, batch: batch, observer: nil) }
    }

    /// The forward pass; `observer` sees each named activation (tests compare them with transformers').
    func encode(
        pixelValues: UnsafeBufferPointer<Float>, batch: Int,
        observer: ((String, UnsafeBufferPointer<Float>) -> Void)?
    ) throws -> [Embedding] {
        let v = weights.config.vision
        let expected = batch * v.numChannels * v.imageSize * v.imageSize
        guard batch > 0, pixelValues.count == expected, let pixels = pixelValues.baseAddress else {
            throw CLIPInputError(
                "pixel values: got \(pixelValues.count) floats for a batch of \(batch), expected "
                    + "\(batch)×\(v.numChannels)×\(v.imageSize)×\(v.imageSize) = \(expected)")
        }
        guard observer == nil else {
            return pool.with(count: batch) { forward(pixels: pixels, batch: batch, scratch: $0, observer: observer) }
        }
        // Several images and several workers: each worker encodes its share of the batch single-threaded. That
        // skips the per-layer synchronisation of splitting every product, measured ~5 % faster at batch 8. A share
        // goes through in passes of `imagesPerPass` images, whose activations are all a worker holds.
        let base = SendablePointer(pixels)
        let imageFloats = v.numChannels * v.imageSize * v.imageSize
        return try Parallel.mapParts(batch) { images in
            stride(from: images.lowerBound, to: images.upperBound, by: imagesPerPass).flatMap { first in
                let count = min(imagesPerPass, images.upperBound - first)
                return pool.with(count: count) { scratch in
                    forward(pixels: base.base + first * imageFloats, batch: count, scratch: scratch, observer: nil)
                }
            }
        }.checkedFinite("an image")
    }

    /// Images a worker encodes together: as many as make up `rowsPerPass` tokens (at least one). Each weight block
    /// then meets enough rows to pay for reading it (CLIP ViT-B/32's 50 tokens go 5 at a time), while a tower of
    /// longer sequences (SigLIP B/16's 196, L/14's 257) goes one image at a time and holds a quarter of the
    /// activations at batch 8.
    var imagesPerPass: Int { max(1, Self.rowsPerPass / weights.config.vision.tokens) }
    static let rowsPerPass = 256
}

extension [Embedding] {
    /// The embeddings, when every value is finite. Only damaged weights (a NaN or an infinity in the checkpoint)
    /// make one that is not, and every score, index row and event made from it would be meaningless.
    func checkedFinite(_ what: String) throws -> [Embedding] {
        for embedding in self where !embedding.values.allSatisfy(\.isFinite) {
            throw CLIPInputError(
                "\(what) embedding holds NaN or infinity: the checkpoint's weights are damaged; re-download it")
        }
        return self
    }
}

/// Input that does not fit the model (wrong pixel count, token ids out of range, too many tokens).
public struct CLIPInputError: UserFacingError {
    /// What is wrong, on one line.
    public var message: String
    /// An error with `message`.
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

// MARK: - Forward

/// Scratch for a vision forward pass of up to `images` images.
final class VisionScratch {
    let images: Int
    let patches: Tensor  // (B·G², 3·P·P) im2col of the pixels (in block.shared when it fits)
    let hidden: Tensor  // (B·N, D) residual stream
    let pooled: Tensor  // (B, D) post_layernorm(hidden[:, 0])
    let projected: Tensor  // (B, E)
    let block: BlockScratch
    /// SigLIP's pooling head: each head's probability-weighted mean of the tokens (B·H, D); made on first use.
    lazy var poolingMeans = Tensor(zeros: [images * shape.heads, shape.width])
    let shape: TowerShape

    init(images: Int, config: CLIPConfig, shape: TowerShape) {
        self.shape = shape
        let v = config.vision
        self.images = images
        hidden = Tensor(zeros: [images * v.tokens, v.hiddenSize])
        pooled = Tensor(zeros: [images, v.hiddenSize])
        projected = Tensor(zeros: [images, config.projectionDim])
        block = BlockScratch(rows: images * v.tokens, shape: shape)
        // The im2col matrix is dead before the first block runs, so it borrows the blocks' shared scratch when it
        // fits (it does for ViT-B/32, B/16 and L/14).
        let patchShape = [images * v.gridSize * v.gridSize, v.numChannels * v.patchSize * v.patchSize]
        patches =
            patchShape[0] * patchShape[1] <= block.shared.count
            ? Tensor(borrowing: block.shared.data, shape: patchShape, owner: block.shared)
            : Tensor(zeros: patchShape)
    }
}

extension CLIPVisionModel {
    func forward(
        pixels: UnsafePointer<Float>, batch b: Int, scratch s: VisionScratch,
        observer: ((String, UnsafeBufferPointer<Float>) -> Void)?
    ) -> [Embedding] {
        let config = weights.config
        let v = config.vision
        let w = weights.vision
        let (d, n) = (v.hiddenSize, v.tokens)
        func observe(_ name: String, _ t: Tensor, rows: Int, cols: Int) {
            observer?(name, UnsafeBufferPointer(start: t.data, count: rows * cols))
        }
        let patchEmbeds = embedPatches(pixels: pixels, batch: b, scratch: s)
        if let head = w.head {
            return forwardSigLIP(patchEmbeds: patchEmbeds, batch: b, head: head, scratch: s, observer: observer)
        }
        embedTokens(patchEmbeds: patchEmbeds, batch: b, scratch: s, observer: observer)
        // Only the class token leaves the last block, so unless every activation is observed, that block runs for
        // the class token alone (EncoderBlock.forwardPooled), leaving hidden[:, 0, :] in pooled.
        let pruneLast = observer == nil
        for (i, layer) in w.layers.enumerated() {
            if pruneLast && i == w.layers.count - 1 {
                EncoderBlock.forwardPooled(
                    layer, hidden: s.hidden.data, batch: b, seq: n, positions: Array(repeating: 0, count: b),
                    shape: shape, causal: false, scratch: s.block, into: s.pooled.data)
            } else {
                EncoderBlock.forward(
                    layer, hidden: s.hidden.data, batch: b, seq: n, shape: shape, causal: false, scratch: s.block)
                observe("layer\(i)", s.hidden, rows: b * n, cols: d)
            }
        }
        if !pruneLast || w.layers.isEmpty {
            for image in 0..<b { (s.pooled.data + image * d).update(from: s.hidden.data + image * n * d, count: d) }
        }
        // pooled = post_layernorm(hidden[:, 0, :])  (B, D)
        LayerNorm.forward(
            s.pooled.data, into: s.pooled.data, rows: b, dim: d, gamma: w.postLayerNormWeight.data,
            beta: w.postLayerNormBias.data, eps: v.layerNormEps)
        observe("pooled", s.pooled, rows: b, cols: d)
        // image_embeds = pooled · W_projᵀ  (B, E), then L2-normalised
        let e = config.projectionDim
        if let projection = w.projection {
            GEMM.linear(
                s.pooled.data, rows: b, inFeatures: d, weight: projection.data, bias: nil, outFeatures: e,
                into: s.projected.data)
        } else {
            s.projected.data.update(from: s.pooled.data, count: b * min(d, e))
        }
        observe("projected", s.projected, rows: b, cols: e)
        Elementwise.l2NormalizeRows(s.projected.data, rows: b, dim: e)
        observe("image_embeds", s.projected, rows: b, cols: e)
        return (0..<b).map { Embedding(Array(UnsafeBufferPointer(start: s.projected.data + $0 * e, count: e))) }
    }

    /// A CLIP tower's input (GIT reads the whole sequence from here): im2col + patch embedding + class token +
    /// positions, then pre_layrnorm, into `s.hidden` ((B·N, D)).
    func embed(
        pixels: UnsafePointer<Float>, batch b: Int, scratch s: VisionScratch,
        observer: ((String, UnsafeBufferPointer<Float>) -> Void)?
    ) {
        let patchEmbeds = embedPatches(pixels: pixels, batch: b, scratch: s)
        embedTokens(patchEmbeds: patchEmbeds, batch: b, scratch: s, observer: observer)
    }

    /// embeddings = pre_layrnorm(cat(class_embedding, patch_embeds) + position_embedding) → `s.hidden` (B·N, D).
    func embedTokens(
        patchEmbeds: UnsafeMutablePointer<Float>, batch b: Int, scratch s: VisionScratch,
        observer: ((String, UnsafeBufferPointer<Float>) -> Void)?
    ) {
        let v = weights.config.vision
        let w = weights.vision
        let (d, g, n) = (v.hiddenSize, v.gridSize, v.tokens)
        func observe(_ name: String, _ t: Tensor, rows: Int, cols: Int) {
            observer?(name, UnsafeBufferPointer(start: t.data, count: rows * cols))
        }
        for image in 0..<b {
            let token0 = s.hidden.data + image * n * d
            for j in 0..<d { token0[j] = (w.classEmbedding?.data[j] ?? 0) + w.positionEmbedding.data[j] }
            for patch in 0..<(g * g) {
                let dst = token0 + (1 + patch) * d
                let src = patchEmbeds + (image * g * g + patch) * d
                let pos = w.positionEmbedding.data + (1 + patch) * d
                for j in 0..<d { dst[j] = src[j] + pos[j] }
            }
        }
        observe("embeddings", s.hidden, rows: b * n, cols: d)
        if let gamma = w.preLayerNormWeight, let beta = w.preLayerNormBias {
            LayerNorm.forward(
                s.hidden.data, into: s.hidden.data, rows: b * n, dim: d, gamma: gamma.data, beta: beta.data,
                eps: v.layerNormEps)
        }
        observe("pre_layernorm", s.hidden, rows: b * n, cols: d)
    }

    /// patch_embeds = conv2d(pixels, W, stride P) (+ bias for SigLIP) → (B·G², D), left in `s.block.norm`.
    func embedPatches(
        pixels: UnsafePointer<Float>, batch b: Int, scratch s: VisionScratch
    ) -> UnsafeMutablePointer<Float> {
        let v = weights.config.vision
        let (d, p, g, c) = (v.hiddenSize, v.patchSize, v.gridSize, v.numChannels)
        let patchLength = c * p * p
        // im2col: patches[(b, gy, gx), (c, ky, kx)] = pixels[b, c, gy·P + ky, gx·P + kx]
        for image in 0..<b {
            for gy in 0..<g {
                for gx in 0..<g {
                    let row = s.patches.data + ((image * g + gy) * g + gx) * patchLength
                    for ch in 0..<c {
                        for ky in 0..<p {
                            let src = pixels + ((image * c + ch) * v.imageSize + gy * p + ky) * v.imageSize + gx * p
                            (row + (ch * p + ky) * p).update(from: src, count: p)
                        }
                    }
                }
            }
        }
        // patches · W(D, 3PP)ᵀ + b, in block.norm as a temporary
        let patchEmbeds = s.block.norm.data
        GEMM.linear(
            s.patches.data, rows: b * g * g, inFeatures: patchLength, weight: weights.vision.patchEmbedding.data,
            bias: weights.vision.patchBias?.data, outFeatures: d, into: patchEmbeds)
        return patchEmbeds
    }
}
