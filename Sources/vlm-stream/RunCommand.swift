import ArgumentParser
import CLIP
import Foundation
import Logging
import Prometheus
import VLMCore
import VLMGraph
import VLMPipeline
import VLMPublish

/// `vlm-stream INPUT --query TEXT …` (the default subcommand): decode, encode sampled frames, match queries, print
/// results; or `--pipeline FILE` for a whole deployment.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Match natural-language queries against a video file, stream or camera.",
        discussion: """
            Examples:
              vlm-stream camera.mp4 --query "person crossing" --query "red car"
              vlm-stream rtsp://cam/stream --query "a dog" --json --metrics-port 9464
              vlm-stream run --pipeline Pipelines/plaza-queries.yaml
            With --json, results are JSON Lines on stdout: {"type":"score",...}, match events
            {"type":"start"|"update"|"end",...}, and a final {"type":"summary",...}.
            SIGINT/SIGTERM drain the graph and exit 0.
            """
    )

    @Argument(help: "A video file, rtsp://, http(s):// URL, /dev/videoN camera, or - for stdin.")
    var input: String?

    @Option(name: .long, help: "A query to match (repeatable).")
    var query: [String] = []

    @Option(help: "A pipeline YAML file describing sources, model, queries and outputs (see Pipelines/).")
    var pipeline: String?

    @OptionGroup var model: ModelOptions
    @OptionGroup var video: VideoOptions
    @OptionGroup var match: MatchOptions
    @OptionGroup var mqtt: MQTTOptions

    @Flag(help: "JSON Lines on stdout instead of human-readable lines.")
    var json = false

    @Option(help: "Serve Prometheus metrics on this port (127.0.0.1; 0 picks a free port).")
    var metricsPort: Int?

    @Option(help: "Images per encoder forward pass.")
    var batch: Int = 8

    @Option(help: "Encoder worker threads (default: 2 on 2+ cores, each with one kernel thread).")
    var workers: Int = EncoderSpec.defaultWorkers

    @Option(help: "Kernel threads per encoder worker (default: cores ÷ workers).")
    var threads: Int?

    @Option(help: "Queue policy behind a live decoder: keep-latest (default), drop-oldest or block.")
    var livePolicy: QueuePolicy?

    @Flag(help: "Rolling captions.")
    var captions = false

    @Option(help: "Write captions as SubRip subtitles to this file (implies --captions).")
    var srt: String?

    @Option(help: "Write captions as WebVTT subtitles to this file (implies --captions).")
    var vtt: String?

    @OptionGroup var captionOptions: CaptionRunOptions

    @Option(help: "Seconds to wait for the graph to drain after SIGINT/SIGTERM.")
    var drainTimeout: Double = 5

    func validate() throws {
        guard (input == nil) != (pipeline == nil) || (input == nil && pipeline != nil) else {
            throw ValidationError(
                input == nil
                    ? "Give an INPUT (file, URL, /dev/videoN or -) or --pipeline FILE."
                    : "Give either INPUT or --pipeline FILE, not both.")
        }
        if pipeline == nil && query.isEmpty && match.labels == nil && !captions && srt == nil && vtt == nil
            && mqtt.url == nil
        {
            throw ValidationError(
                "Give at least one --query TEXT (or --labels / --captions, or --mqtt to send queries).")
        }
        guard batch >= 1, workers >= 1 else { throw ValidationError("--batch and --workers must be at least 1.") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1.") }
        if let metricsPort, !(0...65535).contains(metricsPort) {
            throw ValidationError("--metrics-port must be a TCP port (0-65535).")
        }
        guard drainTimeout > 0 else { throw ValidationError("--drain-timeout must be positive seconds.") }
    }

    func run() async throws {
        try await reportingErrors {
            let spec = try makeSpec()
            // makeSpec() already layered the --mqtt* flags onto outputs.mqtt.
            let mqttSettings = spec.outputs.mqtt?.settings
            try await PipelineRunner(spec: spec, mqtt: mqttSettings, json: json, drainTimeout: drainTimeout).run()
        }
    }

    /// The spec from `--pipeline` (with --query/--json/--metrics-port layered on) or from the flags.
    func makeSpec() throws -> PipelineSpec {
        var spec: PipelineSpec
        if let pipeline {
            spec = try PipelineSpec.load(from: URL(fileURLWithPath: pipeline))
            spec.queries += query.filter { !spec.queries.contains($0) }
            // A --model given on the command line overrides the file's.
            if model.model != HubCache.defaultModel || spec.model == nil { spec.model = model.model }
        } else {
            let sampling = SamplingSpec(fps: video.fps, every: video.every, keyframes: video.keyframes)
            let gate = video.gateConfiguration.map { GateSpec(threshold: $0.meanThreshold, maxReuse: video.maxReuse) }
            var inputOptions: [String: String] = [:]
            for option in video.inputOptions {
                let parts = option.split(separator: "=", maxSplits: 1).map(String.init)
                inputOptions[parts[0]] = parts.count > 1 ? parts[1] : ""
            }
            let live = LiveSpec(
                policy: livePolicy, ioTimeout: video.ioTimeout, reconnectMaxDelay: video.reconnectMaxDelay)
            let source = SourceSpec(
                url: input ?? "-", sampling: sampling, tiles: video.tiles, gate: gate, live: live,
                inputOptions: inputOptions)
            let labels = match.labels.map { LabelsSpec(labels: MatchOptions.split($0), top: match.labelsTop) }
            spec = PipelineSpec(
                model: model.model, sources: [source], queries: query, match: try match.settings(), labels: labels,
                captions: captions || srt != nil || vtt != nil ? captionOptions.spec() : nil,
                encoder: EncoderSpec(batch: batch, workers: workers, threads: threads),
                outputs: OutputsSpec(srt: srt, vtt: vtt))
        }
        if json { spec.outputs.json = "-" }
        // JSON consumers get every sampled frame's score; humans get events unless --scores.
        if spec.outputs.json != nil { spec.match.emitScores = true }
        if let metricsPort { spec.metricsPort = metricsPort }
        if let settings = try mqtt.settings(base: spec.outputs.mqtt?.settings) {
            spec.outputs.mqtt = MQTTSpec(settings)
        }
        try spec.validate()
        return spec
    }
}

extension QueuePolicy: ExpressibleByArgument {}
