import Foundation
import TestSupport
import Testing
import VLMIndex

/// `run --caption-endpoint`: a remote VLM (a real chat-completions server on a loopback port) writes the stream's
/// captions and answers; a slow or broken one costs captions, not frames.
@Suite struct StreamCaptionEndpointCLITests {
    static let clip = ["--model", "Tests/Fixtures/tiny-clip"]

    /// `timeout`: CLIRunner's hang guard. A loaded CI machine has taken over 120 s to caption a clip through the
    /// loopback endpoint; the run is then terminated and reads as interrupted.
    static func run(
        _ arguments: [String], environment: [String: String] = [:], timeout: TimeInterval = 120
    ) async throws -> CLIRunner.Result {
        try await offPool { try CLIRunner.run(arguments, environment: environment, timeout: timeout) }
    }

    static func objects(_ lines: [String]) throws -> [[String: Any]] {
        try lines.map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
    }

    static func base(_ server: ChatCompletionsServer) -> [String] {
        [
            "run", "SampleVideos/plaza.mp4", "--json", "--query", "a person", "--caption-endpoint", server.baseURL,
            "--caption-endpoint-model", "test-vlm",
        ] + clip
    }

    @Test func indexStoresTheEndpointsCaptionsAndSearchFindsThem() async throws {
        let server = try await ChatCompletionsServer.start(.reply(caption: "a man carrying a box", answer: "yes"))
        defer { server.stop() }
        let db = try Fixtures.temporaryDirectory("vlm-endpoint-index").appendingPathComponent("i.sqlite").path
        let endpoint = [
            "--caption-endpoint", server.baseURL, "--caption-endpoint-model", "test-vlm",
            "--caption-endpoint-timeout", "300",
        ]
        let indexed = try await Self.run(
            ["index", "SampleVideos/plaza.mp4", "--db", db] + endpoint + Self.clip, timeout: 600)
        #expect(indexed.status == 0 && indexed.stdout.contains("20 frames indexed"), "\(indexed.stderr)")
        #expect(!server.requests.isEmpty && server.requests.allSatisfy { $0.model == "test-vlm" })
        let search = try await Self.run(
            ["search", "--db", db, "--text", "when did someone carry a box?", "--json"] + Self.clip)
        let hits = try Self.objects(search.lines)
        #expect(hits.first?["match"] as? String == "caption_words", "\(search.stdout)")
        #expect(hits.first?["caption"] as? String == "a man carrying a box")
        #expect(hits.first?["start"] as? Double == 0 && hits.first?["end"] as? Double == 10)
        // The index records the endpoint (without credentials) as the captioner.
        let index = try VideoIndex(path: db, create: false)
        #expect(try index.videos().first?.captioner == "endpoint test-vlm at \(server.baseURL)/chat/completions")
    }

    @Test func captionsAndAnswersFromTheEndpointInJSONLines() async throws {
        let server = try await ChatCompletionsServer.start(.reply(caption: "people cross a plaza", answer: "yes"))
        defer { server.stop() }
        let run = try await Self.run(
            // A generous timeout: the test server shares a busy machine with the rest of the suite.
            Self.base(server) + [
                "--ask", "is anyone there?", "--caption-max-tokens", "24", "--caption-endpoint-timeout", "300",
            ],
            environment: ["VLM_STREAM_API_KEY": "sk-cli-test"], timeout: 600)
        #expect(run.status == 0, "\(run.stderr)")
        let objects = try Self.objects(run.lines)
        let captions = objects.filter { $0["type"] as? String == "caption" }
        #expect(!captions.isEmpty)
        #expect(
            captions.allSatisfy {
                $0["text"] as? String == "people cross a plaza" && $0["stream"] as? String == "plaza"
            })
        let answers = objects.filter { $0["type"] as? String == "answer" }
        #expect(answers.count == 1)
        #expect(answers.first?["question"] as? String == "is anyone there?")
        #expect(answers.first?["answer"] as? String == "yes")
        let summary = try #require(objects.last { $0["type"] as? String == "summary" })
        #expect(summary["captions_failed"] as? Int == 0)
        #expect(summary["frames_analyzed"] as? Int == summary["frames_sampled"] as? Int)

