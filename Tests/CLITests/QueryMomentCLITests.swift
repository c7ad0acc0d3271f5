import Foundation
import TestSupport
import Testing

/// `run --query-moment INDEX:VIDEO@SECONDS` against a real index of the sample videos made by `vlm-stream index`
/// with the tiny random-weight CLIP.
@Suite("query moments CLI", .serialized)
struct QueryMomentCLITests {
    static let model = ["--model", "Tests/Fixtures/tiny-clip"]
    let db: String
    let plaza = Fixtures.sampleVideo("plaza.mp4").path
    let megamind = Fixtures.sampleVideo("megamind.mp4").path

    init() throws {
        db = try Fixtures.temporaryDirectory("vlm-moment-cli").appendingPathComponent("index.sqlite").path
        let indexed = try CLIRunner.run(["index", plaza, megamind, "--db", db, "--fps", "2"] + Self.model)
        #expect(indexed.status == 0, "index: \(indexed.stderr)")
    }

    /// Per-frame (pts, score) of `query` from `run VIDEO --json --scores --baseline 0 extra…`, and its starts.
    static func scores(_ video: String, _ extra: [String], query: String) throws -> (
        scores: [(pts: Double, score: Double)], starts: Int
    ) {
        let result = try CLIRunner.run(
            ["run", video, "--json", "--scores", "--baseline", "0", "--fps", "2", "--no-gate"] + extra + model)
        #expect(result.status == 0, "\(result.stderr)")
        var scores: [(pts: Double, score: Double)] = []
        var starts = 0
        for line in result.lines {
            let o = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            guard o["query"] as? String == query else { continue }
            if o["type"] as? String == "score", let s = (o["score"] as? NSNumber)?.doubleValue,
                let t = (o["pts"] as? NSNumber)?.doubleValue
            {
                scores.append((t, s))
            }
            if o["type"] as? String == "start" { starts += 1 }
        }
        return (scores, starts)
    }

    @Test("a moment of plaza scores highest at its own frame and higher on plaza than on megamind; it fires")
    func momentScoresItsOwnClip() throws {
        let moment = ["--query-moment", "\(db):plaza.mp4@3"]
        let own = try Self.scores(plaza, moment, query: "plaza.mp4@3")
        let other = try Self.scores(megamind, moment, query: "plaza.mp4@3")
        try #require(own.scores.count >= 15 && other.scores.count >= 10, "\(own.scores.count) \(other.scores.count)")
        let atMoment = try #require(own.scores.min { abs($0.pts - 3) < abs($1.pts - 3) })
        let best = try #require(own.scores.map(\.score).max())
        #expect(abs(atMoment.pts - 3) < 0.3 && atMoment.score >= best - 1e-4, "at \(atMoment) vs best \(best)")
        let mean = { (s: [(pts: Double, score: Double)]) in s.map(\.score).reduce(0, +) / Double(s.count) }
        #expect(mean(own.scores) > mean(other.scores), "plaza \(mean(own.scores)) vs megamind \(mean(other.scores))")
        #expect(own.starts >= 1)
        // The same moment given by its full indexed path names the same query.
        let byPath = try Self.scores(plaza, ["--query-moment", "\(db):\(plaza)@3"], query: "plaza.mp4@3")
        #expect(byPath.scores.map(\.score) == own.scores.map(\.score))
    }

    @Test("bad moments: one clear line and a non-zero exit each")
    func badMoments() throws {
        // Another checkpoint: the tiny model's files with a different config.json (identity hashes the config).
        let otherModel = URL(fileURLWithPath: db).deletingLastPathComponent().appendingPathComponent("other-clip")
        try? FileManager.default.removeItem(at: otherModel)
        try FileManager.default.copyItem(at: Fixtures.url("tiny-clip"), to: otherModel)
        let config = otherModel.appendingPathComponent("config.json")
        let text = try String(contentsOf: config, encoding: .utf8)
        try text.replacingOccurrences(of: "\"initializer_factor\": 1.0", with: "\"initializer_factor\": 0.5")
            .write(to: config, atomically: true, encoding: .utf8)
        let cases: [([String], String)] = [
            (["--query-moment", "/nowhere/i.sqlite:plaza.mp4@3"], "no index at /nowhere/i.sqlite"),
            (["--query-moment", "\(db):static_tree.mp4@1"], "no video static_tree.mp4 in \(db)"),
            (["--query-moment", "\(db):plaza.mp4@60"], "the video is 00:10.000 long; give a time inside it"),
            (
                ["--query-moment", "\(db):plaza.mp4@3", "--model", otherModel.path],
                "was built with model"
            ),
        ]
        for (arguments, expected) in cases {
            let result = try CLIRunner.run(["run", plaza, "--json"] + Self.model + arguments)
            #expect(result.status != 0, "\(arguments)")
            let lines = result.stderr.split(separator: "\n")
            #expect(lines.count == 1 && result.stderr.contains(expected), "\(arguments): \(result.stderr)")
        }
        let malformed = try CLIRunner.run(["run", plaza, "--query-moment", "plaza.mp4@3"] + Self.model)
        #expect(malformed.status != 0)
        #expect(
            malformed.stderr.contains("--query-moment plaza.mp4@3: write INDEX:VIDEO@SECONDS"), "\(malformed.stderr)")
    }
}
