import Foundation
import TestSupport
import Testing

/// `vlm-stream run` end to end: real FFmpeg decoding of SampleVideos, the tiny CLIP checkpoint, the stage graph,
/// JSON Lines parsed and checked.
@Suite struct RunCLITests {
    static let model = ["--model", "Tests/Fixtures/tiny-clip"]

    static func objects(_ result: CLIRunner.Result) throws -> [[String: Any]] {
        try result.lines.map { line in
            try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "\(line)")
        }
    }

    @Test("run --json: every sampled frame scored for every query, pts in order and on the clip's times")
    func runJSON() throws {
        let queries = ["a person crossing", "a red car"]
        let result = try CLIRunner.run(
            ["SampleVideos/plaza.mp4", "--query", queries[0], "--query", queries[1], "--fps", "2", "--json"]
                + Self.model)
        #expect(result.status == 0, "\(result.stderr)")
        let objects = try Self.objects(result)
        let scores = objects.filter { $0["type"] as? String == "score" }
        // plaza.mp4: 10 s at 10 fps, sampled at 2 fps by timestamp → frames at 0.0, 0.5, … 9.5 s.
        let expected = (0..<20).map { Double($0) / 2 }
        var framePTS: [Double] = []
        for score in scores {
            #expect(score["stream"] as? String == "plaza")
            let pts = try #require(score["pts"] as? Double)
            if framePTS.last != pts { framePTS.append(pts) }
            let value = try #require(score["score"] as? Double)
            #expect(value >= 0 && value <= 1)
        }
        #expect(framePTS == expected)
        for pts in expected {
            let queriesAtPTS = scores.filter { $0["pts"] as? Double == pts }.compactMap { $0["query"] as? String }
            #expect(queriesAtPTS == queries, "frame at \(pts) s")
        }
        let summary = try #require(objects.last)
        #expect(summary["type"] as? String == "summary")
        #expect(summary["frames_decoded"] as? Int == 100)
        #expect(summary["frames_sampled"] as? Int == 20)
        #expect(summary["frames_analyzed"] as? Int == 20)
        #expect(summary["frames_dropped"] as? Int == 0)
        let encoded = try #require(summary["frames_encoded"] as? Int)
        #expect(encoded + (summary["frames_reused"] as? Int ?? -1) == 20)
        #expect(result.stderr.contains("frames: 100 decoded, 20 sampled"))
        // What the sinks were handed, by type, equals what came out.
        let results = try #require(summary["results"] as? [String: Int])
        #expect(results["score"] == scores.count && results["status"] == 2)
        #expect(results.values.reduce(0, +) == objects.count - 1 - Set(queries).count)
        #expect(result.stderr.contains("results: \(scores.count) score, 2 status → JSON Lines (stdout)"))
    }

    @Test("missing input and bad model: one line, non-zero exit")
    func failures() throws {
        let missing = try CLIRunner.run(["no-such-clip.mp4", "--query", "x"] + Self.model)
        #expect(missing.status != 0)
        #expect(missing.stderr.hasPrefix("error: ") && missing.stderr.contains("no-such-clip.mp4"))
        #expect(missing.stderr.split(separator: "\n").count == 1, "\(missing.stderr)")
        let badModel = try CLIRunner.run(["SampleVideos/plaza.mp4", "--query", "x", "--model", "Tests/Fixtures"])
        #expect(badModel.status != 0)
        #expect(badModel.stderr.hasPrefix("error: "))
        #expect(badModel.stderr.split(separator: "\n").count == 1, "\(badModel.stderr)")
    }

    @Test("a damaged file under --json: the frames before the damage, then a summary carrying the error line")
    func damagedUnderJSON() throws {
        let truncated = Fixtures.url("truncated.mp4").path
        let result = try CLIRunner.run(["run", truncated, "--query", "x", "--json"] + Self.model)
        #expect(result.status == 1)
        let objects = try Self.objects(result)
        #expect(objects.contains { $0["type"] as? String == "score" })
        let summary = try #require(objects.last)
        #expect(summary["type"] as? String == "summary")
        let error = try #require(summary["error"] as? String)
        #expect(error.contains("is damaged or truncated") && result.stderr.contains("error: \(error)"), "\(error)")
    }

    @Test("--pipeline: the file example runs end to end")
    func pipelineFile() throws {
        let result = try CLIRunner.run(["run", "--pipeline", "Pipelines/plaza-queries.yaml"] + Self.model)
        #expect(result.status == 0, "\(result.stderr)")
        let objects = try Self.objects(result)
        let scores = objects.filter { $0["type"] as? String == "score" }
        #expect(scores.count == 20 * 3)
        #expect(Set(scores.compactMap { $0["query"] as? String }).count == 3)
        #expect(objects.last?["type"] as? String == "summary")
    }

    @Test("--pipeline: two sources share one encoder; each stream in order; JSON and SRT files complete")
    func pipelineTwoSources() throws {
        let dir = try Fixtures.temporaryDirectory("vlm-run")
        let yaml = try String(
            contentsOf: Fixtures.root.appendingPathComponent("Pipelines/two-sources.yaml"), encoding: .utf8
        )
        .replacingOccurrences(of: "two-sources.jsonl", with: dir.appendingPathComponent("out.jsonl").path)
        .replacingOccurrences(of: "two-sources.srt", with: dir.appendingPathComponent("out.srt").path)
        let file = dir.appendingPathComponent("two.yaml")
        try yaml.write(to: file, atomically: true, encoding: .utf8)
        let result = try CLIRunner.run(["run", "--pipeline", file.path] + Self.model)
        #expect(result.status == 0, "\(result.stderr)")
        let lines = try String(contentsOf: dir.appendingPathComponent("out.jsonl"), encoding: .utf8)
            .split(separator: "\n")
        let objects = try lines.map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        for stream in ["plaza", "megamind"] {
            let pts = objects.filter { $0["type"] as? String == "score" && $0["stream"] as? String == stream }
                .compactMap { $0["pts"] as? Double }
            #expect(!pts.isEmpty)
            #expect(pts == pts.sorted(), "\(stream) out of order")
            #expect(objects.contains { $0["type"] as? String == "status" && $0["stream"] as? String == stream })
        }
        let srt = try String(contentsOf: dir.appendingPathComponent("out.srt"), encoding: .utf8)
        #expect(srt.contains(" --> ") && srt.contains("[plaza]") && srt.contains("[megamind]"))
    }

    @Test("a malformed pipeline file: one line naming the file and the key, non-zero exit")
    func malformedPipeline() throws {
        let dir = try Fixtures.temporaryDirectory("vlm-run")
        let cases: [(String, String)] = [
            ("sources:\n  - url: a.mp4\n    samplng: {fps: 2}\nqueries: [x]\n", "unknown key 'samplng'"),
            ("sources:\n  - url: a.mp4\n    sampling: {fps: fast}\nqueries: [x]\n", "sources[0].sampling.fps"),
            ("sources: [\n", "not valid YAML"),
            ("queries: [x]\n", "missing required key 'sources'"),
            ("sources:\n  - url: a.mp4\n    live: {policy: newest}\nqueries: [x]\n", "unknown policy 'newest'"),
        ]
        for (index, (text, expected)) in cases.enumerated() {
            let file = dir.appendingPathComponent("bad\(index).yaml")
            try text.write(to: file, atomically: true, encoding: .utf8)
            let result = try CLIRunner.run(["run", "--pipeline", file.path] + Self.model)
            #expect(result.status != 0)
            #expect(result.stderr.hasPrefix("error: \(file.path): "), "\(result.stderr)")
            #expect(result.stderr.contains(expected), "\(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
        }
    }
}
