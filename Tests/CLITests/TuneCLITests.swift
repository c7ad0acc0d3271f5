import Foundation
import TestSupport
import Testing

/// `vlm-stream tune` as a subprocess: the tiny random-weight CLIP, an index of the three sample videos, positives
/// from one clip and negatives from the others.
@Suite("tune CLI", .serialized)
struct TuneCLITests {
    static let model = ["--model", "Tests/Fixtures/tiny-clip"]
    let dir: URL
    let db: String
    let plaza = Fixtures.sampleVideo("plaza.mp4").path
    let megamind = Fixtures.sampleVideo("megamind.mp4").path
    let tree = Fixtures.sampleVideo("static_tree.mp4").path

    init() throws {
        dir = try Fixtures.temporaryDirectory("vlm-tune-cli")
        db = dir.appendingPathComponent("index.sqlite").path
        let indexed = try CLIRunner.run(["index", plaza, megamind, tree, "--db", db, "--fps", "4"] + Self.model)
        #expect(indexed.status == 0, "index: \(indexed.stderr)")
    }

    func tune(_ extra: [String], out: String = "q.query.json") throws -> CLIRunner.Result {
        try CLIRunner.run(
            ["tune", "--db", db, "--out", dir.appendingPathComponent(out).path] + extra + Self.model)
    }

    /// The two numbers of the "held-out average precision  before B  after A" line.
    static func averagePrecision(_ output: String) throws -> (before: Double, after: Double) {
        let line = try #require(output.split(separator: "\n").first { $0.contains("held-out average precision") })
        let numbers = line.split(separator: " ").compactMap { Double($0) }
        try #require(numbers.count == 2, "\(line)")
        return (numbers[0], numbers[1])
    }

