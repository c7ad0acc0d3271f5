import Foundation
import TestSupport
import Testing

/// `vlm-stream run --json` on a sample clip with the tiny random-weight CLIP: its scores mean nothing, so these
/// check structure and invariants of scores, events, labels and the per-query summary.
@Suite struct RunMatchCLITests {
    static let base = [
        "run", "SampleVideos/plaza.mp4", "--model", "Tests/Fixtures/tiny-clip", "--json",
        "--query", "a person walking", "--query", "a red car",
    ]

    static func objects(_ result: CLIRunner.Result) throws -> [[String: Any]] {
        try result.lines.map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
    }

    static func number(_ object: [String: Any], _ key: String) -> Double? { (object[key] as? NSNumber)?.doubleValue }

    @Test func eventsAndSummaryAreConsistent() throws {
        // First pass: the scores, to put the thresholds where this model's scores actually are.
        let first = try CLIRunner.run(Self.base + ["--baseline", "0", "--tiles", "2x2"])
        #expect(first.status == 0, "\(first.stderr)")
        let scores = try Self.objects(first).filter { $0["type"] as? String == "score" }
        #expect(scores.count == 40)  // 20 sampled frames × 2 queries
        #expect(scores.allSatisfy { (0...1).contains(Self.number($0, "score") ?? -1) })
        let carScores = scores.filter { $0["query"] as? String == "a red car" }.compactMap { Self.number($0, "score") }
        let median = carScores.sorted()[carScores.count / 2]

        let result = try CLIRunner.run(
            Self.base + [
                "--tiles", "2x2", "--baseline", "0", "--enter", "\(median)", "--exit", "\(median - 0.005)",
                "--min-duration", "0", "--gap", "0", "--update-interval", "1", "--labels", "person,car,dog",
            ])
        #expect(result.status == 0, "\(result.stderr)")
        let objects = try Self.objects(result)
        let events = objects.filter { ["start", "update", "end"].contains($0["type"] as? String) }
        #expect(events.filter { $0["type"] as? String == "start" }.count >= 2, "median thresholds should flicker")

        // Every start has exactly one end; updates and ends belong to an open match; times are ordered.
        var open: [String: Double] = [:]
        var ends: [String: [[Double]]] = [:]
        var lastPTS = -1.0
        for e in events {
            let query = try #require(e["query"] as? String)
            let start = try #require(Self.number(e, "start_pts"))
            let peak = try #require(Self.number(e, "peak_pts"))
            #expect(e["box"] is [String: Any], "tiles on: events carry the peak frame's box")
            switch e["type"] as? String {
            case "start":
                #expect(open[query] == nil)
                open[query] = start
                #expect(peak >= start && start >= lastPTS - 1e-9)
                lastPTS = start
            case "update", "end":
                #expect(open[query] == start)
                let end = try #require(Self.number(e, "end_pts"))
                #expect(start <= peak && peak <= end && end >= lastPTS - 1e-9)
                lastPTS = end
                if e["type"] as? String == "end" {
                    open[query] = nil
                    ends[query, default: []].append([start, end, try #require(Self.number(e, "peak_score"))])
                }
            default:
                Issue.record("unknown event \(e)")
            }
        }
        #expect(open.isEmpty, "open at EOF: \(open)")

        // The summary lists exactly the closed intervals, per query, in order.
        let summaries = objects.filter { $0["type"] as? String == "query_summary" }
        #expect(summaries.compactMap { $0["query"] as? String } == ["a person walking", "a red car"])
        for s in summaries {
            let query = try #require(s["query"] as? String)
            let intervals = try #require(s["intervals"] as? [[String: Any]]).map {
                [
                    Self.number($0, "start_pts") ?? -1, Self.number($0, "end_pts") ?? -1,
                    Self.number($0, "peak_score") ?? -1,
                ]
            }
            let found = ends[query, default: []]
            #expect(intervals.count == found.count)
            for (a, b) in zip(intervals, found) {
                #expect(zip(a, b).allSatisfy { abs($0 - $1) < 1e-5 }, "\(a) vs \(b)")  // events are rounded to 1e-6
            }
            let total = intervals.reduce(0) { $0 + $1[1] - $1[0] }
            #expect(abs((Self.number(s, "matched_seconds") ?? -1) - total) < 1e-9)
        }
        #expect(objects.last?["type"] as? String == "summary")

        // Scores are in time order per query; labels are a distribution, best first.
        let pts = objects.filter { $0["type"] as? String == "score" && $0["query"] as? String == "a red car" }
            .compactMap { Self.number($0, "pts") }
        #expect(pts == pts.sorted() && pts.count == 20)
        let labels = objects.filter { $0["type"] as? String == "labels" }
        #expect(labels.count == 20)
        for l in labels {
            let probabilities = try #require(l["labels"] as? [[String: Any]]).compactMap {
                Self.number($0, "probability")
            }
            #expect(probabilities.count == 3 && abs(probabilities.reduce(0, +) - 1) < 1e-4)
            #expect(probabilities == probabilities.sorted(by: >))
        }
    }

    @Test func badMatchSettingsFailWithOneLine() throws {
        let crossed = try CLIRunner.run(Self.base + ["--enter", "0.6", "--exit", "0.7"])
        #expect(crossed.status != 0)
        // The reason is one line (ArgumentParser adds its usage lines after it).
        let crossedLine = crossed.stderr.split(separator: "\n").first ?? ""
        #expect(crossedLine.contains("--exit: 0.7 is above --enter 0.6"), "\(crossed.stderr)")
        let dir = try Fixtures.temporaryDirectory("run-match")
        let bad = dir.appendingPathComponent("prompts.yaml")
        try "templates: [\"no placeholder\"]\n".write(to: bad, atomically: true, encoding: .utf8)
        let templates = try CLIRunner.run(Self.base + ["--templates", bad.path])
        #expect(templates.status != 0)
        let templatesLine = templates.stderr.split(separator: "\n").first ?? ""
        #expect(templatesLine.contains(bad.path) && templatesLine.contains("has no {} where the query goes"))
        #expect(templates.stdout.isEmpty)
    }
}
