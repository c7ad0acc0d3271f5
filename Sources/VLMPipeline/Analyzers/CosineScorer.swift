import VLMCore

/// The plainest matcher: per frame and query, the cosine of the frame's best view with the query's text embedding.
///
/// It keeps `run` working end to end with any `TextEncoding`; VLMMatch's matcher (prompt ensembles, calibrated
/// scores, events) replaces it behind the same `FrameAnalyzer` / `QueryControlling` seam. `score` is the cosine
/// mapped to 0...1 as `(cos + 1) / 2`.
public final class CosineScorer: FrameAnalyzer, QueryControlling {
    private struct Query {
        var text: String
        var embedding: Embedding
    }

    private let textEncoder: any TextEncoding
    private let queries: Locked<[Query]>

    /// A scorer for `queries`, embedded now with `textEncoder`.
    public init(textEncoder: any TextEncoding, queries: [String]) throws {
        self.textEncoder = textEncoder
        self.queries = Locked([])
        try setQueries(queries)
    }

    // MARK: - FrameAnalyzer

    /// One `.score` per active query: the best view's cosine (and that view's box when tiles are on).
    public func analyze(_ frame: EncodedFrame) -> [StreamResult] {
        guard !frame.embeddings.isEmpty else { return [] }
        return queries.current.map { query in
            var best = -Float.infinity
            var bestIndex = 0
            for (index, embedding) in frame.embeddings.enumerated() {
                let cosine = embedding.dot(query.embedding)
                if cosine > best {
                    best = cosine
                    bestIndex = index
                }
            }
            let box = frame.embeddings.count > 1 ? frame.boxes[bestIndex] : nil
            return .score(
                QueryScore(
                    stream: frame.stream, pts: frame.time.seconds, query: query.text,
                    score: Double((best + 1) / 2), cosine: Double(best), box: box))
        }
    }

    /// Nothing is held across frames.
    public func finish(stream: String, at pts: Double) -> [StreamResult] { [] }

    // MARK: - QueryControlling

    /// The active queries, in the order they were added.
    public var activeQueries: [String] { queries.current.map(\.text) }

    /// Replaces the query set.
    public func setQueries(_ texts: [String]) throws {
        let embedded = try embed(texts)
        queries.withLock { $0 = embedded }
    }

    /// Adds queries not already active.
    public func addQueries(_ texts: [String]) throws {
        let known = Set(activeQueries)
        let embedded = try embed(texts.filter { !known.contains($0) })
        queries.withLock { $0 += embedded }
    }

    /// Removes the named queries.
    public func removeQueries(_ texts: [String]) {
        let gone = Set(texts)
        queries.withLock { $0.removeAll { gone.contains($0.text) } }
    }

    private func embed(_ texts: [String]) throws -> [Query] {
        guard !texts.isEmpty else { return [] }
        let embeddings = try textEncoder.encode(texts: texts)
        return zip(texts, embeddings).map { Query(text: $0, embedding: $1.normalized()) }
    }
}
