import VLMTensor

/// The image side of the decoder for a batch of inputs: each layer's keys and values of the image tokens,
/// (images·tokens, D) per layer, computed once and shared by every beam of that input.
public final class GITImageContext: @unchecked Sendable {
    /// Inputs in the batch.
    public let images: Int
    /// Image tokens per input (frames × (grid² + 1)).
    public let tokens: Int
    let keys: [Tensor]
    let values: [Tensor]

    init(images: Int, tokens: Int, layers: Int, width: Int) {
        self.images = images
        self.tokens = tokens
        keys = (0..<layers).map { _ in Tensor(zeros: [images * tokens, width]) }
        values = (0..<layers).map { _ in Tensor(zeros: [images * tokens, width]) }
    }
}

/// The text side's key/value cache, keyed by layer: (sequences, capacity, D) per layer, where sequence s belongs to
/// input `imageOf[s]`. Each `GITModel.decode` step appends one position (or a prompt's worth) to every sequence;
/// beam search reorders sequences with `reorder`. One generation owns it; not for sharing between threads.
public final class GITTextCache: @unchecked Sendable {
    /// Sequences (inputs × beams).
    public let sequences: Int
    /// Positions each sequence can hold.
    public let capacity: Int
    /// Positions filled so far (the same for every sequence).
    public internal(set) var length = 0
    /// The input each sequence reads its image tokens from.
    public private(set) var imageOf: [Int]
    let keys: [Tensor]
    let values: [Tensor]
    private let width: Int

    /// A cache for sequences reading the inputs `imageOf`, each up to `capacity` text tokens.
    public init(imageOf: [Int], capacity: Int, config: GITConfig) {
        sequences = imageOf.count
        self.imageOf = imageOf
        self.capacity = capacity
        width = config.hiddenSize
        keys = (0..<config.numHiddenLayers).map { _ in Tensor(zeros: [imageOf.count, capacity, config.hiddenSize]) }
        values = (0..<config.numHiddenLayers).map { _ in Tensor(zeros: [imageOf.count, capacity, config.hiddenSize]) }
    }

    /// Copies `count` rows per sequence of new keys/values ((S·count, D), sequence-major) to positions
    /// `start ..< start + count`.
    func store(layer: Int, keys k: UnsafePointer<Float>, values v: UnsafePointer<Float>, start: Int, count: Int) {
        for s in 0..<sequences {
            let dst = (s * capacity + start) * width
            (keys[layer].data + dst).update(from: k + s * count * width, count: count * width)
            (values[layer].data + dst).update(from: v + s * count * width, count: count * width)
        }
    }

    /// Sequence s becomes a copy of sequence `sources[s]` (beam search keeping the best continuations).
    public func reorder(_ sources: [Int]) {
        precondition(sources.count == sequences && sources.allSatisfy { (0..<sequences).contains($0) })
        guard sources != Array(0..<sequences) else { return }
        let span = length * width
        let temporary = UnsafeMutablePointer<Float>.allocate(capacity: max(1, sequences * span))
        defer { temporary.deallocate() }
        for tensor in keys + values {
            for s in 0..<sequences {
                (temporary + s * span).update(from: tensor.data + sources[s] * capacity * width, count: span)
            }
            for s in 0..<sequences {
                (tensor.data + s * capacity * width).update(from: temporary + s * span, count: span)
            }
        }
        imageOf = sources.map { imageOf[$0] }
    }
}
