import VLMCore

/// Scores every encoded frame against the live query set and turns the scores into events: the matching stage.
///
/// - Queries are embedded once with the prompt ensemble (`PromptEncoder`) and cached; the query set can change at
///   any time from any thread (`QueryControlling`: CLI, pipeline file, MQTT). Each frame is scored against a
///   snapshot of the set taken when the frame arrives, so a change never touches a frame half-way and frames
///   already encoded are not encoded again.
/// - Scores are calibrated (`ScoreCalibrator`: softmax against negatives and the query's rolling baseline for
///   CLIP; the model's own sigmoid probability for SigLIP) per view; with tiles the best view wins and its box
///   is reported.
/// - One `EventTracker` per stream and query turns scores into `start`/`update`/`end`; a removed query's open
///   match is ended on the stream's next frame, and `finish` ends all of a stream's matches.
///
/// Thread-safe: `analyze`/`finish` may run on one thread per stream while queries change on others.
public final class QueryMatcher: FrameAnalyzer, QueryControlling {
    /// An active query and its ensemble embedding.
    struct Query: Sendable {
        var text: String
        var embedding: Embedding
        /// A tuned query's frame adapter (`vlm-stream tune`); nil for text and example queries.
        var adapter: TunedAdapter? = nil
        /// A tuned query's own logit scale; nil: the model's.
        var logitScale: Double? = nil
        /// The negative prompt that is this query's own phrase (`an empty street` is a default negative), left out
        /// of its softmax: against itself a query could score 0.5 at most and never open an event.
        var ownNegative: Int? = nil
    }

    /// The settings this matcher was made with (validated).
    public let settings: MatchSettings
    /// The ensemble encoder, shared with other stages that embed text (labels).
    public let prompts: PromptEncoder
    let negatives: [Embedding]
    private let calibrator: ScoreCalibrator
    private let rules: EventRules
    let queries = Locked<[Query]>([])
    let streams = Locked<[String: StreamMatchState]>([:])
    let history = Locked<MatchHistory>(MatchHistory())
    private let scoreObservers = Locked<[@Sendable ([QueryScore]) -> Void]>([])

    /// A matcher with `queries` active; embeds the negatives and queries now (throws on a bad setting or query).
    public convenience init(encoder: any TextEncoding, settings: MatchSettings, queries: [String] = []) throws {
        try settings.validate()
        try self.init(
            prompts: PromptEncoder(encoder: encoder, templates: settings.prompts.templates), settings: settings,
            queries: queries)
    }

    /// A matcher sharing an existing prompt encoder (and its cache); its templates must be `settings`' templates.
    public init(prompts: PromptEncoder, settings: MatchSettings, queries: [String] = []) throws {
        try settings.validate()
        self.settings = settings
        self.prompts = prompts
        let calibrator = ScoreCalibrator(
            logitScale: prompts.logitScale, baselineMargin: settings.baselineMargin, logitBias: prompts.logitBias,
            references: settings.sigmoidReferences)
        self.calibrator = calibrator
        // A sigmoid model's probability stands alone unless asked otherwise: no negatives to embed.
        self.negatives = calibrator.references ? try prompts.embed(settings.prompts.negatives) : []
        self.rules = EventRules(settings)
        try setQueries(queries)
    }

    // MARK: - QueryControlling

    /// The active queries, in the order they were added.
    public var activeQueries: [String] { queries.withLock { $0.map(\.text) } }

    /// Replaces the query set; on error (an empty query, the encoder failing) nothing changes.
    public func setQueries(_ texts: [String]) throws {
        let fresh = try embedQueries(texts)
        queries.withLock { $0 = fresh }
    }

    /// Adds queries not already active, after the existing ones; on error nothing changes.
    public func addQueries(_ texts: [String]) throws {
        let fresh = try embedQueries(texts)
        queries.withLock { active in
            for query in fresh where !active.contains(where: { $0.text == query.text }) { active.append(query) }
        }
    }

    /// Removes queries (unknown ones are ignored); their open matches end on each stream's next frame.
    public func removeQueries(_ texts: [String]) {
        let gone = Set(texts.map { $0.trimmingWhitespace() })
        queries.withLock { $0.removeAll { gone.contains($0.text) } }
    }

    private func embedQueries(_ texts: [String]) throws -> [Query] {
        var seen = Set<String>()
        let cleaned = try texts.map { text in
            let query = text.trimmingWhitespace()
            guard !query.isEmpty else { throw MatchError.invalidQuery(text, reason: "empty; give some words") }
            guard query.count <= 300 else {
                throw MatchError.invalidQuery(
                    String(query.prefix(40)) + "…", reason: "too long; keep it under 300 characters")
            }
            return query
        }.filter { seen.insert($0).inserted }
        let embeddings = try prompts.embed(cleaned)
        let phrases = negatives.isEmpty ? [] : settings.prompts.negatives.map { $0.trimmingWhitespace().lowercased() }
        return zip(cleaned, embeddings).map { text, embedding in
            Query(text: text, embedding: embedding, ownNegative: phrases.firstIndex(of: text.lowercased()))
        }
    }

    // MARK: - FrameAnalyzer

    /// Scores the frame against a snapshot of the query set; returns events (and scores with `emitScores`).
    public func analyze(_ frame: EncodedFrame) -> [StreamResult] {
        let snapshot = queries.withLock { $0 }
        guard !frame.embeddings.isEmpty else { return [] }
        // Cosines of every view with every negative: n[v][k].
        let negativeCosines = frame.embeddings.map { view in negatives.map { Double(view.similarity($0)) } }
        let results = streams.withLock { states in
            var state = states.removeValue(forKey: frame.stream) ?? StreamMatchState()  // no copy-on-write
            let results = state.analyze(
                frame, queries: snapshot, negativeCosines: negativeCosines, calibrator: calibrator, rules: rules,
                settings: settings, negatives: negatives)
            states[frame.stream] = state
            return results
        }
        history.withLock { $0.noteQueries(snapshot.map(\.text), stream: frame.stream) }
        record(results)
        let observers = scoreObservers.current
        if !observers.isEmpty {
            let scores = results.compactMap { result -> QueryScore? in
                if case .score(let score) = result { score } else { nil }
            }
            for observer in observers { observer(scores) }
        }
        return settings.emitScores ? results : results.filter { if case .score = $0 { false } else { true } }
    }

    /// Ends every open match of `stream` (end of file or shutdown) and forgets the stream's state.
    public func finish(stream: String, at pts: Double) -> [StreamResult] {
        let results = streams.withLock { states in
            let events = states[stream]?.finish() ?? []
            states[stream] = nil
            return events
        }
        record(results)
        return results
    }

    /// Every matched interval so far, per stream and query (closed matches only; call after `finish`).
    public func summary() -> MatchSummary {
        history.withLock { $0.summary() }
    }

    /// Calls `observer` with every analysed frame's scores (one call per frame, one score per active query, empty
    /// when no query is active), whether or not `emitScores` passes them on as results: the live page's chart.
    /// Called on the stream's pipeline thread; keep it quick.
    public func observeScores(_ observer: @escaping @Sendable ([QueryScore]) -> Void) {
        scoreObservers.withLock { $0.append(observer) }
    }

    private func record(_ results: [StreamResult]) {
        history.withLock { history in
            for result in results {
                switch result {
                case .event(let event): history.record(event)
                case .score(let score): history.record(score)
                default: break
                }
            }
        }
    }
}
