import CLIP
import CoreMetrics
import Foundation
import Logging
import VLMCaption
import VLMCore
import VLMGraph
import VLMMatch
import VLMTensor
import VLMVideo

/// A built pipeline: the graph plus the parts the command line talks to while it runs.
public struct BuiltPipeline: Sendable {
    /// The stage graph, ready to `start()`.
    public var graph: StageGraph
    /// The query matcher (for MQTT control and the summary), when queries were given.
    public var matcher: QueryMatcher?
    /// The matcher's queries under MQTT control, images included (nil without a matcher).
    public var controller: ImageQueryController?
    /// The sources, for durations and progress.
    public var sources: [any FrameSource]
    /// The sinks results go to, so a run can report an output that failed.
    public var sinks: [any ResultSink] = []
    /// Answers one-off questions about a stream's latest frame (MQTT `ask`), when a caption model is configured.
    public var answerer: (any LatestFrameAnswering)?
    /// The caption stage's standing questions (`--ask`; MQTT `questions/…`), when a caption model is configured.
    public var questions: (any QuestionControlling)?
    /// The first output whose writes failed (JSON Lines files, standard output, subtitle files), or nil.
    public var writeFailure: PipelineError? {
        for sink in sinks {
            if let failure = (sink as? JSONLinesSink)?.failure { return failure }
            if let subtitles = sink as? SubtitleWriter, let reason = subtitles.failure {
                return .writeFailed("the subtitles '\(subtitles.url.path)'", reason)
            }
        }
        return nil
    }
    /// Sum of the file sources' durations (nil when any is live or unknown).
    public var totalDuration: Double? {
        var total = 0.0
        for source in sources {
            guard !source.isLive, let d = source.duration else { return nil }
            total += d
        }
        return total
    }
}

/// Turns a `PipelineSpec` into a `StageGraph` with real parts: VLMVideo sources, the CLIP model, VLMMatch's
/// matcher and labels, VLMCaption's captions, and the sinks the spec names.
public struct PipelineBuilder: Sendable {
    /// What to build.
    public var spec: PipelineSpec
    /// Logger handed to every part.
    public var logger: Logger
    /// Where metrics go (a Prometheus-backed factory to serve them).
    public var metricsFactory: any MetricsFactory
    /// Extra sinks (e.g. MQTT, made by the caller).
    public var extraSinks: [any ResultSink]
    /// Sees every sampled frame before the graph does (e.g. `FrameThumbnailCache.remember` for MQTT thumbnails).
    public var frameTap: (@Sendable (Frame) -> Void)?
    /// Keep a query matcher even when the spec names no query: queries may arrive later (the live page).
    public var keepsMatcher = false

    /// A builder for `spec`.
    public init(
        spec: PipelineSpec, logger: Logger = Logger(label: "vlm.pipeline"),
        metricsFactory: any MetricsFactory = MetricsSystem.factory, extraSinks: [any ResultSink] = []
    ) {
        self.spec = spec
        self.logger = logger
        self.metricsFactory = metricsFactory
        self.extraSinks = extraSinks
    }

    /// Loads the model the spec names (a directory or cached hub name).
    public func loadModel() throws -> CLIPModel {
        let directory = try ModelLocator.resolve(spec.model ?? HubCache.defaultModel)
        return try CLIPModel.load(
            directory: directory, maxBatch: max(spec.encoder.batch, 1), precision: spec.encoder.precision,
            logger: logger)
    }

    /// Opens every source and builds the graph; `model` defaults to `loadModel()`. `onProgress(stream, pts)` sees
    /// each finished frame; results for standard output go to `stdout` (the runner's writer, which knows its
    /// progress bar).
    public func build(
        model: CLIPModel? = nil, stdout: LineWriter = .stdout,
        onProgress: @escaping @Sendable (String, Double) -> Void = { _, _ in }
    ) throws -> BuiltPipeline {
        try spec.validate()
        let model = try model ?? loadModel()
        // A GIT caption model's directory (resolved as a directory of any checkpoint: it has no CLIP tokenizer).
        let captionModel = spec.captions?.model.flatMap {
            try? ModelLocator.resolve($0, requiredFiles: ["config.json"])
        }
        try spec.checkOutputs(modelDirectories: [model.directory] + (captionModel.map { [$0] } ?? []))

        let relay = StatusRelay()
        let queueNames = spec.sources.map { "source:\($0.streamName)" } + ["encode", "results"]
        let metrics = PipelineMetrics(factory: metricsFactory, queues: queueNames)
        let modelCaptions = try makeModelCaptions(metrics: metrics)
        let sources = try spec.sources.map {
            try openSource(
                $0, preprocessing: model.preprocessing, captions: modelCaptions.map(Self.captionTap), relay: relay)
        }
        let (analyzers, matcher) = try makeAnalyzers(model: model, modelCaptions: modelCaptions)
        let sinks = try makeSinks(stdout: stdout) + extraSinks
        let options = GraphOptions(
            maxBatch: spec.encoder.batch, latencyBudget: spec.encoder.latencyMs / 1000,
            maxInFlight: spec.encoder.maxInFlight)
        let graph = StageGraph(
            sources: sources, encoders: EncoderWorkers.make(model, spec.encoder), analyzers: analyzers,
            sinks: sinks, options: options, metrics: metrics, logger: logger, onProgress: onProgress)
        relay.graph.withLock { $0 = graph }
        return BuiltPipeline(
            graph: graph, matcher: matcher,
            controller: matcher.map { ImageQueryController(matcher: $0, model: model, crops: spec.queryImageCrops) },
            sources: sources.map(\.source), sinks: sinks, answerer: modelCaptions, questions: modelCaptions)
    }

