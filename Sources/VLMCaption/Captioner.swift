import VLMCore

/// The frames a caption describes: a sliding window of whole-frame embeddings of one stream.
public struct CaptionWindow: Sendable {
    public var stream: String
    /// Presentation time of the first and last frame in the window.
    public var startPTS: Double
    public var endPTS: Double
    /// The frames' L2-normalised embeddings, oldest first.
    public var embeddings: [Embedding]

    public init(stream: String, startPTS: Double, endPTS: Double, embeddings: [Embedding]) {
        self.stream = stream
        self.startPTS = startPTS
        self.endPTS = endPTS
        self.embeddings = embeddings
    }

    /// The window's embedding: the mean of the normalised frame embeddings, renormalised.
    public var mean: Embedding { Self.mean(of: embeddings) }

    /// Mean of normalised embeddings, renormalised (empty input gives an empty embedding).
    public static func mean(of embeddings: [Embedding]) -> Embedding {
        guard let first = embeddings.first else { return Embedding([]) }
        var sum = [Float](repeating: 0, count: first.count)
        for embedding in embeddings {
            let unit = embedding.normalized()
            for i in sum.indices { sum[i] += unit.values[i] }
        }
        return Embedding(sum).normalized()
    }
}

/// One sentence a captioner proposes for a window.
public struct CaptionCandidate: Sendable, Equatable {
    /// The text to show users ("A person walking in a plaza").
    public var text: String
    /// The captioner's ranking score (higher is better; for `BeamSearchCaptioner`, cosine plus length prior).
    public var score: Double
    /// Cosine similarity of the window and the sentence, when the captioner measures one.
    public var cosine: Double?

    public init(text: String, score: Double, cosine: Double? = nil) {
        self.text = text
        self.score = score
        self.cosine = cosine
    }
}

/// Turns a window of frame embeddings into ranked sentences.
///
/// `BeamSearchCaptioner` composes sentences from a vocabulary with the CLIP text encoder; a generative decoder
/// (a prefix-conditioned language model reading the same embeddings) can conform to this protocol and plug into
/// `RollingCaptioner` without any change to the pipeline.
public protocol Captioner: Sendable {
    /// Up to `limit` candidates for the window, best first. Called only when a new caption is due, never per frame.
    func caption(_ window: CaptionWindow, limit: Int) throws -> [CaptionCandidate]
    /// A stream ended: persist whatever is worth keeping (caches). Default: nothing.
    func flush()
}

extension Captioner {
    public func flush() {}
}
