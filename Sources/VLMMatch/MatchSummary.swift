import Foundation
import VLMCore

/// One closed match: a query held on a stream from `startPTS` to `endPTS`.
public struct MatchInterval: Sendable, Codable, Equatable {
    /// First frame at or above the enter threshold.
    public var startPTS: Double
    /// Last frame at or above the exit threshold.
    public var endPTS: Double
    /// Highest score in the interval.
    public var peakScore: Double
    /// Time of the frame with the highest score.
    public var peakPTS: Double
    /// Box of the peak frame, with tiles.
    public var box: Box?

    enum CodingKeys: String, CodingKey {
        case box
        case startPTS = "start_pts"
        case endPTS = "end_pts"
        case peakScore = "peak_score"
        case peakPTS = "peak_pts"
    }

    /// Seconds from start to end.
    public var duration: Double { endPTS - startPTS }
}

/// What a run found: for every stream and every query it ran, the matched intervals in order.
public struct MatchSummary: Sendable, Codable, Equatable {
    /// One query on one stream.
    public struct Entry: Sendable, Codable, Equatable {
        /// Always "query_summary", so JSON Lines consumers can tell it from events and the run's own "summary".
        public var type = "query_summary"
        public var stream: String
        public var query: String
        /// The intervals in order (the most recent `MatchHistory.intervalLimit` on a long-running stream).
        public var intervals: [MatchInterval]
        /// Intervals left out of `intervals` because there were more than the limit (oldest first).
        public var earlierIntervals: Int
        /// Sum of the durations of all intervals, including the earlier ones.
        public var matchedSeconds: Double
        /// Every frame's calibrated score: frames, peak and median (`scores` in JSON).
        public var scores = ScoreStatistics()

        enum CodingKeys: String, CodingKey {
            case type, stream, query, intervals, scores
            case earlierIntervals = "earlier_intervals"
            case matchedSeconds = "matched_seconds"
        }
    }

    /// Streams in the order first seen, queries in the order each stream first saw them.
    public var entries: [Entry]

    /// The human view: one line per stream and query, e.g.
    /// `summary cam0 "a red car": 2 matches, 7.5 s — 00:03.000–00:08.500 (peak 0.91 @ 00:05.000), …`.
    public var lines: [String] {
        entries.map { entry in
            let head = "summary \(entry.stream) \"\(entry.query)\": "
            guard !entry.intervals.isEmpty else { return head + "no matches" }
            let total = entry.intervals.count + entry.earlierIntervals
            let count = total == 1 ? "1 match" : "\(total) matches"
            let spans = entry.intervals.map { i in
                "\(MediaTime.format(i.startPTS))–\(MediaTime.format(i.endPTS)) "
                    + "(peak \(formatScore(i.peakScore)) @ \(MediaTime.format(i.peakPTS)))"
            }
            let earlier = entry.earlierIntervals > 0 ? "…, " : ""
            return head + "\(count), \(formatSeconds(entry.matchedSeconds)) — " + earlier
                + spans.joined(separator: ", ")
        }
    }

    /// What each query scored, one line per stream and query (`Entry.scoreLine`).
    public var scoreLines: [String] { entries.compactMap(\.scoreLine) }
}

extension MatchSummary.Entry {
    /// `scores  cam0 "a red car": peak 0.91 @ 00:05.000, median 0.12 over 20 frames`; nil when no frame was scored.
    public var scoreLine: String? {
        guard let median = scores.median else { return nil }
        return
            "scores  \(stream) \"\(query)\": peak \(formatScore(scores.peak)) @ \(MediaTime.format(scores.peakPTS)), "
            + "median \(formatScore(median)) over \(scores.frames) \(scores.frames == 1 ? "frame" : "frames")"
    }
}

/// The record behind `MatchSummary`: the queries each stream ran and the `end` events seen.
struct MatchHistory: Sendable {
    /// Intervals kept per stream and query; older ones are only counted (a live stream runs for weeks).
    static let intervalLimit = 1000

    struct Record: Sendable {
        var intervals: [MatchInterval] = []
        var earlier = 0
        var seconds = 0.0
        var scores = ScoreStatistics()
    }

    private var streams: [String] = []
    private var queries: [String: [String]] = [:]
    private var records: [String: [String: Record]] = [:]

    mutating func noteQueries(_ texts: [String], stream: String) {
        if queries[stream] == nil {
            streams.append(stream)
            queries[stream] = []
        }
        for text in texts where !queries[stream]!.contains(text) { queries[stream]!.append(text) }
    }

    mutating func record(_ score: QueryScore) {
        records[score.stream, default: [:]][score.query, default: Record()].scores.add(score.score, at: score.pts)
    }

    mutating func record(_ event: QueryEvent) {
        guard event.type == .end, let end = event.endPTS else { return }
        noteQueries([event.query], stream: event.stream)
        var record = records[event.stream]?[event.query] ?? Record()
        record.intervals.append(
            MatchInterval(
                startPTS: event.startPTS, endPTS: end, peakScore: event.peakScore, peakPTS: event.peakPTS,
                box: event.box))
        record.seconds += end - event.startPTS
        if record.intervals.count > Self.intervalLimit {
            record.intervals.removeFirst()
            record.earlier += 1
        }
        records[event.stream, default: [:]][event.query] = record
    }

    func summary() -> MatchSummary {
        MatchSummary(
            entries: streams.flatMap { stream in
                (queries[stream] ?? []).map { query in
                    let record = records[stream]?[query] ?? Record()
                    return MatchSummary.Entry(
                        stream: stream, query: query, intervals: record.intervals, earlierIntervals: record.earlier,
                        matchedSeconds: record.seconds, scores: record.scores)
                }
            })
    }
}

/// A score with two decimals.
func formatScore(_ score: Double) -> String {
    let hundredths = Int((score * 100).rounded())
    return "\(hundredths / 100).\(hundredths % 100 < 10 ? "0" : "")\(hundredths % 100)"
}

/// Seconds with one decimal and a unit.
func formatSeconds(_ seconds: Double) -> String {
    let tenths = Int((seconds * 10).rounded())
    return "\(tenths / 10).\(tenths % 10) s"
}

extension MatchSummary {
    /// The summary as JSON Lines, one object per stream and query, in the one result encoding (`ResultJSON`):
    /// `{"earlier_intervals":0,"intervals":[{"end_pts":…,"peak_pts":…,"peak_score":…,"start_pts":…}],
    /// "matched_seconds":4.5,"query":"a dog","stream":"cam","type":"query_summary"}`.
    public var jsonLines: [String] { entries.map(ResultJSON.line) }
}

extension MatchInterval {
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(ResultJSON.number(startPTS), forKey: .startPTS)
        try c.encode(ResultJSON.number(endPTS), forKey: .endPTS)
        try c.encode(ResultJSON.number(peakScore), forKey: .peakScore)
        try c.encode(ResultJSON.number(peakPTS), forKey: .peakPTS)
        try c.encodeIfPresent(box, forKey: .box)
    }
}

extension MatchSummary.Entry {
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(type, forKey: .type)
        try c.encode(stream, forKey: .stream)
        try c.encode(query, forKey: .query)
        try c.encode(intervals, forKey: .intervals)
        try c.encode(earlierIntervals, forKey: .earlierIntervals)
        try c.encode(ResultJSON.number(matchedSeconds), forKey: .matchedSeconds)
        try c.encode(scores, forKey: .scores)
    }
}
