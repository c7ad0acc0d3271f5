import Foundation
import TestSupport
import Testing

/// `run --caption-model`: GIT captions in streams, beside the frame path.
@Suite struct StreamCaptionModelCLITests {
    static let clip = ["--model", "Tests/Fixtures/tiny-clip"]

    static func objects(_ lines: [String]) throws -> [[String: Any]] {
        try lines.map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
    }

    static func summary(_ objects: [[String: Any]]) throws -> [String: Any] {
        try #require(objects.last { $0["type"] as? String == "summary" })
    }

    @Test(arguments: ["Tests/Fixtures/tiny-git", "Tests/Fixtures/tiny-git-vqa", "Tests/Fixtures/tiny-git-video"])
    func modelCaptionsAppearAndFramesAreUnchanged(model: String) throws {
        let base = ["run", "SampleVideos/plaza.mp4", "--json", "--query", "a person"] + Self.clip
        let plain = try Self.objects(try CLIRunner.run(base).lines)
        let run = try CLIRunner.run(base + ["--caption-model", model, "--caption-max-tokens", "4"])
        #expect(run.status == 0, "\(run.stderr)")
        let objects = try Self.objects(run.lines)
        let captions = objects.filter { $0["type"] as? String == "caption" }
        #expect(!captions.isEmpty)
        for caption in captions {
            #expect(caption["stream"] as? String == "plaza")
            #expect((caption["text"] as? String).map { !$0.isEmpty } == true)
        }
        // Captions tile the video up to its end.
        #expect(captions.last?["end_pts"] as? Double ?? 0 >= 9)
        let summary = try Self.summary(objects)
        #expect(summary["captions_coalesced"] is Int)
        // The caption model works beside the frames: every sampled frame is still analysed.
        #expect(summary["frames_analyzed"] as? Int == (try Self.summary(plain))["frames_analyzed"] as? Int)
        #expect(summary["frames_analyzed"] as? Int == summary["frames_sampled"] as? Int)
    }

    @Test func pipelineFileKeysAndSubtitles() throws {
        let dir = try Fixtures.temporaryDirectory("vlm-caption-model")
        let srt = dir.appendingPathComponent("out.srt")
        let yaml = """
            sources:
              - url: SampleVideos/plaza.mp4
            captions:
              model: Tests/Fixtures/tiny-git
              beams: 2
              max_tokens: 3
              max_interval: 3
            outputs:
              srt: \(srt.path)
            """
        let file = dir.appendingPathComponent("p.yaml")
        try yaml.write(to: file, atomically: true, encoding: .utf8)
        let run = try CLIRunner.run(["run", "--pipeline", file.path, "--json"] + Self.clip)
        #expect(run.status == 0, "\(run.stderr)")
        let text = try String(contentsOf: srt, encoding: .utf8)
        #expect(text.contains("-->"))
        let captions = try Self.objects(run.lines).filter { $0["type"] as? String == "caption" }
        #expect(!captions.isEmpty)
    }

    @Test func askedQuestionsAreAnsweredInJSONLines() throws {
        let run = try CLIRunner.run(
            [
                "run", "SampleVideos/plaza.mp4", "--json", "--caption-model", "Tests/Fixtures/tiny-git-vqa",
                "--caption-max-tokens", "3", "--ask", "is the door open?", "--ask", "what color is the car?",
            ] + Self.clip)
        #expect(run.status == 0, "\(run.stderr)")
        let answers = try Self.objects(run.lines).filter { $0["type"] as? String == "answer" }
        let questions = Set(answers.compactMap { $0["question"] as? String })
        #expect(questions == ["is the door open?", "what color is the car?"])
        for answer in answers {
            #expect(answer["stream"] as? String == "plaza")
            #expect(answer["pts"] is Double || answer["pts"] is Int)
            #expect(answer["answer"] is String)
        }
        let noModel = try CLIRunner.run(["run", "SampleVideos/plaza.mp4", "--ask", "is it day?"] + Self.clip)
        #expect(noModel.status != 0)
        #expect(noModel.stderr.contains("need a caption model"))
    }

    @Test func badModelOptionsGetOneLine() throws {
        let missing = try CLIRunner.run(
            ["run", "SampleVideos/plaza.mp4", "--caption-model", "Tests/Fixtures/nothing-here"] + Self.clip)
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("nothing-here"))
        let beams = try CLIRunner.run(
            ["run", "SampleVideos/plaza.mp4", "--caption-model", "Tests/Fixtures/tiny-git", "--caption-beams", "0"]
                + Self.clip)
        #expect(beams.status != 0)
        #expect(beams.stderr.contains("beams"))
        // Model settings without a model, and model options where no model runs, are refused, not ignored.
        let noModel = try CLIRunner.run(
            ["run", "SampleVideos/plaza.mp4", "--captions", "--caption-beams", "2"] + Self.clip)
        #expect(noModel.status != 0)
        #expect(noModel.stderr.contains("--caption-model"))
        let warm = try CLIRunner.run(["captions", "warm", "--caption-model", "Tests/Fixtures/tiny-git"] + Self.clip)
        #expect(warm.status != 0)
        #expect(warm.stderr.contains("apply to run"))
    }
}
