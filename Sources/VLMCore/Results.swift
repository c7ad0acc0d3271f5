/// Where results leave the graph: the terminal, JSON Lines, MQTT, subtitle files, an index.
///
/// Sinks are called from one pipeline thread in stream order; they must not block for long (queue internally).
public protocol ResultSink: AnyObject, Sendable {
    func consume(_ result: StreamResult)
    /// Called once when the pipeline drains (end of file or shutdown); flush and close here.
    func finish()
}

/// Everything the graph reports about a stream.
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
        public init(label: String, probability: Double) {
            self.label = label
            self.probability = probability
        }
    }
    public var stream: String
    public var pts: Double
    public var labels: [Label]

    public init(stream: String, pts: Double, labels: [Label]) {
        self.stream = stream
        self.pts = pts
        self.labels = labels
    }
}
