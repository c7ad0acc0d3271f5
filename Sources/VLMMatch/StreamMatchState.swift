import VLMCore

/// Per-stream matching state: a tracker and one baseline per view for each query the stream has seen.
struct StreamMatchState: Sendable {
    struct QueryState: Sendable {
        var tracker: EventTracker
        var baselines: [RollingBaseline]
    }

    private var perQuery: [String: QueryState] = [:]
    /// Queries in the order the stream first saw them (for the summary).
    private(set) var seen: [String] = []

    /// Scores one frame (see `QueryMatcher.analyze`); returns scores and events.
    mutating func analyze(
        _ frame: EncodedFrame, queries: [QueryMatcher.Query], negativeCosines: [[Double]],
        calibrator: ScoreCalibrator, rules: EventRules, settings: MatchSettings, negatives: [Embedding] = []
    ) -> [StreamResult] {
        var results: [StreamResult] = []
        let pts = frame.time.seconds
        // Queries removed since the last frame: end their matches.
        let active = Set(queries.map(\.text))
        for text in seen where !active.contains(text) {
            guard var state = perQuery.removeValue(forKey: text) else { continue }
            results += state.tracker.finish().map(StreamResult.event)
        }
        let views = frame.embeddings.count
        for query in queries {
            // Taken out of the dictionary while mutated, so its arrays are not copied on write every frame.
            var state =
                perQuery.removeValue(forKey: query.text) ?? newState(query.text, frame.stream, rules, settings, views)
            if state.baselines.count != views {  // the tile layout changed: start the baselines over
                state.baselines = Array(repeating: RollingBaseline(window: settings.baselineWindow), count: views)
            }
            var best = (score: -1.0, cosine: 0.0, view: 0)
            var calibrator = calibrator
            if let scale = query.logitScale { calibrator.logitScale = scale }
            for v in 0..<views {
                var c = Double(frame.embeddings[v].similarity(query.embedding))
                var negativeCosines = negativeCosines
                if let adapter = query.adapter {  // a tuned query scores the adapted frame, negatives included
                    let adapted = adapter.apply(frame.embeddings[v])
                    c = adapted.cosine
                    negativeCosines[v] = negatives.map { n in adapted.cosine(with: n) }
                }
                if let own = query.ownNegative { negativeCosines[v][own] = .nan }  // the calibrator skips it
                guard c.isFinite else {  // a broken view scores 0 and stays out of the baseline
                    if best.score < 0 { best = (0, 0, v) }
                    continue
                }
                // The frame joins its own baseline first: with no history, the first frame is "usual".
                state.baselines[v].update(c, at: pts)
                let s = calibrator.score(cosine: c, negatives: negativeCosines[v], baseline: state.baselines[v].value)
                if s > best.score { best = (s, c, v) }
            }
            let box: Box? = views > 1 ? frame.boxes[safe: best.view] ?? .full : nil
            results.append(
                .score(
                    QueryScore(
                        stream: frame.stream, pts: pts, query: query.text, score: best.score, cosine: best.cosine,
                        box: box)))
            results += state.tracker.observe(pts: pts, score: best.score, box: box).map(StreamResult.event)
            perQuery[query.text] = state
        }
        return results
    }

    /// Ends all open matches.
    mutating func finish() -> [StreamResult] {
        var results: [StreamResult] = []
        for text in seen {
            guard var state = perQuery[text] else { continue }
            results += state.tracker.finish().map(StreamResult.event)
            perQuery[text] = state
        }
        return results
    }

    private mutating func newState(
        _ query: String, _ stream: String, _ rules: EventRules, _ settings: MatchSettings, _ views: Int
    ) -> QueryState {
        if !seen.contains(query) { seen.append(query) }
        return QueryState(
            tracker: EventTracker(stream: stream, query: query, rules: rules),
            baselines: Array(repeating: RollingBaseline(window: settings.baselineWindow), count: views))
    }
}

extension Array {
    /// The element at `index`, or nil when out of range.
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
