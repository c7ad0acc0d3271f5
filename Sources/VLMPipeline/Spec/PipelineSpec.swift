import VLMGraph
import Foundation
import VLMMatch

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
    /// Matching thresholds and prompts (VLMMatch's settings; the `match:` section).
    public var match: MatchSettings
    /// Zero-shot labels per frame, if wanted.
    public var labels: LabelsSpec?
    /// Rolling captions, if wanted.
    public var captions: CaptionsSpec?
    /// Batching, workers and threads of the shared encoder.
    public var encoder: EncoderSpec
    /// Where results go.
    public var outputs: OutputsSpec
    /// Serve Prometheus metrics on this port (127.0.0.1 unless `metrics_host` says otherwise).
    public var metricsPort: Int?
    /// Address the metrics endpoint binds (`127.0.0.1` or `0.0.0.0`).
    public var metricsHost: String

    /// A spec with the given parts; everything else at its default.
    public init(
        model: String? = nil, sources: [SourceSpec], queries: [String] = [], match: MatchSettings = MatchSettings(),
        labels: LabelsSpec? = nil, captions: CaptionsSpec? = nil, encoder: EncoderSpec = EncoderSpec(),
        outputs: OutputsSpec = OutputsSpec(), metricsPort: Int? = nil, metricsHost: String = "127.0.0.1"
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
    }
}

/// One video input of a pipeline.
public struct SourceSpec: Sendable, Equatable {
    /// The stream's name in results and MQTT topics (defaults to the input's file name).
    public var name: String?
    /// A file path, `rtsp://…`/`http://…` URL, `/dev/videoN`, or `-` for stdin.
    public var url: String
    /// Which frames are encoded.
    public var sampling: SamplingSpec
    /// Extra tile views as `COLUMNSxROWS` (e.g. `2x2`).
    public var tiles: String?
    /// The scene-change gate; nil encodes every sampled frame.
    public var gate: GateSpec?
    /// What happens when a live source outpaces the encoder.
    public var live: LiveSpec
    /// Extra FFmpeg demuxer/protocol options (`video_size: 1280x720`).
    public var inputOptions: [String: String]

    /// A source reading `url`.
    public init(
        name: String? = nil, url: String, sampling: SamplingSpec = SamplingSpec(), tiles: String? = nil,
        gate: GateSpec? = nil, live: LiveSpec = LiveSpec(), inputOptions: [String: String] = [:]
    ) {
        self.name = name
        self.url = url
        self.sampling = sampling
        self.tiles = tiles
        self.gate = gate
        self.live = live
        self.inputOptions = inputOptions
    }
}

/// Frame sampling: exactly one of `fps`, `every`, `keyframes` (default 2 frames per second).
public struct SamplingSpec: Sendable, Equatable {
    /// Frames per second of video, chosen by timestamp.
    public var fps: Double?
    /// Every Nth decoded frame.
    public var every: Int?
    /// Keyframes only.
    public var keyframes: Bool

    /// A sampling choice; with nothing set, 2 fps.
    public init(fps: Double? = nil, every: Int? = nil, keyframes: Bool = false) {
        self.fps = fps
        self.every = every
        self.keyframes = keyframes
    }
}

/// The scene-change gate: unchanged frames reuse the last embedding instead of running the encoder.
public struct GateSpec: Sendable, Equatable {
    /// Mean luma difference (0–255) that counts as a change.
    public var threshold: Double
    /// Seconds after which a frame is encoded even if unchanged.
    public var maxReuse: Double

    /// Defaults: threshold 4, re-encode at least every 5 s.
    public init(threshold: Double = 4, maxReuse: Double = 5) {
        self.threshold = threshold
        self.maxReuse = maxReuse
    }
}

/// Live behaviour of a source.
public struct LiveSpec: Sendable, Equatable {
    /// The queue policy after the decoder; nil: `block` for files, `keep-latest` for live inputs.
    public var policy: QueuePolicy?
    /// Frames the queue holds.
    public var queue: Int
    /// Seconds without data before a live input counts as dropped.
    public var ioTimeout: Double
    /// Longest wait between reconnect attempts, in seconds.
    public var reconnectMaxDelay: Double
    /// Give up after this many failed reconnects in a row (nil: never).
    public var reconnectAttempts: Int?

