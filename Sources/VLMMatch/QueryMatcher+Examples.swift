import VLMCore

/// Queries given by an embedding (example images, a moment of an index) or by a tuned query file, next to text.
extension QueryMatcher {
    /// Adds a query given as an embedding, named `label` in events; calibrated like a text query (negatives,
    /// baseline, or the sigmoid of a SigLIP model). A query of that name already active is replaced.
    public func addQuery(label: String, embedding: Embedding) throws {
        try add(Query(text: label, embedding: try checked(label, embedding).normalized()))
    }

    /// Adds a tuned query (`vlm-stream tune`); load it with `TunedQuery.load(_:model:)` so another model's file
    /// is refused. Its adapter applies to each frame before the query and the negatives are compared with it, at
    /// its own logit scale.
    public func addQuery(_ tuned: TunedQuery) throws {
        let adapter = TunedAdapter(parameters: tuned.parameters)
        let embedding = Embedding(adapter.query.map(Float.init))
        try add(
            Query(
                text: tuned.label, embedding: try checked(tuned.label, embedding), adapter: adapter,
                logitScale: tuned.logitScale))
    }

    private func checked(_ label: String, _ embedding: Embedding) throws -> Embedding {
        let size = prompts.encoder.embeddingSize
        guard embedding.count == size else {
            throw MatchError.invalidQuery(
                label, reason: "an embedding of size \(embedding.count); this model's is \(size)")
        }
        guard embedding.values.allSatisfy(\.isFinite) else {
            throw MatchError.invalidQuery(label, reason: "its embedding holds non-finite numbers")
        }
        return embedding
    }

    private func add(_ query: Query) throws {
        guard !query.text.isEmpty else { throw MatchError.invalidQuery(query.text, reason: "empty name") }
        queries.withLock { active in
            active.removeAll { $0.text == query.text }
            active.append(query)
        }
    }
}
