import Foundation
import TestSupport
import Testing
import VLMPipeline

/// Flags meet pipeline files in one place: every flag applies on top of `--pipeline FILE`, a flag that cannot apply
/// is an error that says why, and the effective pipeline is what `--print-pipeline` shows and `run` runs.
@Suite struct RunFlagsCLITests {
    static let tiny = "Tests/Fixtures/tiny-clip"

    /// The effective spec `vlm-stream arguments… --print-pipeline` prints, read back.
    static func effective(_ arguments: [String]) throws -> PipelineSpec {
        let result = try CLIRunner.run(arguments + ["--print-pipeline"])
        #expect(result.status == 0, "\(result.stderr)")
        return try PipelineSpec.parse(yaml: result.stdout, file: "printed pipeline")
    }

    /// A temporary pipeline file with `text`.
    static func pipelineFile(_ text: String) throws -> String {
        let file = try Fixtures.temporaryDirectory("run-flags").appendingPathComponent("p.yaml")
        try text.write(to: file, atomically: true, encoding: .utf8)
        return file.path
    }

    @Test("--fps, --tiles, --enter, --batch, --captions and more apply on top of a pipeline file")
    func flagsOverAFile() throws {
        let file = try PipelineSpec.load(from: Fixtures.root.appendingPathComponent("Pipelines/plaza-queries.yaml"))
        let spec = try Self.effective([
            "run", "--pipeline", "Pipelines/plaza-queries.yaml", "--fps", "4", "--tiles", "2x2", "--enter", "0.7",
            "--batch", "4", "--workers", "1", "--captions", "--caption-beam", "3", "--no-gate", "--query", "a dog",
            "--labels", "person,car", "--rtsp-transport", "udp", "--srt", "out.srt", "--metrics-port", "0",
            "--mqtt", "mqtt://broker.local", "--mqtt-keepalive", "30", "--mqtt-outbox-limit", "50",
            "--metrics-host", "0.0.0.0", "--latency-ms", "20", "--max-in-flight", "6", "--drain-timeout", "9",
            "--reconnect-attempts", "3",
        ])
        let source = try #require(spec.sources.first)
        #expect(source.options.sampling.fps == 4 && source.options.tiles?.description == "2x2")
        #expect(source.gate == nil && file.sources.first?.gate != nil)
        #expect(source.options.rtspTransport == "udp")
        #expect(spec.match.enter == 0.7 && spec.match.exit == file.match.exit)
        #expect(spec.encoder.batch == 4 && spec.encoder.workers == 1)
        #expect(spec.captions?.beamWidth == 3 && spec.outputs.srt == "out.srt")
        #expect(spec.queries == file.queries + ["a dog"])
        #expect(spec.labels?.labels == ["person", "car"])
        #expect(spec.metricsPort == 0 && spec.outputs.json == "-")
        #expect(spec.outputs.mqtt?.broker.host == "broker.local" && spec.outputs.mqtt?.keepalive == 30)
        #expect(spec.outputs.mqtt?.outboxLimit == 50)
        #expect(spec.metricsHost == "0.0.0.0" && spec.drainTimeout == 9)
        #expect(spec.encoder.latencyMs == 20 && spec.encoder.maxInFlight == 6)
        #expect(source.options.reconnect.maxAttempts == 3)
        // Flags not given leave the file's values alone.
        #expect(spec.model == file.model && source.name == "plaza")
        #expect(spec.match.minDuration == file.match.minDuration)
    }

