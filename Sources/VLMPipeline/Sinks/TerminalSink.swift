import Foundation
import VLMCore
import VLMGraph
import VLMMatch

/// Human-readable results: one line per sampled frame with every query's score, plus events, captions and labels.
///
/// ```
/// 00:01.500  plaza  person crossing 0.631  red car 0.522
/// 00:03.000 start  plaza "person crossing" peak 0.71 @ 00:03.500
/// ```
public final class TerminalSink: ResultSink {
    private struct Pending {
        var stream = ""
        var pts = -1.0
        var scores: [QueryScore] = []
    }

    private let writer: LineWriter
    private let pending = Locked(Pending())
    /// Captions already shown, by stream and start (a repeat only extends a caption's end).
    private let shownCaptions = Locked(Set<String>())

    /// A sink writing to `writer`.
    public init(writer: LineWriter = .stdout) {
        self.writer = writer
    }

    /// Scores of one frame are gathered into one line; other results print at once.
    public func consume(_ result: StreamResult) {
        switch result {
        case .score(let score):
            let flushed: Pending? = pending.withLock { p in
                guard p.stream != score.stream || p.pts != score.pts else {
                    p.scores.append(score)
                    return nil
                }
                let old = p
                p = Pending(stream: score.stream, pts: score.pts, scores: [score])
                return old
            }
            if let flushed { write(flushed) }
        case .event(let e):
            flushScores()
            writer.write(e.humanLine)
        case .caption(let c):
            guard shownCaptions.withLock({ $0.insert("\(c.stream)\u{0}\(c.startPTS)").inserted }) else { return }
            flushScores()
            writer.write("\(MediaTime.format(c.startPTS))  \(c.stream)  “\(c.text)”")
        case .labels(let l):
            flushScores()
            writer.write(l.humanLine)
        case .status(let stream, let state, let detail):
            flushScores()
            writer.write("\(stream): \(state)" + (detail.map { " (\($0))" } ?? ""))
        case .answer(let a):
            flushScores()
            writer.write("\(MediaTime.format(a.pts))  \(a.stream)  \(a.question) → “\(a.answer)”")
        }
    }

    /// Prints the last frame's scores.
    public func finish() {
        flushScores()
        writer.close()
    }

    private func flushScores() {
        let old = pending.withLock { p in
            defer { p = Pending() }
            return p
        }
        write(old)
    }

    private func write(_ p: Pending) {
        guard !p.scores.isEmpty else { return }
        let scores = p.scores.map { s in
            String(format: "%@ %.3f", s.query, s.score)
                + (s.box.map { b in
                    String(format: " @(%.2f,%.2f %.2fx%.2f)", b.x, b.y, b.width, b.height)
                } ?? "")
        }
        writer.write("\(MediaTime.format(p.pts))  \(p.stream)  " + scores.joined(separator: "  "))
    }
}
