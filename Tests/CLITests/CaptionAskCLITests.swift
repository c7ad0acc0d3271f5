import Foundation
import TestSupport
import Testing

/// `vlm-stream caption` and `vlm-stream ask` as a subprocess on the tiny GIT checkpoints.
@Suite struct CaptionAskCLITests {
    static func json(_ line: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    }

    @Test func captionPrintsOneLinePerImageAndBatchesLikeSingles() throws {
        let images = ["Tests/Fixtures/still.jpg", "Tests/Fixtures/still.png"]
        let both = try CLIRunner.run(
            ["caption"] + images + ["--model", "Tests/Fixtures/tiny-git", "--max-tokens", "6"])
        #expect(both.status == 0, "\(both.stderr)")
        #expect(both.lines.count == 2)
        for (line, image) in zip(both.lines, images) {
            let object = try Self.json(line)
            #expect(object["image"] as? String == image)
            let ids = try #require(object["ids"] as? [Int])
            #expect(ids.count <= 6 && ids.allSatisfy { ![0, 100, 101, 102, 103].contains($0) })
            #expect(object["caption"] is String)
            // The same image alone, greedy and with beams, prints the same fields for itself.
            let alone = try CLIRunner.run(["caption", image, "--model", "Tests/Fixtures/tiny-git", "--max-tokens", "6"])
            #expect(alone.lines.first.map { try? Self.json($0)["ids"] as? [Int] } == ids)
        }
        let beams = try CLIRunner.run(
            ["caption", images[0], "--model", "Tests/Fixtures/tiny-git", "--beams", "3", "--max-tokens", "6"])
        #expect(beams.status == 0, "\(beams.stderr)")
        #expect(beams.lines.count == 1)
    }

