import Foundation
import VLMCore
import VLMGraph

/// Writes each result as one JSON object per line (JSON Lines): `{"type":"score","stream":…,"pts":…,…}`.
///
/// Types: `score` (stream, pts, query, score, cosine, box?); `start`, `update`, `end` (a query's match events: stream,
/// query, start_pts, end_pts?, peak_score, peak_pts, box?); `caption`, `labels`, `status`.
public final class JSONLinesSink: ResultSink {
    private let writer: LineWriter

    /// A sink writing to `writer`.
    public init(writer: LineWriter = .stdout) {
        self.writer = writer
    }

    /// Writes `result` as one line.
    public func consume(_ result: StreamResult) {
        writer.write(Self.line(for: result))
    }

    /// Closes a file writer; standard output is left open.
    public func finish() {
        writer.close()
    }

    /// The JSON object for `result`, without the newline.
    public static func line(for result: StreamResult) -> String {
        var object: [(String, Any?)]
        switch result {
        case .score(let s):
            object = [
                ("type", "score"), ("stream", s.stream), ("pts", s.pts), ("query", s.query), ("score", s.score),
                ("cosine", s.cosine), ("box", s.box.map(boxObject)),
            ]
        case .event(let e):
            object = [
                ("type", e.type.rawValue), ("stream", e.stream), ("query", e.query),
                ("start_pts", e.startPTS), ("end_pts", e.endPTS), ("peak_score", e.peakScore),
                ("peak_pts", e.peakPTS), ("box", e.box.map(boxObject)),
            ]
        case .caption(let c):
            object = [
                ("type", "caption"), ("stream", c.stream), ("start_pts", c.startPTS), ("end_pts", c.endPTS),
                ("text", c.text), ("score", c.score),
            ]
        case .labels(let l):
            object = [
                ("type", "labels"), ("stream", l.stream), ("pts", l.pts),
                ("labels", l.labels.map { ["label": $0.label, "probability": rounded($0.probability)] }),
            ]
        case .status(let stream, let state, let detail):
            object = [("type", "status"), ("stream", stream), ("state", state), ("detail", detail)]
        }
        return "{"
            + object.compactMap { key, value in value.map { "\"\(key)\":\(json($0))" } }
            .joined(separator: ",") + "}"
    }

    private static func boxObject(_ box: Box) -> [String: Any] {
        ["x": rounded(box.x), "y": rounded(box.y), "w": rounded(box.width), "h": rounded(box.height)]
    }

    private static func rounded(_ value: Double) -> Double { (value * 1e6).rounded() / 1e6 }

    /// Encodes strings, numbers, arrays and dictionaries (keys sorted) as JSON.
    private static func json(_ value: Any) -> String {
        switch value {
        case let s as String:
            return JSONText.string(s)
        case let d as Double:
            guard d.isFinite else { return "null" }
            return "\(rounded(d))"
        case let i as Int:
            return "\(i)"
        case let a as [Any]:
            return "[" + a.map(json).joined(separator: ",") + "]"
        case let o as [String: Any]:
            return "{" + o.keys.sorted().map { "\(json($0)):\(json(o[$0]!))" }.joined(separator: ",") + "}"
        default:
            return "null"
        }
    }
}
