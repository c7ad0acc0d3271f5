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
    private let cache: Locked<PhraseCache>
    private let encodeLock = Locked<Void>(())

    /// An ensemble encoder; `templates` must each contain `{}` (see `PromptSet.validate`). The cache keeps the
    /// `cacheLimit` most recently encoded phrases (queries added and removed over MQTT for days must not grow it
    /// without bound); dropping an entry only costs a re-encode if that phrase comes back.
    public init(encoder: any TextEncoding, templates: [String], cacheLimit: Int = 1024) {
        self.encoder = encoder
        self.templates = templates
        self.cache = Locked(PhraseCache(limit: max(1, cacheLimit)))
    }

    /// CLIP's logit scale, `exp(logit_scale)`, as the encoder states it.
    public var logitScale: Double { Double(encoder.logitScale) }
    /// A sigmoid-trained encoder's `logit_bias` (SigLIP); nil for CLIP.
    public var logitBias: Double? { encoder.logitBias.map(Double.init) }

    /// The ensemble embedding of each phrase, in order; encodes (in one batch) only those not cached yet.
    public func embed(_ phrases: [String]) throws -> [Embedding] {
        var found = cache.withLock { $0.lookup(phrases) }
        if phrases.contains(where: { found[$0] == nil }) {
            // Look again under the encode lock: another thread may have encoded the same phrase meanwhile.
            try encodeLock.withLock { _ in
                found.merge(cache.withLock { $0.lookup(phrases) }) { old, _ in old }
                var seen = Set<String>()
                let missing = phrases.filter { found[$0] == nil && seen.insert($0).inserted }
                guard !missing.isEmpty else { return }
                let fresh = try encodeEnsembles(missing)
                for (phrase, embedding) in zip(missing, fresh) { found[phrase] = embedding }
                cache.withLock { cached in
                    for (phrase, embedding) in zip(missing, fresh) { cached.insert(phrase, embedding) }
                }
            }
        }
        return phrases.map { found[$0]! }
    }

    /// The ensemble embedding of one phrase.
    public func embed(_ phrase: String) throws -> Embedding {
        try embed([phrase])[0]
    }

    /// Number of phrases cached (for tests and logs).
    public var cachedCount: Int { cache.withLock { $0.count } }

    // MARK: - Ensembling

    /// The sentences a phrase becomes, one per template (`{}` replaced by the phrase).
    public func sentences(for phrase: String) -> [String] {
        templates.map { $0.replacingOccurrences(of: "{}", with: phrase) }
    }

    private func encodeEnsembles(_ phrases: [String]) throws -> [Embedding] {
        let sentences = phrases.flatMap(sentences(for:))
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

/// Phrase → ensemble embedding, keeping the `limit` most recently inserted phrases.
struct PhraseCache: Sendable {
    let limit: Int
    private var entries: [String: Embedding] = [:]
    private var order: [String] = []

    init(limit: Int) {
        self.limit = limit
    }

    var count: Int { entries.count }

    /// The cached embeddings among `phrases`.
    func lookup(_ phrases: [String]) -> [String: Embedding] {
        var found: [String: Embedding] = [:]
        for phrase in phrases { if let e = entries[phrase] { found[phrase] = e } }
        return found
    }

    /// Adds a phrase, dropping the oldest ones beyond the limit.
    mutating func insert(_ phrase: String, _ embedding: Embedding) {
        if entries.updateValue(embedding, forKey: phrase) == nil { order.append(phrase) }
        if order.count > limit {
            let dropped = order.count - limit
            for old in order.prefix(dropped) { entries[old] = nil }
            order.removeFirst(dropped)
        }
    }
}
