/// Turns encoder-ready RGB images (the model's input size, square) into L2-normalised embeddings.
///
/// Implementations may batch internally; they must be safe to call from one stage thread at a time.
public protocol ImageEncoding: Sendable {
    /// Side length in pixels of the square images `encode` expects (224 for ViT-B/32).
    var imageSize: Int { get }
    /// Length of the embeddings returned.
    var embeddingSize: Int { get }
    /// Identifies the weights, so caches and indexes made with another model are refused.
    var modelIdentity: String { get }
    func encode(images: [RGBImage]) throws -> [Embedding]
}

/// Turns text into L2-normalised embeddings in the same space as `ImageEncoding`.
public protocol TextEncoding: Sendable {
    var embeddingSize: Int { get }
    var modelIdentity: String { get }
    /// CLIP's learned temperature, `exp(logit_scale)` (100 for the openai checkpoints).
    var logitScale: Float { get }
    /// A sigmoid-trained model's learned bias (SigLIP's `logit_bias`): its probability that a text matches an
    /// image is `σ(logitScale·cos + logitBias)`, each pair on its own. nil for softmax-trained models (CLIP),
    /// whose logits only mean something relative to other texts.
    var logitBias: Float? { get }
    func encode(texts: [String]) throws -> [Embedding]
}

extension TextEncoding {
    /// Softmax-trained unless the encoder says otherwise.
    public var logitBias: Float? { nil }
}