    @Test func askAnswersAfterTheQuestion() throws {
        let result = try CLIRunner.run(
            ["ask", "Tests/Fixtures/still.jpg", "what is in the picture?", "--model", "Tests/Fixtures/tiny-git-vqa"])
        #expect(result.status == 0, "\(result.stderr)")
        let object = try Self.json(try #require(result.lines.first))
        #expect(object["question"] as? String == "what is in the picture?")
        #expect(object["answer"] is String)
        #expect((object["ids"] as? [Int])?.contains(101) == false)
    }

    @Test func videoCheckpointTakesItsFramesTogether() throws {
        let frames = Array(repeating: "Tests/Fixtures/still.jpg", count: 3)
        let result = try CLIRunner.run(["caption"] + frames + ["--model", "Tests/Fixtures/tiny-git-video"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.lines.count == 1)
        let wrong = try CLIRunner.run(["caption", frames[0], "--model", "Tests/Fixtures/tiny-git-video"])
        #expect(wrong.status != 0)
        #expect(wrong.stderr.contains("3 frames"))
    }

    @Test func badInputGetsOneLineAndNonZeroExit() throws {
        let cases: [([String], String)] = [
            (["ask", "Tests/Fixtures/still.jpg", "  ", "--model", "Tests/Fixtures/tiny-git-vqa"], "question is empty"),
            (
                [
                    "ask", "Tests/Fixtures/still.jpg", String(repeating: "why ", count: 60), "--model",
                    "Tests/Fixtures/tiny-git-vqa",
                ], "too long"
            ),
            (
                ["ask", "Tests/Fixtures/still.jpg", "\u{01}\u{02}\u{0301}", "--model", "Tests/Fixtures/tiny-git-vqa"],
                "the question has no words the tokenizer keeps"
            ),
            (["caption", "Tests/Fixtures/still.jpg", "--model", "Tests/Fixtures/tiny-clip"], "missing vocab.txt"),
            (["caption", "Tests/Fixtures/truncated.jpg", "--model", "Tests/Fixtures/tiny-git"], "truncated.jpg"),
        ]
        for (arguments, needle) in cases {
            let result = try CLIRunner.run(arguments)
            #expect(result.status != 0, "\(arguments)")
            #expect(result.stderr.contains(needle), "\(arguments): \(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count == 1, "\(arguments): \(result.stderr)")
            #expect(result.stdout.isEmpty)
        }
    }
}

/// `models pull --git` from a loopback hub that has only pytorch_model.bin, then `caption` by hub name.
@Suite struct GITPullCLITests {
    @Test func pullBinOnlyThenCaptionByHubName() throws {
        let name = "microsoft/git-tiny-test"
        let commit = String(repeating: "beef01", count: 7).prefix(40)
        let server = try LoopbackHTTPServer(routes: [:])
        defer { server.stop() }
        let files = [
            "config.json", "vocab.txt", "preprocessor_config.json", "generation_config.json", "pytorch_model.bin",
        ]
        for (i, file) in files.enumerated() {
            let body = try Data(contentsOf: Fixtures.url("tiny-git/\(file)"))
            server.setRoute(
                "/\(name)/resolve/main/\(file)",
                .init(headers: ["X-Repo-Commit": String(commit), "ETag": "\"etag\(i)\""], body: body))
        }
        let cache = try Fixtures.temporaryDirectory("cli-pull-git")
        defer { try? FileManager.default.removeItem(at: cache) }
        let env = ["HF_HUB_CACHE": cache.path, "HF_ENDPOINT": server.baseURL.absoluteString]
        let pull = try CLIRunner.run(["models", "pull", "--git", name], environment: env)
        #expect(pull.status == 0, "\(pull.stderr)")
        let byName = try CLIRunner.run(
            ["caption", "Tests/Fixtures/still.jpg", "--model", name, "--max-tokens", "5"], environment: env)
        let byDirectory = try CLIRunner.run(
            ["caption", "Tests/Fixtures/still.jpg", "--model", "Tests/Fixtures/tiny-git", "--max-tokens", "5"])
        #expect(byName.status == 0, "\(byName.stderr)")
        #expect(byName.stdout == byDirectory.stdout && !byName.stdout.isEmpty)
    }
}

/// Broken GIT checkpoints on the command line: one line naming the file, non-zero exit, nothing on stdout.
@Suite struct GITCheckpointCLITests {
    /// A copy of tiny-git without its safetensors, with `change` applied to the directory.
    static func checkpoint(_ change: (URL) throws -> Void) throws -> URL {
        let directory = try Fixtures.temporaryDirectory("git-bad")
        for file in ["config.json", "pytorch_model.bin", "vocab.txt", "preprocessor_config.json"] {
            try FileManager.default.copyItem(
                at: Fixtures.url("tiny-git/\(file)"), to: directory.appendingPathComponent(file))
        }
        try change(directory)
        return directory
    }

    @Test func brokenCheckpointsAreRefused() throws {
        let notGIT = try Self.checkpoint { dir in
            try FileManager.default.removeItem(at: dir.appendingPathComponent("config.json"))
            try FileManager.default.copyItem(
                at: Fixtures.url("tiny-clip/config.json"), to: dir.appendingPathComponent("config.json"))
        }
        let mismatch = try Self.checkpoint { dir in
            let url = dir.appendingPathComponent("config.json")
            let text = try String(contentsOf: url, encoding: .utf8)
                .replacingOccurrences(of: "\"max_position_embeddings\": 40", with: "\"max_position_embeddings\": 41")
            try text.write(to: url, atomically: true, encoding: .utf8)
        }
        let truncated = try Self.checkpoint { dir in
            let url = dir.appendingPathComponent("pytorch_model.bin")
            try Data(try Data(contentsOf: url).prefix(100_000)).write(to: url)
        }
        let cases: [(URL, String)] = [
            (notGIT, "not a GIT checkpoint"), (mismatch, "git.embeddings.position_embeddings.weight"),
            (truncated, "pytorch_model.bin"),
        ]
        for (directory, needle) in cases {
            let result = try CLIRunner.run(["caption", "Tests/Fixtures/still.jpg", "--model", directory.path])
            #expect(result.status != 0, "\(needle)")
            #expect(result.stderr.contains(needle), "\(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
            #expect(result.stdout.isEmpty)
        }
    }
}