    // MARK: - Parts

    func openSource(
        _ source: SourceSpec, preprocessing: ImagePreprocessing, captions: CaptionTap? = nil, relay: StatusRelay
    ) throws -> GraphSource {
        var options = source.options
        options.preprocessing = preprocessing
        options.captionPreprocessing = captions?.preprocessing
        options.lumaSize = source.gate == nil ? 0 : options.lumaSize
        options.streamName = source.streamName
        let stream = source.streamName
        let video = try VideoSource(
            VideoInput(parsing: source.url), options: options, logger: quiet("vlm.video"),
            onEvent: { event in relay.forward(event, stream: stream) })
        let gate = source.gate.map { SceneGate(configuration: $0) }
        let taps = [frameTap, captions?.remember].compactMap { $0 }
        let frames: any FrameSource =
            taps.isEmpty
            ? VideoFrameSource(video)
            : TappedFrameSource(VideoFrameSource(video), tap: { frame in for tap in taps { tap(frame) } })
        return GraphSource(
            source: frames, gate: gate, policy: source.live.policy, queueCapacity: source.live.queue)
    }

    func makeAnalyzers(
        model: CLIPModel, modelCaptions: BackgroundCaptioner? = nil
    ) throws -> ([any FrameAnalyzer], QueryMatcher?) {
        var analyzers: [any FrameAnalyzer] = []
        var matcher: QueryMatcher?
        var prompts: PromptEncoder?
        // With MQTT, queries (robot commands) may arrive only later as control messages: keep a matcher ready.
        if spec.hasQueries || spec.outputs.mqtt != nil || keepsMatcher {
            let m = try QueryMatcher(encoder: model, settings: spec.match, queries: spec.queries)
            try addExampleQueries(to: m, model: model)
            analyzers.append(m)
            matcher = m
            prompts = m.prompts
        }
        if let labels = spec.labels {
            let encoder = try prompts ?? QueryMatcher(encoder: model, settings: spec.match).prompts
            analyzers.append(try LabelClassifier(labels: labels.labels, prompts: encoder, top: labels.top))
        }
        if let modelCaptions {
            analyzers.append(modelCaptions)
        } else if let captions = spec.captions {
            analyzers.append(try captions.makeAnalyzer(encoder: model, logger: quiet("vlm.caption")))
        }
        return (analyzers, matcher)
    }

    func makeSinks(stdout: LineWriter) throws -> [any ResultSink] {
        var sinks: [any ResultSink] = []
        let outputs = spec.outputs
        if let json = outputs.json {
            sinks.append(JSONLinesSink(writer: json == "-" ? stdout : try LineWriter(path: json)))
        }
        if outputs.terminal ?? (outputs.json != "-") {
            sinks.append(TerminalSink(writer: stdout))
        }
        for (path, format) in [(outputs.srt, SubtitleFormat.srt), (outputs.vtt, .vtt)] {
            guard let path else { continue }
            sinks.append(
                try SubtitleWriter(url: URL(fileURLWithPath: path), format: format, logger: quiet("vlm.caption")))
        }
        return sinks
    }

    func quiet(_ label: String) -> Logger {
        var l = logger
        l[metadataKey: "part"] = "\(label)"
        return l
    }
}

/// Forwards a source's reconnect events to the graph's sinks as `.status` results (set once the graph exists).
final class StatusRelay: Sendable {
    let graph = Locked<StageGraph?>(nil)

    func forward(_ event: VideoSourceEvent, stream: String) {
        let result: StreamResult
        switch event {
        case .reconnecting(let attempt, let delay, let reason):
            result = .status(
                stream: stream, state: "reconnecting",
                detail: "attempt \(attempt) in \(String(format: "%.1f", delay)) s: \(reason)")
        case .reconnected:
            result = .status(stream: stream, state: "online", detail: "reconnected")
        case .opened, .ended:
            return
        }
        graph.current?.report(result)
    }
}