    /// Defaults: policy by input kind, queue of 4, 10 s timeout, reconnect backoff up to 30 s, forever.
    public init(
        policy: QueuePolicy? = nil, queue: Int = 4, ioTimeout: Double = 10, reconnectMaxDelay: Double = 30,
        reconnectAttempts: Int? = nil
    ) {
        self.policy = policy
        self.queue = queue
        self.ioTimeout = ioTimeout
        self.reconnectMaxDelay = reconnectMaxDelay
        self.reconnectAttempts = reconnectAttempts
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

/// Rolling captions (VLMCaption), with their trigger settings.
public struct CaptionsSpec: Sendable, Equatable {
    /// Seconds of frames averaged into the window embedding.
    public var window: Double
    /// Cosine distance from the last captioned window that triggers a new caption.
    public var drift: Double
    /// Seconds after which a caption is re-checked even without drift.
    public var maxInterval: Double
    /// Seconds that must pass between two captions.
    public var minInterval: Double
    /// Caption vocabulary YAML (nil: the built-in Configs/captions.yaml).
    public var vocabulary: String?
    /// Beam width of the sentence search.
    public var beam: Int
    /// Text embedding cache directory (nil: $XDG_CACHE_HOME/vlm-stream or ~/.cache/vlm-stream).
    public var cache: String?

    /// VLMCaption's defaults.
    public init(
        window: Double = 2, drift: Double = 0.05, maxInterval: Double = 10, minInterval: Double = 1,
        vocabulary: String? = nil, beam: Int = 8, cache: String? = nil
    ) {
        self.window = window
        self.drift = drift
        self.maxInterval = maxInterval
        self.minInterval = minInterval
        self.vocabulary = vocabulary
        self.beam = beam
        self.cache = cache
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
    /// MQTT publishing of results and query control.
    public var mqtt: MQTTSpec?

    /// No outputs named: human lines on the terminal.
    public init(
        terminal: Bool? = nil, json: String? = nil, srt: String? = nil, vtt: String? = nil, mqtt: MQTTSpec? = nil
    ) {
        self.terminal = terminal
        self.json = json
        self.srt = srt
        self.vtt = vtt
        self.mqtt = mqtt
    }
}

/// An MQTT broker to publish results to (and take query changes from).
public struct MQTTSpec: Sendable, Equatable {
    /// Broker host name or address.
    public var host: String
    /// Broker port.
    public var port: Int
    /// Topics are `<topic_prefix>/<stream>/…`.
    public var topicPrefix: String
    /// Client identifier (unique per broker).
    public var clientID: String?
    /// QoS of result messages (0, 1 or 2).
    public var qos: Int
    /// User name and password, if the broker wants them.
    public var username: String?
    /// The password for `username`.
    public var password: String?
    /// TLS (`mqtts://`), with optional PEM files; without `caFile` the system trust store is used.
    public var tls: Bool
    /// CA certificate, client certificate and key (PEM) for TLS.
    public var caFile: String?, certFile: String?, keyFile: String?
    /// Attach a JPEG of the peak frame to start/end events.
    public var thumbnails: Bool
    /// Directory of the on-disk outbox (default under `$XDG_STATE_HOME`).
    public var outbox: String?
    /// Seconds between `stats` messages (0 = none).
    public var statsInterval: Double?

    /// A broker at `host:port`.
    public init(
        host: String = "localhost", port: Int = 1883, topicPrefix: String = "vlm", clientID: String? = nil,
        qos: Int = 1, username: String? = nil, password: String? = nil, tls: Bool = false, caFile: String? = nil,
        certFile: String? = nil, keyFile: String? = nil, thumbnails: Bool = false, outbox: String? = nil,
        statsInterval: Double? = nil
    ) {
        self.host = host
        self.port = port
        self.topicPrefix = topicPrefix
        self.clientID = clientID
        self.qos = qos
        self.username = username
        self.password = password
        self.tls = tls
        self.caFile = caFile
        self.certFile = certFile
        self.keyFile = keyFile
        self.thumbnails = thumbnails
        self.outbox = outbox
        self.statsInterval = statsInterval
    }
}