    @Test("held-out AP rises from the untuned text query's to at least 0.9; the file records the model")
    func tuneRaisesAveragePrecision() throws {
        let result = try tune([
            "--query", "a forklift", "--positive", "\(plaza)@0-10", "--negative", "\(megamind)@0-8",
            "--negative", "\(tree)@0-10",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let (before, after) = try Self.averagePrecision(result.stdout)
        #expect(after >= 0.9 && after > before, "AP before \(before), after \(after)")
        let data = try Data(contentsOf: dir.appendingPathComponent("q.query.json"))
        let file = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(file["format"] as? String == "vlm-stream.query")
        #expect((file["model"] as? String)?.isEmpty == false)
        let thresholds = try #require(file["thresholds"] as? [String: Double])
        #expect(try #require(thresholds["exit"]) <= (try #require(thresholds["enter"])))
        #expect(result.stdout.contains(" s"))
    }

    @Test("bad input: one clear line and a non-zero exit each")
    func badInput() throws {
        let image = Fixtures.url("truncated.jpg").path
        let cases: [([String], String)] = [
            (["--query", "x", "--positive", "\(plaza)@5-20"], "ends after the video"),
            (["--query", "x", "--negative", "\(plaza)@0-5"], "no positives"),
            (["--query", "x", "--positive", "nowhere.mp4@0-1"], "no video nowhere.mp4 in the index"),
            (["--query", "x", "--positive", "\(plaza)@5"], "VIDEO@START-END"),
            (["--query-image", image, "--positive", "\(plaza)@0-5"], "truncated.jpg"),
        ]
        for (arguments, expected) in cases {
            let result = try tune(arguments)
            #expect(result.status != 0, "\(arguments)")
            let lines = result.stderr.split(separator: "\n")
            #expect(lines.count == 1 && result.stderr.contains(expected), "\(arguments): \(result.stderr)")
        }
    }

    /// Scores of `run --json --scores --baseline 0` on `video` per query.
    func runScores(_ video: String, _ extra: [String]) throws -> (scores: [String: [Double]], starts: [String]) {
        let result = try CLIRunner.run(["run", video, "--json", "--scores", "--baseline", "0"] + extra + Self.model)
        #expect(result.status == 0, "\(result.stderr)")
        var scores: [String: [Double]] = [:]
        var starts: [String] = []
        for line in result.lines {
            let o = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let query = o["query"] as? String ?? ""
            if o["type"] as? String == "score", let s = (o["score"] as? NSNumber)?.doubleValue {
                scores[query, default: []].append(s)
            }
            if o["type"] as? String == "start" { starts.append(query) }
        }
        return (scores, starts)
    }

    @Test("run --query-file fires on the tuned clip only; --query-image scores its own clip highest")
    func queryFileAndImagesInRun() throws {
        let file = dir.appendingPathComponent("plaza.query.json").path
        let tuned = try tune(
            ["--query", "a forklift", "--positive", "\(plaza)@0-10", "--negative", "\(megamind)@0-8"],
            out: "plaza.query.json")
        #expect(tuned.status == 0, "\(tuned.stderr)")
        let own = try runScores(plaza, ["--query-file", file])
        let other = try runScores(megamind, ["--query-file", file])
        #expect(own.starts == ["a forklift"] && other.starts.isEmpty, "\(own.starts) \(other.starts)")
        let ownMin = try #require(own.scores["a forklift"]?.min())
        let otherMax = try #require(other.scores["a forklift"]?.max())
        #expect(ownMin > otherMax, "tuned: own clip \(ownMin) vs other \(otherMax)")
        // Two frames of plaza, averaged: a higher mean score on plaza than on the other clips.
        let frames = try [2.0, 6.0].map { t -> String in
            let out = dir.appendingPathComponent("plaza-\(t).png").path
            let ffmpeg = Process()
            ffmpeg.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            ffmpeg.arguments = ["ffmpeg", "-v", "error", "-y", "-ss", "\(t)", "-i", plaza, "-frames:v", "1", out]
            try ffmpeg.run()
            ffmpeg.waitUntilExit()
            return out
        }
        let images = frames.flatMap { ["--query-image", $0] }
        let label = "plaza-2.0.png+plaza-6.0.png"
        let mean = { (v: [Double]?) in (v ?? []).reduce(0, +) / Double(max(1, v?.count ?? 0)) }
        let imageOwn = mean(try runScores(plaza, images).scores[label])
        for video in [megamind, tree] {
            let imageOther = mean(try runScores(video, images).scores[label])
            #expect(imageOwn > imageOther, "image query: plaza \(imageOwn) vs \(video) \(imageOther)")
        }
    }

    @Test("run refuses a query file of another model, a file that is not a query file, an image that is not one")
    func runRefusesBadQueries() throws {
        let tuned = try tune(["--query", "x", "--positive", "\(plaza)@0-4"], out: "x.query.json")
        #expect(tuned.status == 0, "\(tuned.stderr)")
        let url = dir.appendingPathComponent("x.query.json")
        var object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        object["model"] = "some-other-model"
        let foreign = dir.appendingPathComponent("foreign.query.json")
        try JSONSerialization.data(withJSONObject: object).write(to: foreign)
        // Found by a review: a logit_scale of 0 was called non-finite, one of 1e300 made every frame score 1, and an
        // all-zero embedding passed.
        var damaged: [([String], String)] = []
        let original = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        let zero = (original["embedding"] as? [Double] ?? []).map { _ in 0.0 }
        for (name, key, value, expected): (String, String, Any, String) in [
            ("scale0", "logit_scale", 0.0, "logit_scale 0.0 is outside (0, 1000]"),
            ("scale-huge", "logit_scale", 1e300, "logit_scale 1e+300 is outside (0, 1000]"),
            ("zeros", "embedding", zero, "its embedding is all zeros"),
        ] {
            var changed = original
            changed[key] = value
            let file = dir.appendingPathComponent("\(name).query.json")
            try JSONSerialization.data(withJSONObject: changed).write(to: file)
            damaged.append((["--query-file", file.path], expected))
        }
        let cases: [([String], String)] =
            damaged + [
                (["--query-file", foreign.path], "tuned for model some-other-model"),
                (["--query-file", Fixtures.url("tiny-clip/config.json").path], "is not a vlm-stream query file"),
                (["--query-file", Fixtures.url("still.png").path], "is not a vlm-stream query file"),
                (["--query-image", Fixtures.url("truncated.jpg").path], "truncated.jpg"),
            ]
        for (arguments, expected) in cases {
            let result = try CLIRunner.run(["run", plaza, "--json"] + arguments + Self.model)
            #expect(result.status != 0, "\(arguments)")
            let lines = result.stderr.split(separator: "\n")
            #expect(lines.count == 1 && result.stderr.contains(expected), "\(arguments): \(result.stderr)")
        }
    }
}
