import CLIP
import VLMCaption
import VLMCore
import VLMGraph
import VLMMatch
import VLMPublish
import VLMVideo

// Every mapping of a pipeline file decodes strictly: unknown keys are errors, absent keys take the defaults of the
// library type the section belongs to. Encoding writes the same keys, so an encoded spec reads back equal.

extension PipelineSpec: Codable {
    enum Keys: String, CodingKey, CaseIterable {
        case model, sources, queries, match, labels, captions, encoder, outputs
        case metricsPort = "metrics_port"
        case metricsHost = "metrics_host"
        case drainTimeout = "drain_timeout"
        case queryFiles = "query_files"
        case queryImages = "query_images"
        case queryImageCrops = "query_image_crops"
        case queryMoments = "query_moments"
    }

    /// Decodes a pipeline file's top-level mapping.
    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(Keys.self)
        let c = try decoder.container(keyedBy: Keys.self)
        self.init(
            model: try c.decodeIfPresent(String.self, forKey: .model),
            sources: try c.decode([SourceSpec].self, forKey: .sources),
            queries: try c.decodeStrings(forKey: .queries) ?? [],
            match: try c.decodeIfPresent(MatchSettings.self, forKey: .match) ?? MatchSettings(),
            labels: try c.decodeIfPresent(LabelsSpec.self, forKey: .labels),
            captions: try c.decodeIfPresent(CaptionOptions.self, forKey: .captions),
            encoder: try c.decodeIfPresent(EncoderSpec.self, forKey: .encoder) ?? EncoderSpec(),
            outputs: try c.decodeIfPresent(OutputsSpec.self, forKey: .outputs) ?? OutputsSpec(),
            metricsPort: try c.decodeIfPresent(Int.self, forKey: .metricsPort))
        metricsHost = try c.decodeIfPresent(String.self, forKey: .metricsHost) ?? metricsHost
        drainTimeout = try c.decodeIfPresent(Double.self, forKey: .drainTimeout) ?? drainTimeout
        queryFiles = try c.decodeStrings(forKey: .queryFiles) ?? []
        queryImages = try c.decodeStrings(forKey: .queryImages) ?? []
        queryImageCrops = try c.decodeIfPresent(Bool.self, forKey: .queryImageCrops) ?? false
        queryMoments = try c.decodeStrings(forKey: .queryMoments) ?? []
    }

    /// Writes the whole spec as a pipeline file's mapping.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encodeIfPresent(model, forKey: .model)
        try c.encode(sources, forKey: .sources)
        try c.encode(queries, forKey: .queries)
        try c.encode(match, forKey: .match)
        try c.encodeIfPresent(labels, forKey: .labels)
        try c.encodeIfPresent(captions, forKey: .captions)
        try c.encode(self.encoder, forKey: .encoder)
        try c.encode(outputs, forKey: .outputs)
        try c.encodeIfPresent(metricsPort, forKey: .metricsPort)
        try c.encode(metricsHost, forKey: .metricsHost)
        try c.encode(drainTimeout, forKey: .drainTimeout)
        if !queryFiles.isEmpty { try c.encode(queryFiles, forKey: .queryFiles) }
        if !queryImages.isEmpty { try c.encode(queryImages, forKey: .queryImages) }
        if queryImageCrops { try c.encode(queryImageCrops, forKey: .queryImageCrops) }
        if !queryMoments.isEmpty { try c.encode(queryMoments, forKey: .queryMoments) }
    }
}

extension SourceSpec: Codable {
    enum Keys: String, CodingKey, CaseIterable {
        case name, url, sampling, tiles, gate, live
        case inputOptions = "input_options"
        case stdinSpoolLimitMB = "stdin_spool_limit_mb"
    }

    /// The `live:` section: the decoder queue's `policy` and `queue`, and VLMVideo's live-input options.
    enum LiveKeys: String, CodingKey, CaseIterable {
        case policy, queue
        case ioTimeout = "io_timeout"
        case reconnectMaxDelay = "reconnect_max_delay"
        case reconnectAttempts = "reconnect_attempts"
        case rtspTransport = "rtsp_transport"
    }

