import DequeModule
import Foundation
import VLMCore

/// What a running pipeline reports, kept for the live page: the graph's results go in (`consume`, a
/// `ResultSink`), per-frame scores go in (`record(scores:)`), and Server-Sent Events come out.
///
/// Keeps, bounded, what a page that opens late needs: the last `recentLimit` events, captions, answers and status
/// changes (replayed to a new subscriber, or after `Last-Event-ID` to one that reconnects), each stream's open
/// events, and each stream's scores of the last `scoreWindow` seconds of stream time for the chart. Subscribers get
/// every new message in order; one that falls `subscriberBuffer` messages behind loses the oldest (a slow browser
/// never holds the pipeline back).
public final class LiveFeed: ResultSink {
    /// One Server-Sent Event: `id`, `event` (`event`, `caption`, `answer`, `status`, `scores`) and a JSON `data`.
    public struct Message: Sendable {
        public var id: Int
        public var payload: Payload
        /// The payload in the one result encoding (`ResultJSON`), one line.
        public var json: String
        /// The SSE event name: `event`, `caption`, `answer`, `status` or `scores`.
        public var kind: String { payload.kind }

        /// The event as it goes on the wire.
        public var wire: String { "id: \(id)\nevent: \(kind)\ndata: \(json)\n\n" }
    }

    /// What a message carries.
    public enum Payload: Sendable, Encodable {
        case event(QueryEvent)
        case caption(Caption)
        case answer(Answer)
        case status(StreamStatus)
        case scores(FrameScores)

        public var kind: String {
            switch self {
            case .event: "event"
            case .caption: "caption"
            case .answer: "answer"
            case .status: "status"
            case .scores: "scores"
            }
        }

        public func encode(to encoder: any Encoder) throws {
            switch self {
            case .event(let value): try value.encode(to: encoder)
            case .caption(let value): try value.encode(to: encoder)
            case .answer(let value): try value.encode(to: encoder)
            case .status(let value): try value.encode(to: encoder)
            case .scores(let value): try value.encode(to: encoder)
            }
        }
    }

