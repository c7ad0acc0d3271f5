import ArgumentParser
import CLIP
import Foundation
import Logging
import Prometheus
import VLMCaption
import VLMCore
import VLMGraph
import VLMIndex
import VLMPipeline
import VLMPublish
import VLMServe
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
              vlm-stream rtsp://cam/stream --query "a dog" --http 127.0.0.1:8080
              vlm-stream run --pipeline Pipelines/plaza-queries.yaml --fps 4 --enter 0.7

            Every flag applies on top of --pipeline FILE (--query adds to its queries).
            A flag that cannot apply, such as --fps with several sources, is an error.
            --print-pipeline shows the pipeline that would run, as YAML.

            With --json, results are JSON Lines on stdout: {"type":"score",...},
            match events {"type":"start"|"update"|"end",...}, per query
            {"type":"query_summary",...}, and a final {"type":"summary",...}.
            SIGINT/SIGTERM drain the graph and exit 0.

            --http serves the Live page (open http://HOST:PORT/), its API and /metrics
            on one port; beyond loopback give --token or --token-file.
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

    @Flag(
        name: .customLong("query-image-crops"),
        help: "Also average the mirror image and five ¾ crops of each --query-image into its query.")
    var queryImageCrops = false

    @Option(
        name: .customLong("query-moment"),
        help: ArgumentHelp(
            "A moment of an index as a query: its stored frame nearest that time (repeatable).",
            valueName: "index:video@seconds"))
    var queryMoment: [String] = []

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

    @Option(
        help: ArgumentHelp(
            "Serve the Live page, its JSON API and /metrics on this address (port 0 picks a free one).",
            valueName: "host:port"))
    var http: String?

    @Option(help: "Require this token on the HTTP server (bearer header or the cookie /login?token= sets).")
    var token: String?

    @Option(help: "Read the HTTP server's token from this file (first line).")
    var tokenFile: String?

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
        for moment in queryMoment {
            do {
                _ = try IndexMoment(parsing: moment)
            } catch .badMoment(_, let reason) {
                throw ValidationError("--query-moment \(moment): \(reason)")
            } catch {
                throw ValidationError(error.description)
            }
        }
        if queryImageCrops && queryImage.isEmpty && pipeline == nil {
            throw ValidationError("--query-image-crops crops example images: give --query-image FILE too.")
        }
        if pipeline == nil && query.isEmpty && queryFile.isEmpty && queryImage.isEmpty && queryMoment.isEmpty
            && match.labels == nil
            && !captions && srt == nil && vtt == nil && mqtt.url == nil && captionOptions.captionModel == nil
            && captionOptions.captionEndpoint == nil && http == nil
        {
            throw ValidationError(
                "Give at least one --query TEXT (or --labels / --captions, or --mqtt / --http to send queries).")
        }
        if token != nil && tokenFile != nil { throw ValidationError("Give --token or --token-file, not both.") }
        if let http {
            guard (try? HTTPAccess.address(http, flag: "--http")) != nil else {
                throw ValidationError("--http must be host:port, e.g. 127.0.0.1:8080 (got '\(http)').")
            }
            if metricsPort != nil || metricsHost != nil {
                throw ValidationError("--http serves /metrics too: drop --metrics-port/--metrics-host.")
            }
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
                spec: spec, mqtt: spec.outputs.mqtt, http: try httpOptions(spec), json: json,
                drainTimeout: spec.drainTimeout
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
        try spec.checkOutputs(alsoRead: pipeline.map { [("the pipeline file", $0)] } ?? [])
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
        if queryImageCrops { spec.queryImageCrops = true }
        spec.queryMoments += queryMoment.filter { !spec.queryMoments.contains($0) }
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

    /// The live view's server (`--http`, `--token`), or nil; warns when it listens beyond loopback without a token.
    func httpOptions(_ spec: PipelineSpec) throws -> ServeOptions? {
        let token = try HTTPAccess.token(token, file: tokenFile)
        guard let http else {
            if token != nil { throw OptionError("--token and --token-file protect the --http server; add --http") }
            return nil
        }
        guard spec.metricsPort == nil else {
            throw OptionError("--http serves /metrics too: remove metrics_port from the pipeline file")
        }
        var options = ServeOptions()
        (options.host, options.port) = try HTTPAccess.address(http, flag: "--http")
        options.token = token
        HTTPAccess.warnIfOpen(options, exposes: "watch the streams and change the queries")
        return options
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