    /// Decodes one `sources:` entry: `{name, url, sampling: {fps: 2}, tiles: 2x2, gate: {threshold: 4},
    /// live: {policy: keep-latest, queue: 4, io_timeout: 10, reconnect_max_delay: 30, reconnect_attempts: 20,
    /// rtsp_transport: tcp}, input_options: {video_size: 1280x720}}`.
    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(Keys.self)
        let c = try decoder.container(keyedBy: Keys.self)
        var options = VideoSourceOptions()
        options.sampling = try c.decodeIfPresent(SamplingPolicy.self, forKey: .sampling) ?? options.sampling
        options.tiles = try c.decodeIfPresent(TileGrid.self, forKey: .tiles)
        options.formatOptions = try c.decodeIfPresent([String: String].self, forKey: .inputOptions) ?? [:]
        if let mb = try c.decodeIfPresent(Int64.self, forKey: .stdinSpoolLimitMB) {
            options.pipeSpoolLimitMiB = mb
        }
        var live = LiveSpec()
        if c.contains(.live) {
            let liveDecoder = try c.superDecoder(forKey: .live)
            try liveDecoder.rejectUnknownKeys(LiveKeys.self)
            let l = try liveDecoder.container(keyedBy: LiveKeys.self)
            if let text = try l.decodeIfPresent(String.self, forKey: .policy) {
                guard let policy = QueuePolicy(rawValue: text) else {
                    throw DecodingError.dataCorruptedError(
                        forKey: .policy, in: l,
                        debugDescription: "unknown policy '\(text)' (use block, drop-oldest or keep-latest)")
                }
                live.policy = policy
            }
            live.queue = try l.decodeIfPresent(Int.self, forKey: .queue) ?? live.queue
            options.ioTimeout = try l.decodeIfPresent(Double.self, forKey: .ioTimeout) ?? options.ioTimeout
            options.reconnect.maxDelay =
                try l.decodeIfPresent(Double.self, forKey: .reconnectMaxDelay) ?? options.reconnect.maxDelay
            options.reconnect.maxAttempts = try l.decodeIfPresent(Int.self, forKey: .reconnectAttempts)
            options.rtspTransport = try l.decodeIfPresent(String.self, forKey: .rtspTransport) ?? options.rtspTransport
        }
        self.init(
            name: try c.decodeIfPresent(String.self, forKey: .name), url: try c.decode(String.self, forKey: .url),
            options: options, gate: try c.decodeIfPresent(SceneChangeGate.Configuration.self, forKey: .gate),
            live: live)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encodeIfPresent(name, forKey: .name)
        try c.encode(url, forKey: .url)
        try c.encode(options.sampling, forKey: .sampling)
        try c.encodeIfPresent(options.tiles, forKey: .tiles)
        try c.encodeIfPresent(gate, forKey: .gate)
        var l = c.nestedContainer(keyedBy: LiveKeys.self, forKey: .live)
        try l.encodeIfPresent(live.policy?.rawValue, forKey: .policy)
        try l.encode(live.queue, forKey: .queue)
        try l.encode(options.ioTimeout, forKey: .ioTimeout)
        try l.encode(options.reconnect.maxDelay, forKey: .reconnectMaxDelay)
        try l.encodeIfPresent(options.reconnect.maxAttempts, forKey: .reconnectAttempts)
        try l.encode(options.rtspTransport, forKey: .rtspTransport)
        if !options.formatOptions.isEmpty { try c.encode(options.formatOptions, forKey: .inputOptions) }
        if options.pipeSpoolLimit != VideoSourceOptions().pipeSpoolLimit {
            try c.encode(options.pipeSpoolLimitMiB, forKey: .stdinSpoolLimitMB)
        }
    }
}

extension LabelsSpec: Codable {
    enum Keys: String, CodingKey, CaseIterable { case labels, top }

    /// Decodes `labels: {labels: [person, car], top: 3}`.
    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(Keys.self)
        let c = try decoder.container(keyedBy: Keys.self)
        self.init(
            labels: try c.decodeStrings(forKey: .labels) ?? [], top: try c.decodeIfPresent(Int.self, forKey: .top))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(labels, forKey: .labels)
        try c.encodeIfPresent(top, forKey: .top)
    }
}

extension EncoderSpec: Codable {
    enum Keys: String, CodingKey, CaseIterable {
        case batch, workers, threads, precision
        case latencyMs = "latency_ms"
        case maxInFlight = "max_in_flight"
    }

    /// Decodes `encoder: {batch: 8, latency_ms: 50, workers: 1, threads: 2, max_in_flight: 16, precision: int8}`.
    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(Keys.self)
        let c = try decoder.container(keyedBy: Keys.self)
        self.init()
        batch = try c.decodeIfPresent(Int.self, forKey: .batch) ?? batch
        latencyMs = try c.decodeIfPresent(Double.self, forKey: .latencyMs) ?? latencyMs
        workers = try c.decodeIfPresent(Int.self, forKey: .workers) ?? workers
        threads = try c.decodeIfPresent(Int.self, forKey: .threads)
        maxInFlight = try c.decodeIfPresent(Int.self, forKey: .maxInFlight)
        if let name = try c.decodeIfPresent(String.self, forKey: .precision) {
            guard let value = Precision(rawValue: name) else {
                throw DecodingError.dataCorruptedError(
                    forKey: .precision, in: c, debugDescription: "must be fp32 or int8, not '\(name)'")
            }
            precision = value
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(batch, forKey: .batch)
        try c.encode(latencyMs, forKey: .latencyMs)
        try c.encode(workers, forKey: .workers)
        try c.encodeIfPresent(threads, forKey: .threads)
        try c.encodeIfPresent(maxInFlight, forKey: .maxInFlight)
        try c.encodeIfPresent(precision, forKey: .precision)
    }
}

extension OutputsSpec: Codable {
    enum Keys: String, CodingKey, CaseIterable { case terminal, json, srt, vtt, mqtt }

    /// Decodes `outputs: {json: results.jsonl, srt: captions.srt, mqtt: {…}}` (`mqtt:` is VLMPublish's
    /// `MQTTSettings`, see docs/pipeline.md for its keys).
    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(Keys.self)
        let c = try decoder.container(keyedBy: Keys.self)
        self.init(
            terminal: try c.decodeIfPresent(Bool.self, forKey: .terminal),
            json: try c.decodeIfPresent(String.self, forKey: .json),
            srt: try c.decodeIfPresent(String.self, forKey: .srt),
            vtt: try c.decodeIfPresent(String.self, forKey: .vtt),
            mqtt: try c.decodeIfPresent(MQTTSettings.self, forKey: .mqtt))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encodeIfPresent(terminal, forKey: .terminal)
        try c.encodeIfPresent(json, forKey: .json)
        try c.encodeIfPresent(srt, forKey: .srt)
        try c.encodeIfPresent(vtt, forKey: .vtt)
        try c.encodeIfPresent(mqtt, forKey: .mqtt)
    }
}