    /// A point of a query's score chart.
    public struct ScorePoint: Sendable, Encodable {
        public var pts: Double
        public var score: Double
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.unkeyedContainer()
            try c.encode(ResultJSON.number(pts))
            try c.encode(ResultJSON.number(score))
        }
    }

    struct State {
        var nextID = 1
        var recent = Deque<Message>()
        var open: [String: [String: QueryEvent]] = [:]
        var scores: [String: [String: Deque<ScorePoint>]] = [:]
        var statuses: [String: StreamStatus] = [:]
        var subscribers: [Int: AsyncStream<Message>.Continuation] = [:]
        var nextSubscriber = 0
        var closed = false
    }

    /// The streams of the run, in the order the pipeline names them.
    public let streams: [String]
    /// Messages kept for replay.
    public let recentLimit: Int
    /// Seconds of stream time each chart shows.
    public let scoreWindow: Double
    /// Points kept per stream and query (a fast stream is thinned to this).
    public let scorePointLimit: Int
    /// Messages a subscriber may fall behind before it loses the oldest.
    public let subscriberBuffer: Int
    let state = Locked(State())
    /// Held while a message is made and handed to the pages, so they get messages in id order; `state` is released
    /// before the handing over (see `Delivery`).
    private let sending = Locked(())

    /// A feed for `streams`.
    public init(
        streams: [String], recentLimit: Int = 200, scoreWindow: Double = 300, scorePointLimit: Int = 600,
        subscriberBuffer: Int = 512
    ) {
        self.streams = streams
        self.recentLimit = max(1, recentLimit)
        self.scoreWindow = scoreWindow
        self.scorePointLimit = max(2, scorePointLimit)
        self.subscriberBuffer = max(1, subscriberBuffer)
    }

    // MARK: - In

    /// Takes a graph result: events, captions, answers and status changes become messages; labels are not shown.
    public func consume(_ result: StreamResult) {
        switch result {
        case .event(let event):
            publishing { s in
                if event.type == .end {
                    s.open[event.stream]?[event.query] = nil
                } else {
                    s.open[event.stream, default: [:]][event.query] = event
                }
                return .event(event)
            }
        case .caption(let caption):
            publishing { _ in .caption(caption) }
        case .answer(let answer):
            publishing { _ in .answer(answer) }
        case .status(let stream, let status, let detail):
            let value = StreamStatus(stream: stream, state: status, detail: detail)
            publishing { s in
                s.statuses[stream] = value
                return .status(value)
            }
        case .score(let score):
            record(scores: [score])
        case .labels:
            break
        }
    }

    /// The graph drained: the page keeps what it has until the server stops.
    public func finish() {}

    /// Takes one analysed frame's scores (`QueryMatcher.observeScores`): kept for the chart and sent as one
    /// `scores` message `{"stream", "pts", "scores": {query: score}}` (not replayed: the state has the chart).
    public func record(scores: [QueryScore]) {
        guard let first = scores.first else { return }
        let frame = FrameScores(
            stream: first.stream, pts: first.pts,
            scores: Dictionary(scores.map { ($0.query, $0.score) }, uniquingKeysWith: { a, _ in a }))
        publishing(replay: false) { s in
            var series = s.scores[first.stream] ?? [:]
            for score in scores {
                var points = series[score.query] ?? Deque()
                points.append(ScorePoint(pts: score.pts, score: score.score))
                while let oldest = points.first, oldest.pts < score.pts - scoreWindow { points.removeFirst() }
                if points.count > scorePointLimit { points = Self.thinned(points) }
                series[score.query] = points
            }
            // A removed query's series is dropped once it has left the window (a long run sees many queries).
            series = series.filter { ($0.value.last?.pts ?? -Double.infinity) >= first.pts - scoreWindow }
            s.scores[first.stream] = series
            return .scores(frame)
        }
    }

    /// Every other point, the newest kept (halves a full series instead of dropping its start).
    static func thinned(_ points: Deque<ScorePoint>) -> Deque<ScorePoint> {
        var kept = Deque<ScorePoint>()
        let last = points.count - 1
        for (i, point) in points.enumerated() where (last - i) % 2 == 0 { kept.append(point) }
        return kept
    }

    /// Updates the state and makes the message `update` returns (kept for replay unless `replay` is false), then hands
    /// it to every page once `state` is released. Handing it over under `state` deadlocked: a page that disconnects
    /// ends its stream while the runtime holds the task's lock, and the stream's termination handler takes `state`,
    /// while `yield` waits for that same task lock.
    private func publishing(replay: Bool = true, _ update: (inout State) -> Payload) {
        sending.withLock { _ in
            let delivery = state.withLock { s -> (Message, [AsyncStream<Message>.Continuation])? in
                let payload = update(&s)
                guard !s.closed else { return nil }
                let message = Message(id: s.nextID, payload: payload, json: ResultJSON.line(payload))
                s.nextID += 1
                if replay {
                    s.recent.append(message)
                    if s.recent.count > recentLimit { s.recent.removeFirst() }
                }
                return (message, Array(s.subscribers.values))
            }
            guard let (message, subscribers) = delivery else { return }
            for continuation in subscribers { continuation.yield(message) }
        }
    }

    // MARK: - Out

    /// The messages to replay, then every new one until `close()` or the caller stops iterating. `after` is a
    /// reconnecting client's `Last-Event-ID`: only newer kept messages are replayed.
    public func subscribe(after: Int? = nil) -> (replay: [Message], live: AsyncStream<Message>) {
        let (stream, continuation) = AsyncStream<Message>.makeStream(
            bufferingPolicy: .bufferingNewest(subscriberBuffer))
        let replay = state.withLock { s -> [Message] in
            guard !s.closed else {
                continuation.finish()
                return []
            }
            let id = s.nextSubscriber
            s.nextSubscriber += 1
            s.subscribers[id] = continuation
            continuation.onTermination = { [weak self] _ in
                self?.state.withLock { _ = $0.subscribers.removeValue(forKey: id) }
            }
            return s.recent.filter { $0.id > (after ?? 0) }
        }
        return (replay, stream)
    }

    /// Ends every subscription (the server is shutting down: open event streams must end for it to stop).
    public func close() {
        let subscribers = state.withLock { s -> [AsyncStream<Message>.Continuation] in
            s.closed = true
            defer { s.subscribers = [:] }
            return Array(s.subscribers.values)
        }
        for continuation in subscribers { continuation.finish() }
    }

    /// The chart of `query` on `stream`: its kept scores, oldest first.
    public func chart(stream: String, query: String) -> [ScorePoint] {
        state.withLock { $0.scores[stream]?[query].map(Array.init) ?? [] }
    }

    /// The open events of `stream` (started, not ended), by start time.
    public func openEvents(stream: String) -> [QueryEvent] {
        state.withLock { ($0.open[stream] ?? [:]).values.sorted { $0.startPTS < $1.startPTS } }
    }

    /// How many pages are listening now.
    public var subscriberCount: Int { state.withLock { $0.subscribers.count } }
}

/// One frame's scores, as the `scores` message.
public struct FrameScores: Sendable, Encodable {
    public var stream: String
    public var pts: Double
    public var scores: [String: Double]

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(stream, forKey: .stream)
        try c.encode(ResultJSON.number(pts), forKey: .pts)
        try c.encode(scores.mapValues(ResultJSON.number), forKey: .scores)
    }

    enum CodingKeys: String, CodingKey { case stream, pts, scores }
}