        let requests = server.requests
        #expect(!requests.isEmpty)
        for request in requests {
            #expect(request.model == "test-vlm")
            #expect(request.authorization == "Bearer sk-cli-test")
            #expect(request.maxTokens == 24)
            #expect(request.imageURL?.hasPrefix("data:image/jpeg;base64,/9j/") == true)
        }
        // The key is sent, never printed.
        #expect(!run.stderr.contains("sk-cli-test") && !run.stdout.contains("sk-cli-test"))
    }

    /// The garbage server answers at once (a 600 s timeout: a loaded CI machine took over 20 s to answer); the slow
    /// one sleeps far past a 0.3 s timeout.
    @Test(arguments: [
        (ChatCompletionsServer.Behaviour.garbage, "600", "the answer is not a chat completion"),
        (ChatCompletionsServer.Behaviour.sleep(30), "0.3", "no answer within 0.3 s (2 attempts)"),
    ])
    func aBrokenEndpointCostsCaptionsNotFrames(
        behaviour: ChatCompletionsServer.Behaviour, timeout: String, reason: String
    ) async throws {
        let server = try await ChatCompletionsServer.start(behaviour)
        defer { server.stop() }
        let run = try await Self.run(
            Self.base(server) + [
                "--caption-endpoint-timeout", timeout, "--caption-endpoint-attempts", "2", "--ask", "is it day?",
            ], timeout: 600)
        #expect(run.status == 0, "\(run.stderr)")
        let line = "caption endpoint \(server.baseURL)/chat/completions: \(reason)"
        #expect(run.stderr.contains(line), "\(run.stderr)")
        let objects = try Self.objects(run.lines)
        #expect(!objects.contains { $0["type"] as? String == "caption" || $0["type"] as? String == "answer" })
        // Every sampled frame still went through and was scored against the query.
        let summary = try #require(objects.last { $0["type"] as? String == "summary" })
        let sampled = try #require(summary["frames_sampled"] as? Int)
        #expect(sampled > 0)
        #expect(summary["frames_analyzed"] as? Int == sampled)
        #expect(objects.filter { $0["type"] as? String == "score" }.count == sampled)
        #expect((summary["captions_failed"] as? Int ?? 0) >= 1)
    }

    @Test func pipelineFileKeysAndPrintPipelineHideSecrets() async throws {
        let dir = try Fixtures.temporaryDirectory("vlm-caption-endpoint")
        let yaml = """
            sources:
              - url: SampleVideos/plaza.mp4
            captions:
              endpoint: http://bob:hunter2@127.0.0.1:9/v1
              endpoint_model: llava:7b
              endpoint_key_env: MY_VLM_KEY
              endpoint_timeout: 5
              endpoint_attempts: 4
              endpoint_max_in_flight: 3
              ask: ["is the door open?"]
            """
        let file = dir.appendingPathComponent("p.yaml")
        try yaml.write(to: file, atomically: true, encoding: .utf8)
        let shown = try await Self.run(
            ["run", "--pipeline", file.path, "--print-pipeline"] + Self.clip, environment: ["MY_VLM_KEY": "sk-secret"])
        #expect(shown.status == 0, "\(shown.stderr)")
        for key in [
            "endpoint_model: llava:7b", "endpoint_key_env: MY_VLM_KEY", "endpoint_attempts: 4",
            "endpoint_max_in_flight: 3", "127.0.0.1:9/v1",
        ] {
            #expect(shown.stdout.contains(key), "\(key) in \(shown.stdout)")
        }
        #expect(!shown.stdout.contains("hunter2") && !shown.stdout.contains("bob"))
        #expect(!shown.stdout.contains("sk-secret"))

        // The flags override the file's values.
        let flags = try await Self.run(
            [
                "run", "--pipeline", file.path, "--print-pipeline", "--caption-endpoint-model", "qwen2-vl",
                "--caption-endpoint-timeout", "7",
            ] + Self.clip)
        #expect(flags.stdout.contains("endpoint_model: qwen2-vl") && flags.stdout.contains("endpoint_timeout: 7"))

        // A named key variable that is not set stops the run with one line naming it.
        let unset = try await Self.run(["run", "--pipeline", file.path] + Self.clip)
        #expect(unset.status != 0)
        #expect(unset.stderr.contains("MY_VLM_KEY is not set"), "\(unset.stderr)")
    }

    @Test func badEndpointOptionsGetOneLine() async throws {
        let video = ["run", "SampleVideos/plaza.mp4"] + Self.clip
        let noModel = try await Self.run(video + ["--caption-endpoint", "http://127.0.0.1:9/v1"])
        #expect(noModel.status != 0)
        #expect(noModel.stderr.contains("--caption-endpoint-model"), "\(noModel.stderr)")
        let notURL = try await Self.run(
            video + ["--caption-endpoint", "localhost:11434", "--caption-endpoint-model", "m"])
        #expect(notURL.status != 0)
        #expect(notURL.stderr.contains("not an http(s) URL"), "\(notURL.stderr)")
        let both = try await Self.run(
            video + [
                "--caption-endpoint", "http://127.0.0.1:9/v1", "--caption-endpoint-model", "m", "--caption-model",
                "Tests/Fixtures/tiny-git",
            ])
        #expect(both.status != 0)
        #expect(both.stderr.contains("not both"), "\(both.stderr)")
        let orphan = try await Self.run(video + ["--captions", "--caption-endpoint-timeout", "3"])
        #expect(orphan.status != 0)
        #expect(orphan.stderr.contains("give --caption-endpoint URL"), "\(orphan.stderr)")
        let beams = try await Self.run(
            video + [
                "--caption-endpoint", "http://127.0.0.1:9/v1", "--caption-endpoint-model", "m", "--caption-beams", "2",
            ])
        #expect(beams.status != 0)
        #expect(beams.stderr.contains("--caption-model"), "\(beams.stderr)")
        let file = try Fixtures.temporaryDirectory("vlm-caption-endpoint-bad").appendingPathComponent("p.yaml")
        try "sources:\n  - url: SampleVideos/plaza.mp4\ncaptions:\n  endpoint_model: m\n".write(
            to: file, atomically: true, encoding: .utf8)
        let orphanKey = try await Self.run(["run", "--pipeline", file.path] + Self.clip)
        #expect(orphanKey.status != 0)
        #expect(orphanKey.stderr.contains("endpoint_model"), "\(orphanKey.stderr)")
    }
}
