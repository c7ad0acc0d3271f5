import Foundation
import VLMCore
import VLMGraph

/// Writes each result as one JSON object per line (JSON Lines), in the one result encoding (`ResultJSON`):
/// `{"cosine":…,"pts":…,"query":…,"score":…,"stream":…,"type":"score"}`.
///
/// Types: `score` (stream, pts, query, score, cosine, box?); `start`, `update`, `end` (a query's match events: stream,
/// query, start_pts, end_pts?, peak_score, peak_pts, box?); `caption` (stream, start_pts, end_pts, text, score);
/// `labels` (stream, pts, labels: [{label, probability}]); `status` (stream, state, detail?). A box is
/// `{x, y, width, height}`. MQTT payloads carry the same keys.
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

    /// The first failed write of this sink's output, if any.
    public var failure: PipelineError? { writer.failure }

    /// Closes a file writer; standard output is left open.
    public func finish() {
        writer.close()
    }

    /// The JSON object for `result`, without the newline.
    public static func line(for result: StreamResult) -> String {
        ResultJSON.line(result)
    }
}
