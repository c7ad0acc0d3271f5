import CLIP
import Foundation
import VLMCaption
import VLMGraph
import VLMMatch
import VLMPublish
import VLMVideo

/// One deployment: its sources, the model, queries, analyzers and outputs. Both a pipeline file
/// (`vlm-stream run --pipeline FILE`, see Pipelines/*.yaml) and the command line produce one; `PipelineBuilder`
/// turns it into a running `StageGraph`. Keys are snake_case in YAML; unknown keys are errors.
public struct PipelineSpec: Sendable, Equatable {
    /// A CLIP checkpoint directory or hub name (`--model`); nil uses the default model.
    public var model: String?
    /// The video inputs (at least one).
    public var sources: [SourceSpec]
    /// Natural-language queries matched on every sampled frame.
    public var queries: [String]
    /// Tuned query files (`vlm-stream tune`, `query_files:`), each matched like a text query.
    public var queryFiles: [String] = []
    /// Example images of one thing (`query_images:`), averaged into one query named by their file names.
    public var queryImages: [String] = []
    /// Also embed crops and the mirror image of each example image and average them in (`query_image_crops:`).
    public var queryImageCrops = false
    /// Moments of an index, `INDEX:VIDEO@SECONDS` (`query_moments:`): each the query of its stored frame embedding.
    public var queryMoments: [String] = []
    /// Matching thresholds and prompts (VLMMatch's settings; the `match:` section).
    public var match: MatchSettings
    /// Zero-shot labels per frame, if wanted.
    public var labels: LabelsSpec?
    /// Rolling captions (VLMCaption's options), if wanted.
    public var captions: CaptionOptions?
    /// Batching, workers and threads of the shared encoder.
    public var encoder: EncoderSpec
    /// Where results go.
    public var outputs: OutputsSpec
    /// Serve Prometheus metrics on this port (127.0.0.1 unless `metrics_host` says otherwise).
    public var metricsPort: Int?
    /// Address the metrics endpoint binds (`127.0.0.1` or `0.0.0.0`).
    public var metricsHost: String
    /// Seconds a drain after SIGINT/SIGTERM may take before the run gives up on it.
    public var drainTimeout: Double

    /// A spec with the given parts; everything else at its default.
    public init(
        model: String? = nil, sources: [SourceSpec], queries: [String] = [], match: MatchSettings = MatchSettings(),
        labels: LabelsSpec? = nil, captions: CaptionOptions? = nil, encoder: EncoderSpec = EncoderSpec(),
        outputs: OutputsSpec = OutputsSpec(), metricsPort: Int? = nil, metricsHost: String = "127.0.0.1",
        drainTimeout: Double = 5
    ) {
        self.model = model
        self.sources = sources
        self.queries = queries
        self.match = match
        self.labels = labels
        self.captions = captions
        self.encoder = encoder
        self.outputs = outputs
        self.metricsPort = metricsPort
        self.metricsHost = metricsHost
        self.drainTimeout = drainTimeout
    }
}

/// One video input of a pipeline: its name and URL, VLMVideo's own source options (sampling, tiles, live-input
/// timeouts and reconnects, RTSP transport, FFmpeg options), the scene-change gate and the queue behind the decoder.
public struct SourceSpec: Sendable, Equatable {
    /// The stream's name in results and MQTT topics (defaults to the input's file name).
    public var name: String?
    /// A file path, `rtsp://…`/`http://…` URL, `/dev/videoN`, or `-` for stdin.
    public var url: String
    /// How the source decodes and samples (`imageSize`, `lumaSize` and `streamName` are set by the builder).
    public var options: VideoSourceOptions
    /// The scene-change gate; nil encodes every sampled frame.
    public var gate: SceneChangeGate.Configuration?
    /// The queue behind the decoder.
    public var live: LiveSpec

    /// A source reading `url` with VLMVideo's default options and no gate.
    public init(
        name: String? = nil, url: String, options: VideoSourceOptions = VideoSourceOptions(),
        gate: SceneChangeGate.Configuration? = nil, live: LiveSpec = LiveSpec()
    ) {
        self.name = name
        self.url = url
        self.options = options
        self.gate = gate
        self.live = live
    }
}

/// The queue between a source's decoder and the graph (the `live:` section's `policy` and `queue`; its other keys
/// are VLMVideo's options).
public struct LiveSpec: Sendable, Equatable {
    /// The queue policy after the decoder; nil: `block` for files, `keep-latest` for live inputs.
    public var policy: QueuePolicy?
    /// Frames the queue holds.
    public var queue: Int

    /// Defaults: policy by input kind, queue of 4.
    public init(policy: QueuePolicy? = nil, queue: Int = 4) {
        self.policy = policy
        self.queue = queue
    }
}

/// Zero-shot labels for every sampled frame.
public struct LabelsSpec: Sendable, Equatable {
    /// The label set.
    public var labels: [String]
    /// How many to report per frame (all when nil).
    public var top: Int?

    /// Labels `labels`, reporting the best `top`.
    public init(labels: [String], top: Int? = nil) {
        self.labels = labels
        self.top = top
    }
}

/// The shared encoder's batching and threads.
public struct EncoderSpec: Sendable, Equatable {
    /// Two single-threaded workers on machines with two or more cores: `bench pipeline` measured them faster
    /// than one worker with two kernel threads on the 2-core target (see docs/pipeline.md).
    public static let defaultWorkers = min(2, max(1, ProcessInfo.processInfo.activeProcessorCount))

    /// Most images per forward pass.
    public var batch: Int
    /// Milliseconds a batch may wait to fill when a source is live.
    public var latencyMs: Double
    /// Encoder worker threads (each runs whole batches).
    public var workers: Int
    /// Kernel threads per worker (nil: cores ÷ workers).
    public var threads: Int?
    /// Most frames in flight between the flow limiter and the encoder's end (nil: 2 batches per worker).
    public var maxInFlight: Int?
    /// Precision of the encoder's linear layers (`precision: int8`); nil: what the checkpoint holds (int8 for one
    /// written by `models quantize`, else fp32).
    public var precision: Precision? = nil

    /// Defaults: batch 8, 50 ms, `defaultWorkers` workers with one kernel thread each.
    public init(
        batch: Int = 8, latencyMs: Double = 50, workers: Int = EncoderSpec.defaultWorkers, threads: Int? = nil,
        maxInFlight: Int? = nil
    ) {
        self.batch = batch
        self.latencyMs = latencyMs
        self.workers = workers
        self.threads = threads
        self.maxInFlight = maxInFlight
    }
}

/// Where results go.
public struct OutputsSpec: Sendable, Equatable {
    /// Human lines on stdout (default when no `json` output goes to stdout).
    public var terminal: Bool?
    /// JSON Lines: `-` for stdout or a file path.
    public var json: String?
    /// Subtitle files of the captions.
    public var srt: String?
    /// WebVTT file of the captions.
    public var vtt: String?
    /// MQTT publishing of results and query control (VLMPublish's settings).
    public var mqtt: MQTTSettings?

    /// No outputs named: human lines on the terminal.
    public init(
        terminal: Bool? = nil, json: String? = nil, srt: String? = nil, vtt: String? = nil, mqtt: MQTTSettings? = nil
    ) {
        self.terminal = terminal
        self.json = json
        self.srt = srt
        self.vtt = vtt
        self.mqtt = mqtt
    }
}
