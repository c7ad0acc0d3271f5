import VLMCore

/// The rules that turn a query's score sequence into events (a subset of `MatchSettings`).
public struct EventRules: Sendable, Equatable {
    /// Open a match at a score at or above this.
    public var enter: Double
    /// Keep it while the score is at or above this (`exit <= enter`: hysteresis).
    public var exit: Double
    /// Seconds from the first crossing of `enter` before `start` is emitted.
    public var minDuration: Double
    /// Seconds below `exit` tolerated before the match ends.
    public var gap: Double
    /// Seconds between `update` events; 0 = no updates.
    public var updateInterval: Double

    /// Rules with the given thresholds.
    public init(enter: Double, exit: Double, minDuration: Double, gap: Double, updateInterval: Double) {
        self.enter = enter
        self.exit = exit
        self.minDuration = minDuration
        self.gap = gap
        self.updateInterval = updateInterval
    }

    /// The event rules of a match configuration.
    public init(_ settings: MatchSettings) {
        self.init(
            enter: settings.enter, exit: settings.exit, minDuration: settings.minDuration, gap: settings.gap,
            updateInterval: settings.updateInterval)
    }
}

/// One query on one stream: a state machine from per-frame scores to `start`/`update`/`end` events.
///
/// - **Hysteresis**: a match opens when the score reaches `enter` and holds while it stays at or above `exit`.
/// - **Gap tolerance**: frames below `exit` are bridged while they span at most `gap` seconds after the last frame
///   at or above `exit`; the next frame beyond that closes the match with `endPTS` = that last frame's time.
/// - **Minimum duration**: `start` is emitted at the first frame at or above `exit` that is at least
///   `minDuration` seconds after the first crossing of `enter`, and carries `startPTS` = that first crossing (so
///   consumers learn of a match `minDuration` late, but with its true start). A match that closes before that
///   emits nothing at all: no start without an end, no end without a start.
/// - **Updates**: while started, at most one `update` per `updateInterval` seconds, on frames at or above `exit`,
///   with `endPTS` = the frame's time.
/// - Every event carries the peak score so far, its frame time and, with tiles, the box of that frame.
///
/// Frames must arrive in presentation order.
public struct EventTracker: Sendable {
    /// The match in progress.
    struct Interval: Sendable {
        var start: Double
        var lastAbove: Double
        var peakScore: Double
        var peakPTS: Double
        var peakBox: Box?
        var started = false
        var lastEmitted: Double = 0
    }

    /// The rules this tracker applies.
    public let rules: EventRules
    /// Stream name put on events.
    public let stream: String
    /// Query put on events.
    public let query: String
    private var open: Interval?

    /// An idle tracker.
    public init(stream: String, query: String, rules: EventRules) {
        self.stream = stream
        self.query = query
        self.rules = rules
    }

    /// True from the first crossing of `enter` until the match closes (whether or not `start` was emitted yet).
    public var isOpen: Bool { open != nil }

    /// True after `start` was emitted and before `end`.
    public var isStarted: Bool { open?.started ?? false }

    /// Feeds the score of the frame at `pts`; returns the events it causes (at most one).
    public mutating func observe(pts: Double, score: Double, box: Box? = nil) -> [QueryEvent] {
        guard var interval = open else {
            guard score >= rules.enter else { return [] }
            open = Interval(start: pts, lastAbove: pts, peakScore: score, peakPTS: pts, peakBox: box)
            return startIfDue(at: pts)
        }
        if score >= rules.exit {
            interval.lastAbove = pts
            if score > interval.peakScore {
                interval.peakScore = score
                interval.peakPTS = pts
                interval.peakBox = box
            }
            open = interval
            if !interval.started { return startIfDue(at: pts) }
            guard rules.updateInterval > 0, pts - interval.lastEmitted >= rules.updateInterval else { return [] }
            open?.lastEmitted = pts
            return [event(.update, interval, endPTS: pts)]
        }
        guard pts - interval.lastAbove > rules.gap else { return [] }
        return close()
    }

    /// The stream ended: closes an open match (`end` at its last frame at or above `exit`). A match shorter than
    /// the minimum duration is dropped without events.
    public mutating func finish() -> [QueryEvent] {
        close()
    }

    // MARK: - Transitions

    private mutating func startIfDue(at pts: Double) -> [QueryEvent] {
        guard var interval = open, !interval.started, pts - interval.start >= rules.minDuration else { return [] }
        interval.started = true
        interval.lastEmitted = pts
        open = interval
        return [event(.start, interval, endPTS: nil)]
    }

    private mutating func close() -> [QueryEvent] {
        guard let interval = open else { return [] }
        open = nil
        return interval.started ? [event(.end, interval, endPTS: interval.lastAbove)] : []
    }

    private func event(_ type: QueryEvent.Kind, _ interval: Interval, endPTS: Double?) -> QueryEvent {
        QueryEvent(
            type: type, stream: stream, query: query, startPTS: interval.start, endPTS: endPTS,
            peakScore: interval.peakScore, peakPTS: interval.peakPTS, box: interval.peakBox)
    }
}
