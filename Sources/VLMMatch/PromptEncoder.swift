import VLMCore

/// Embeds phrases (queries, negatives, labels) with a prompt-template ensemble and caches the result, so each
/// phrase is encoded once per process however often it is added, removed and added again.
///
/// Ensembling follows the CLIP paper (Radford et al. 2021, §3.1.4) and openai/CLIP's `zeroshot_classifier`:
///
///     e_t  = normalize(text_encoder(template_t.format(phrase)))    for each of T templates
///     e    = normalize(mean_t e_t)
///
/// Thread-safe: the encoder is called under one lock (text encoders need not be reentrant, and a phrase two
/// threads ask for at once is encoded once), the cache under another, so readers of cached phrases never wait
/// for an encode in progress.
public final class PromptEncoder: Sendable {
    /// The model that turns sentences into embeddings.
    public let encoder: any TextEncoding
    /// The templates every phrase is wrapped in.
    public let templates: [String]
    private let cache = Locked<[String: Embedding]>([:])
    private let encodeLock = Locked<Void>(())

    /// An ensemble encoder; `templates` must each contain `{}` (see `PromptSet.validate`).
    public init(encoder: any TextEncoding, templates: [String]) {
        self.encoder = encoder
        self.templates = templates
    }

    /// CLIP's logit scale, `exp(logit_scale)`, as the encoder states it.
    public var logitScale: Double { Double(encoder.logitScale) }

    /// The ensemble embedding of each phrase, in order; encodes (in one batch) only those not cached yet.
    public func embed(_ phrases: [String]) throws -> [Embedding] {
        if !uncached(phrases).isEmpty {
            // Check again under the encode lock: another thread may have encoded the same phrase meanwhile.
            try encodeLock.withLock { _ in
                let missing = uncached(phrases)
                guard !missing.isEmpty else { return }
                let fresh = try encodeEnsembles(missing)
                cache.withLock { cached in
                    for (phrase, embedding) in zip(missing, fresh) { cached[phrase] = embedding }
                }
            }
        }
        return cache.withLock { cached in phrases.map { cached[$0]! } }
    }

    /// The distinct phrases not in the cache.
    private func uncached(_ phrases: [String]) -> [String] {
        cache.withLock { cached in
            var seen = Set<String>()
            return phrases.filter { cached[$0] == nil && seen.insert($0).inserted }
        }
    }

    /// The ensemble embedding of one phrase.
    public func embed(_ phrase: String) throws -> Embedding {
        try embed([phrase])[0]
    }

    /// Number of phrases cached (for tests and logs).
    public var cachedCount: Int { cache.withLock { $0.count } }

    // MARK: - Ensembling

    private func encodeEnsembles(_ phrases: [String]) throws -> [Embedding] {
        let sentences = phrases.flatMap { phrase in
            templates.map { $0.replacingOccurrences(of: "{}", with: phrase) }
        }
        let encoded: [Embedding]
        do {
            encoded = try encoder.encode(texts: sentences)  // called under encodeLock
        } catch let error as any UserFacingError {
            throw error
        } catch {
            throw MatchError.encoderFailed(reason: "\(error)")
        }
        guard encoded.count == sentences.count else {
            throw MatchError.encoderFailed(reason: "\(encoded.count) embeddings for \(sentences.count) sentences")
        }
        let size = encoder.embeddingSize
        if let bad = encoded.first(where: { $0.count != size }) {
            throw MatchError.encoderFailed(reason: "an embedding of size \(bad.count), expected \(size)")
        }
        return (0..<phrases.count).map { p in
            var sum = [Float](repeating: 0, count: size)
            for t in 0..<templates.count {
                let e = encoded[p * templates.count + t].normalized()
                for i in 0..<size { sum[i] += e.values[i] }
            }
            return Embedding(sum).normalized()
        }
    }
}
