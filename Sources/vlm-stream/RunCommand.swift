import ArgumentParser
import CLIP
import Foundation
import Logging
import Prometheus
import VLMCaption
import VLMCore
import VLMGraph
import VLMPipeline
import VLMPublish
import VLMVideo

/// `vlm-stream INPUT --query TEXT …` (the default subcommand): decode, encode sampled frames, match queries, print
/// results; or `--pipeline FILE` for a whole deployment, with any flag applied on top of the file.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Match natural-language queries against a video file, stream or camera.",
        discussion: """
            Examples:
              vlm-stream camera.mp4 --query "person crossing" --query "red car"
              vlm-stream rtsp://cam/stream --query "a dog" --json --metrics-port 9464
              vlm-stream run --pipeline Pipelines/plaza-queries.yaml --fps 4 --enter 0.7

            Every flag applies on top of --pipeline FILE (--query adds to its queries).
            A flag that cannot apply, such as --fps with several sources, is an error.
            --print-pipeline shows the pipeline that would run, as YAML.

            With --json, results are JSON Lines on stdout: {"type":"score",...},
            match events {"type":"start"|"update"|"end",...}, per query
            {"type":"query_summary",...}, and a final {"type":"summary",...}.
            SIGINT/SIGTERM drain the graph and exit 0.
            """
    )

    @Argument(help: "A video file, rtsp://, http(s):// URL, /dev/videoN camera, or - for stdin.")
    var input: String?

    @Option(name: .long, help: "A query to match (repeatable).")
    var query: [String] = []

    @Option(name: .customLong("query-file"), help: "A query tuned by `vlm-stream tune` (repeatable).")
    var queryFile: [String] = []

    @Option(name: .customLong("query-image"), help: "An example image of what to match (repeatable: averaged).")
    var queryImage: [String] = []

    @Option(help: "A pipeline YAML file describing sources, model, queries and outputs (see Pipelines/).")
    var pipeline: String?

    @OptionGroup var model: ModelOptions
    @OptionGroup var video: VideoOptions
    @OptionGroup var match: MatchOptions
    @OptionGroup var mqtt: MQTTOptions

    @Flag(help: "JSON Lines on stdout instead of human-readable lines.")
    var json = false

    @Option(help: "Serve Prometheus metrics on this port (0 picks a free port).")
    var metricsPort: Int?

    @Option(help: "Address the metrics endpoint binds: 127.0.0.1 (default) or 0.0.0.0 to expose it.")
    var metricsHost: String?

    @Option(parsing: .unconditional, help: "Images per encoder forward pass. Default \(EncoderSpec().batch).")
    var batch: Int?

    @Option(
        parsing: .unconditional,
        help: "Encoder worker threads (default: 2 on 2+ cores, each with one kernel thread).")
    var workers: Int?

    @Option(parsing: .unconditional, help: "Kernel threads per encoder worker (default: cores ÷ workers).")
    var threads: Int?

    @Option(
        parsing: .unconditional,
        help: "Milliseconds a batch of a live source may wait to fill. Default \(EncoderSpec().latencyMs).")
    var latencyMs: Double?

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "Most frames in flight between admission and the encoder's end; more are dropped (live) or wait "
                + "(files). Default: 2 batches per worker."))
    var maxInFlight: Int?

    @Option(help: "Queue policy behind a live decoder: keep-latest (default), drop-oldest or block.")
    var livePolicy: QueuePolicy?

    @Flag(help: "Rolling captions.")
    var captions = false

    @Option(help: "Write captions as SubRip subtitles to this file (implies --captions).")
    var srt: String?

    @Option(help: "Write captions as WebVTT subtitles to this file (implies --captions).")
    var vtt: String?

    @OptionGroup var captionOptions: CaptionRunOptions

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "Seconds to wait for the graph to drain after SIGINT/SIGTERM. "
                + "Default \(PipelineSpec(sources: []).drainTimeout)."))
    var drainTimeout: Double?

    @Flag(help: "Print the effective pipeline (the file, or INPUT, with every flag applied) as YAML and exit.")
    var printPipeline = false

    func validate() throws {
        if input != nil, pipeline != nil {
            throw ValidationError(
                "Give either INPUT or --pipeline FILE, not both: the file names its inputs under `sources:`.")
        }
        guard input != nil || pipeline != nil else {
            throw ValidationError("Give an INPUT (file, URL, /dev/videoN or -) or --pipeline FILE.")
        }
        if pipeline == nil && query.isEmpty && queryFile.isEmpty && queryImage.isEmpty && match.labels == nil
            && !captions && srt == nil && vtt == nil && mqtt.url == nil && captionOptions.captionModel == nil
            && captionOptions.captionEndpoint == nil
        {
            throw ValidationError(
                "Give at least one --query TEXT (or --labels / --captions, or --mqtt to send queries).")
        }
        var encoder = EncoderSpec()
        apply(to: &encoder)
        if let problem = encoder.problem {
            let flag =
                ["latency_ms": "--latency-ms", "max_in_flight": "--max-in-flight"][problem.key] ?? "--\(problem.key)"
            throw ValidationError("\(flag) \(problem.requirement).")
        }
        if let metricsPort, !(0...65535).contains(metricsPort) {
            throw ValidationError("--metrics-port must be a TCP port (0-65535).")
        }
        if let drainTimeout, !(drainTimeout > 0) {
            throw ValidationError("--drain-timeout must be positive seconds.")
        }
    }

    func run() async throws {
        try await reportingErrors {
            let spec = try makeSpec()
            if printPipeline {
                // The merged pipeline is for reading and sharing: a broker password never leaves in it.
                var shown = spec
                if shown.outputs.mqtt?.broker.password != nil { shown.outputs.mqtt?.broker.password = "***" }
                // The endpoint's API key is never in the spec (only its variable's name); a password in the URL is.
                if let url = shown.captions?.endpoint?.url {
                    shown.captions?.endpoint?.url = EndpointOptions.redact(url)
                }
                FileHandle.standardOutput.write(Data(try shown.yaml().utf8))
                return
            }
            try await PipelineRunner(
                spec: spec, mqtt: spec.outputs.mqtt, json: json, drainTimeout: spec.drainTimeout
            ).run()
        }
    }

    /// The spec from `--pipeline` or from INPUT, with every flag given applied on top; validated.
    func makeSpec() throws -> PipelineSpec {
        var spec: PipelineSpec
        if let pipeline {
            spec = try PipelineSpec.load(from: URL(fileURLWithPath: pipeline))
        } else {
            // On the command line the scene gate is on unless --no-gate (in a file, only with a `gate:` section).
            spec = PipelineSpec(sources: [SourceSpec(url: input ?? "-", gate: SceneChangeGate.Configuration())])
        }
        try apply(to: &spec)
        try spec.validate()
        return spec
    }

    /// Every option group, then `run`'s own flags, set what was given on `spec`.
    func apply(to spec: inout PipelineSpec) throws {
        model.apply(to: &spec)
        try video.apply(to: &spec)
        if let livePolicy {
            guard spec.sources.count == 1 else {
                throw OptionError.perSource(["--live-policy"], sources: spec.sources.count)
            }
            spec.sources[0].live.policy = livePolicy
        }
        spec.queries += query.filter { !spec.queries.contains($0) }
        spec.queryFiles += queryFile.filter { !spec.queryFiles.contains($0) }
        if !queryImage.isEmpty { spec.queryImages = queryImage }
        try match.apply(to: &spec)
        if captions || srt != nil || vtt != nil, spec.captions == nil { spec.captions = CaptionOptions() }
        try captionOptions.apply(to: &spec)
        apply(to: &spec.encoder)
        if json { spec.outputs.json = "-" }
        if let srt { spec.outputs.srt = srt }
        if let vtt { spec.outputs.vtt = vtt }
        if let metricsPort { spec.metricsPort = metricsPort }
        if let metricsHost { spec.metricsHost = metricsHost }
        if let drainTimeout { spec.drainTimeout = drainTimeout }
        try mqtt.apply(to: &spec)
        // JSON consumers get every sampled frame's score; humans get events unless --scores.
        if spec.outputs.json != nil { spec.match.emitScores = true }
    }

    /// Sets the encoder flags given.
    func apply(to encoder: inout EncoderSpec) {
        if let batch { encoder.batch = batch }
        if let workers { encoder.workers = workers }
        if let threads { encoder.threads = threads }
        if let latencyMs { encoder.latencyMs = latencyMs }
        if let maxInFlight { encoder.maxInFlight = maxInFlight }
    }
}

extension QueuePolicy: ExpressibleByArgument {}
