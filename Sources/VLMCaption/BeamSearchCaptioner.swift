import Logging
import VLMCore

/// Composes captions from a `CaptionVocabulary` by beam search, scoring every candidate as a whole sentence with
/// the CLIP text encoder against the window's embedding.
///
/// Slots are filled in order. At each slot every kept draft is extended by each fitting phrase (and, for an optional
/// slot, left as it is); all new sentences are encoded in one batch (through the `TextEmbeddingStore`, so each
/// sentence is encoded once per model, ever) and scored as `cosine(prompt(sentence), window) + lengthPrior ×
/// filledSlots`; the best `beamWidth` drafts go on. The answer is the best sentence scored anywhere in the search,
/// complete or not.
///
/// Contract: with `beamWidth` at least `exhaustiveWidth` and no shortlist (or one at least as long as every level),
/// the search scores every sentence of the vocabulary and returns exactly what `exhaustiveSearch` returns. The
/// scored set depends only on the target, so a repeated search encodes nothing. Narrower beams are the usual approximation: the result is the best of
/// the sentences the beam scored, which is a subset of the vocabulary's.
public final class BeamSearchCaptioner: Captioner {
    /// The vocabulary sentences are made from.
    public let vocabulary: CaptionVocabulary
    /// Drafts kept per slot.
    public let beamWidth: Int
    /// At most this many new sentences are scored per slot, chosen by a cheap estimate (see `shortlist(_:target:)`);
    /// `nil`: score every expansion.
    public let shortlist: Int?
    /// Text embeddings, cached per model.
    public let store: TextEmbeddingStore
    private let logger: Logger

    /// How many uncached sentences a slot may encode.
    public enum Shortlist: Sendable, Equatable {
        /// Three times the beam width.
        case automatic
        /// Encode every expansion (the plain beam search).
        case off
        /// At most this many (never fewer than the beam width).
        case size(Int)
    }

    /// The widest beam (wider ones cost time and change nothing for vocabularies of this size).
    public static let maxBeamWidth = 4096

    /// A captioner over `store`'s text encoder.
    public init(
        vocabulary: CaptionVocabulary, store: TextEmbeddingStore, beamWidth: Int = 8,
        shortlist: Shortlist = .automatic, logger: Logger
    ) {
        self.vocabulary = vocabulary
        self.store = store
        // Clamped so the shortlist arithmetic cannot overflow (`--caption-beam 9223372036854775807`).
        let width = min(max(1, beamWidth), Self.maxBeamWidth)
        self.beamWidth = width
        switch shortlist {
        case .automatic: self.shortlist = 3 * width
        case .off: self.shortlist = nil
        case .size(let size): self.shortlist = max(width, size)
        }
        self.logger = logger
    }

    /// Encodes the sentences of the first `depth` slots (subjects, subject + action), which every search scores,
    /// and the phrases of later slots (for shortlist estimates), then saves the cache. On a cached start this
    /// encodes nothing. Returns the number of distinct texts prepared.
    @discardableResult
    public func prepare(depth: Int = 2) throws -> Int {
        let drafts = vocabulary.drafts(depth: depth).map { vocabulary.promptText(for: $0.sentence) }
        let phrases = vocabulary.slots.dropFirst().flatMap { $0.phrases.map { vocabulary.promptText(for: $0.text) } }
        let texts = Array(Set(drafts + phrases)).sorted()
        _ = try store.embeddings(for: texts)
        store.save()
        return texts.count
    }

    // MARK: - Captioner

    /// The best `limit` sentences for the window's mean embedding.
    public func caption(_ window: CaptionWindow, limit: Int) throws -> [CaptionCandidate] {
        let target = window.mean
        guard target.count == store.encoder.embeddingSize else {
            throw CaptionError.encoderFailed(
                detail: "frame embeddings have \(target.count) values but the text encoder makes "
                    + "\(store.encoder.embeddingSize); use the same model for both")
        }
        let ranked = try search(target)
        store.save(minimumInterval: 30)
        return ranked.prefix(max(1, limit)).map(candidate)
    }

    /// Saves newly encoded sentences to the cache file.
    public func flush() {
        store.save()
    }

    // MARK: - Search

    /// A scored sentence.
    public struct Scored: Sendable, Equatable {
        public var draft: SentenceDraft
        public var cosine: Double
        public var score: Double
    }

    /// All sentences the beam scored for `target` (a normalised embedding), best first.
    public func search(_ target: Embedding) throws -> [Scored] {
        var beam = [SentenceDraft.empty]
        var scoredBySentence: [String: Scored] = [:]
        for _ in vocabulary.slots.indices {
            let expansions = try shortlist(beam.flatMap { vocabulary.expansions(of: $0) }, target: target)
            guard !expansions.isEmpty else { break }
            let scored = try score(expansions, against: target)
            for entry in scored where scoredBySentence[entry.draft.sentence] == nil {
                scoredBySentence[entry.draft.sentence] = entry
            }
            beam = scored.sorted(by: Self.better).prefix(beamWidth).map(\.draft)
        }
        return scoredBySentence.values.sorted(by: Self.better)
    }

    /// Every sentence of the vocabulary scored, best first: the reference the beam is tested against (and a choice
    /// for very small vocabularies).
    public func exhaustiveSearch(_ target: Embedding) throws -> [Scored] {
        var seen = Set<String>()
        let drafts = vocabulary.allSentences().filter { seen.insert($0.sentence).inserted }
        return try score(drafts, against: target).sorted(by: Self.better)
    }

    /// The smallest beam that is exhaustive: the most drafts any level but the last can hold (the last level's
    /// drafts are all scored before pruning, so they need no room in the beam).
    public var exhaustiveWidth: Int {
        var level = [SentenceDraft.empty]
        var widest = 1
        for _ in vocabulary.slots.indices.dropLast() {
            level = level.flatMap { vocabulary.expansions(of: $0) }
            widest = max(widest, level.count)
        }
        return widest
    }

    /// Turns a scored draft into what users see.
    public func candidate(_ scored: Scored) -> CaptionCandidate {
        CaptionCandidate(
            text: vocabulary.displayText(for: scored.draft.sentence), score: scored.score, cosine: scored.cosine)
    }

    // MARK: - Scoring

    private func score(_ drafts: [SentenceDraft], against target: Embedding) throws -> [Scored] {
        let embeddings = try store.embeddings(for: drafts.map { vocabulary.promptText(for: $0.sentence) })
        return zip(drafts, embeddings).map { draft, embedding in
            let cosine = Double(embedding.dot(target))
            return Scored(
                draft: draft, cosine: cosine, score: cosine + vocabulary.lengthPrior * Double(draft.length))
        }
    }

    /// Higher score first; ties broken by sentence so results are deterministic.
    static func better(_ a: Scored, _ b: Scored) -> Bool {
        a.score != b.score ? a.score > b.score : a.draft.sentence < b.draft.sentence
    }
}
