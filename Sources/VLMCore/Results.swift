/// Where results leave the graph: the terminal, JSON Lines, MQTT, subtitle files, an index.
///
/// Sinks are called from one pipeline thread in stream order; they must not block for long (queue internally).
public protocol ResultSink: AnyObject, Sendable {
    func consume(_ result: StreamResult)
    /// Called once when the pipeline drains (end of file or shutdown); flush and close here.
    func finish()
}

/// Everything the graph reports about a stream.
///
/// Encoded (`ResultJSON`), a result is one flat object with `type` (`score`, `start`/`update`/`end`, `caption`,
/// `labels`, `status`) and its value's snake_case keys: the JSON Lines of `--json`. MQTT payloads encode the
/// same values, without `type`, under their own header.
public enum StreamResult: Sendable {
    /// A frame's score for a query.
    case score(QueryScore)
    /// A start/update/end event made from scores.
    case event(QueryEvent)
    /// A rolling caption.
    case caption(Caption)
    /// Top zero-shot labels for a frame.
    case labels(FrameLabels)
    /// The stream's status changed (online, reconnecting, ended...).
    case status(stream: String, state: String, detail: String?)
    /// A caption model's answer to a standing question (`--ask`), reported when it changes.
    case answer(Answer)
}

/// A model's answer to a question about a stream's frame at `pts`.
public struct Answer: Sendable, Codable, Equatable {
    public var stream: String
    public var pts: Double
    public var question: String
    public var answer: String

    enum CodingKeys: String, CodingKey { case stream, pts, question, answer }

    public init(stream: String, pts: Double, question: String, answer: String) {
        self.stream = stream
        self.pts = pts
        self.question = question
        self.answer = answer
    }
}

/// One frame's score for one query.
public struct QueryScore: Sendable, Codable, Equatable {
    public var stream: String
    public var pts: Double
    public var query: String
    /// Calibrated score in 0...1 (see VLMMatch for the formula).
    public var score: Double
    /// Raw cosine similarity of frame and query embeddings.
    public var cosine: Double
    /// The tile that scored best, when tiles are on.
    public var box: Box?

    enum CodingKeys: String, CodingKey { case stream, pts, query, score, cosine, box }

    public init(stream: String, pts: Double, query: String, score: Double, cosine: Double, box: Box? = nil) {
        self.stream = stream
        self.pts = pts
        self.query = query
        self.score = score
        self.cosine = cosine
        self.box = box
    }
}

/// A query's match interval as events: `start`, bounded-rate `update`s, `end`.
public struct QueryEvent: Sendable, Codable, Equatable {
    public enum Kind: String, Sendable, Codable { case start, update, end }
    public var type: Kind
    public var stream: String
    public var query: String
    public var startPTS: Double
    /// Set on `end` (and the last known time on `update`).
    public var endPTS: Double?
    public var peakScore: Double
    public var peakPTS: Double
    public var box: Box?

    enum CodingKeys: String, CodingKey {
        case type, stream, query, box
        case startPTS = "start_pts"
        case endPTS = "end_pts"
        case peakScore = "peak_score"
        case peakPTS = "peak_pts"
    }

    public init(
        type: Kind, stream: String, query: String, startPTS: Double, endPTS: Double?, peakScore: Double,
        peakPTS: Double, box: Box? = nil
    ) {
        self.type = type
        self.stream = stream
        self.query = query
        self.startPTS = startPTS
        self.endPTS = endPTS
        self.peakScore = peakScore
        self.peakPTS = peakPTS
        self.box = box
    }
}

/// A sentence describing a window of the stream.
public struct Caption: Sendable, Codable, Equatable {
    public var stream: String
    public var startPTS: Double
    public var endPTS: Double
    public var text: String
    public var score: Double

    enum CodingKeys: String, CodingKey {
        case stream, text, score
        case startPTS = "start_pts"
        case endPTS = "end_pts"
    }

    public init(stream: String, startPTS: Double, endPTS: Double, text: String, score: Double) {
        self.stream = stream
        self.startPTS = startPTS
        self.endPTS = endPTS
        self.text = text
        self.score = score
    }
}