    @Test("--print-pipeline never prints the broker password")
    func printedPipelineHidesThePassword() throws {
        let result = try CLIRunner.run([
            "SampleVideos/plaza.mp4", "--query", "x", "--mqtt", "mqtt://robot:s3cret@broker.local", "--print-pipeline",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(!result.stdout.contains("s3cret"))
        let spec = try PipelineSpec.parse(yaml: result.stdout, file: "printed pipeline")
        #expect(spec.outputs.mqtt?.broker.username == "robot" && spec.outputs.mqtt?.broker.password == "***")
    }

    @Test("an explicit --model equal to the default still wins over the file's model")
    func explicitDefaultModel() throws {
        let path = try Self.pipelineFile(
            "model: \(Self.tiny)\nsources: [{url: SampleVideos/plaza.mp4}]\nqueries: [x]\n")
        #expect(try Self.effective(["run", "--pipeline", path]).model == Self.tiny)
        let spec = try Self.effective(["run", "--pipeline", path, "--model", "openai/clip-vit-base-patch32"])
        #expect(spec.model == "openai/clip-vit-base-patch32")
    }

    @Test("--rtsp-transport reaches the source options of run, and pipeline files set it per source")
    func rtspTransport() throws {
        let flags = try Self.effective(["rtsp://127.0.0.1:1/cam", "--query", "x", "--rtsp-transport", "udp"])
        #expect(flags.sources.first?.options.rtspTransport == "udp")
        let path = try Self.pipelineFile(
            "sources:\n  - {url: rtsp://a/1, live: {rtsp_transport: udp}}\n  - {url: rtsp://b/2}\nqueries: [x]\n")
        let file = try Self.effective(["run", "--pipeline", path])
        #expect(file.sources.map(\.options.rtspTransport) == ["udp", "tcp"])
    }

    @Test("flags over a file change what runs: --fps 1 samples 10 of plaza's 100 frames")
    func flagsReachTheGraph() throws {
        let result = try CLIRunner.run([
            "run", "--pipeline", "Pipelines/plaza-queries.yaml", "--model", Self.tiny, "--fps", "1", "--batch", "2",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let summary = try #require(
            result.lines.last.flatMap { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] })
        #expect(summary["type"] as? String == "summary" && summary["frames_sampled"] as? Int == 10)
        #expect(result.lines.filter { $0.contains(#""type":"score""#) }.count == 10 * 3)
    }

    @Test(
        "a flag that cannot apply is an error that says why",
        arguments: [
            (["run", "--pipeline", "Pipelines/two-sources.yaml", "--fps", "4"], "but the pipeline has 2 sources"),
            (["run", "--pipeline", "Pipelines/two-sources.yaml", "--live-policy", "block"], "--live-policy sets one"),
            (["SampleVideos/plaza.mp4", "--pipeline", "Pipelines/two-sources.yaml"], "not both"),
            (["SampleVideos/plaza.mp4", "--query", "x", "--caption-beam", "4"], "add --captions"),
            (["SampleVideos/plaza.mp4", "--query", "x", "--mqtt-qos", "2"], "--mqtt-qos needs a broker"),
            (["SampleVideos/plaza.mp4", "--query", "x", "--labels-top", "2"], "--labels-top needs --labels"),
        ])
    func flagsThatCannotApply(_ arguments: [String], _ expected: String) throws {
        let result = try CLIRunner.run(arguments + ["--model", Self.tiny])
        #expect(result.status != 0)
        #expect(result.stderr.contains(expected), "\(result.stderr)")
        #expect(result.stdout.isEmpty)
    }

    @Test("a bad value is named by its flag on the command line and by its key in a file (one check for both)")
    func badValuesNamed() throws {
        let cases: [([String], String)] = [
            (["--io-timeout", "-3"], "--io-timeout must be positive seconds"),
            (["--batch", "0"], "--batch must be between 1 and 1024"),
            (["--rtsp-transport", "quic"], "--rtsp-transport must be tcp or udp, not 'quic'"),
            (["--mqtt", "mqtt://b", "--mqtt-keepalive", "2"], "--mqtt-keepalive: 2 must be at least 5 seconds"),
        ]
        for (flags, expected) in cases {
            let result = try CLIRunner.run(["SampleVideos/plaza.mp4", "--query", "x"] + flags)
            #expect(result.status != 0)
            #expect(result.stderr.contains(expected), "\(result.stderr)")
        }
        let path = try Self.pipelineFile("sources: [{url: a.mp4, live: {io_timeout: -3}}]\nqueries: [x]\n")
        let file = try CLIRunner.run(["run", "--pipeline", path])
        #expect(file.status != 0)
        #expect(
            file.stderr == "error: \(path): sources[0].live.io_timeout must be positive seconds\n", "\(file.stderr)")
    }

    @Test("a misspelled subcommand is named, with the subcommand it was probably meant to be")
    func misspelledSubcommand() throws {
        for arguments in [["serach", "--query", "x"], ["serach", "--db", "x.db", "a dog"], ["indx", "a.mp4"]] {
            let result = try CLIRunner.run(arguments)
            let meant = arguments[0] == "serach" ? "search" : "index"
            #expect(result.status != 0)
            #expect(
                result.stderr == "error: no such file or subcommand '\(arguments[0])'; did you mean '\(meant)'?\n",
                "\(result.stderr)")
        }
        // A missing file that is no near-miss keeps the missing-file error.
        let missing = try CLIRunner.run(["no-such-clip.mp4", "--query", "x", "--model", Self.tiny])
        #expect(missing.status != 0 && missing.stderr.contains("no-such-clip.mp4") && !missing.stderr.contains("mean"))
    }

    @Test("--fps -1 says --fps must be positive, for run and index")
    func negativeFPS() throws {
        let db = try Fixtures.temporaryDirectory("run-flags").appendingPathComponent("i.db").path
        for arguments in [
            ["SampleVideos/plaza.mp4", "--query", "x", "--fps", "-1"],
            ["index", "--db", db, "--fps", "-1", "SampleVideos/plaza.mp4"],
        ] {
            let result = try CLIRunner.run(arguments)
            #expect(result.status != 0)
            #expect(result.stderr.contains("--fps must be a positive number"), "\(result.stderr)")
            #expect(!result.stderr.contains("Missing value"))
        }
    }

    @Test("the summary shows each query's peak and median score, and says a test-size model's scores mean nothing")
    func summaryShowsScores() throws {
        let result = try CLIRunner.run([
            "SampleVideos/plaza.mp4", "--query", "a person crossing", "--model", Self.tiny, "--fps", "1",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let scores = result.lines.filter { $0.hasPrefix("scores  plaza \"a person crossing\": peak ") }
        #expect(scores.count == 1 && scores.first?.hasSuffix("over 10 frames") == true, "\(result.stdout)")
        #expect(result.stderr.contains("test-size checkpoint"), "\(result.stderr)")
        #expect(result.stderr.contains("scores and captions are meaningless"))
    }
}