/// Zero-shot labels for one frame, best first, with probabilities that sum to 1 over the label set.
public struct FrameLabels: Sendable, Codable, Equatable {
    public struct Label: Sendable, Codable, Equatable {
        public var label: String
        public var probability: Double

        enum CodingKeys: String, CodingKey { case label, probability }

        public init(label: String, probability: Double) {
            self.label = label
            self.probability = probability
        }
    }
    public var stream: String
    public var pts: Double
    public var labels: [Label]

    enum CodingKeys: String, CodingKey { case stream, pts, labels }

    public init(stream: String, pts: Double, labels: [Label]) {
        self.stream = stream
        self.pts = pts
        self.labels = labels
    }
}

/// A stream's state as the pipeline reports it: `online` (`opened`, `reconnected`), `reconnecting`, `ended`, ...
public struct StreamStatus: Sendable, Codable, Equatable {
    public var stream: String
    public var state: String
    public var detail: String?

    enum CodingKeys: String, CodingKey { case stream, state, detail }

    public init(stream: String, state: String, detail: String? = nil) {
        self.stream = stream
        self.state = state
        self.detail = detail
    }
}

// MARK: - Encoding (ResultJSON: snake_case keys, numbers rounded and finite)

extension QueryScore {
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(stream, forKey: .stream)
        try c.encode(ResultJSON.number(pts), forKey: .pts)
        try c.encode(query, forKey: .query)
        try c.encode(ResultJSON.number(score), forKey: .score)
        try c.encode(ResultJSON.number(cosine), forKey: .cosine)
        try c.encodeIfPresent(box, forKey: .box)
    }
}

extension QueryEvent {
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(type, forKey: .type)
        try c.encode(stream, forKey: .stream)
        try c.encode(query, forKey: .query)
        try c.encode(ResultJSON.number(startPTS), forKey: .startPTS)
        try c.encodeIfPresent(endPTS.map(ResultJSON.number), forKey: .endPTS)
        try c.encode(ResultJSON.number(peakScore), forKey: .peakScore)
        try c.encode(ResultJSON.number(peakPTS), forKey: .peakPTS)
        try c.encodeIfPresent(box, forKey: .box)
    }
}

extension Caption {
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(stream, forKey: .stream)
        try c.encode(ResultJSON.number(startPTS), forKey: .startPTS)
        try c.encode(ResultJSON.number(endPTS), forKey: .endPTS)
        try c.encode(text, forKey: .text)
        try c.encode(ResultJSON.number(score), forKey: .score)
    }
}

extension Answer {
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(stream, forKey: .stream)
        try c.encode(ResultJSON.number(pts), forKey: .pts)
        try c.encode(question, forKey: .question)
        try c.encode(answer, forKey: .answer)
    }
}

extension FrameLabels.Label {
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(label, forKey: .label)
        try c.encode(ResultJSON.number(probability), forKey: .probability)
    }
}

extension FrameLabels {
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(stream, forKey: .stream)
        try c.encode(ResultJSON.number(pts), forKey: .pts)
        try c.encode(labels, forKey: .labels)
    }
}

extension StreamResult: Encodable {
    private enum TypeKey: String, CodingKey { case type }

    /// The `type` of its JSON: `score`, `start`/`update`/`end`, `caption`, `labels` or `status`.
    public var type: String {
        switch self {
        case .score: "score"
        case .event(let event): event.type.rawValue
        case .caption: "caption"
        case .labels: "labels"
        case .status: "status"
        case .answer: "answer"
        }
    }

    /// The value's keys plus `type`; an event's `type` is its kind (`start`, `update`, `end`).
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: TypeKey.self)
        switch self {
        case .score(let score):
            try c.encode(type, forKey: .type)
            try score.encode(to: encoder)
        case .event(let event):
            try event.encode(to: encoder)
        case .caption(let caption):
            try c.encode(type, forKey: .type)
            try caption.encode(to: encoder)
        case .labels(let labels):
            try c.encode(type, forKey: .type)
            try labels.encode(to: encoder)
        case .status(let stream, let state, let detail):
            try c.encode(type, forKey: .type)
            try StreamStatus(stream: stream, state: state, detail: detail).encode(to: encoder)
        case .answer(let answer):
            try c.encode(type, forKey: .type)
            try answer.encode(to: encoder)
        }
    }
}
