import VLMGraph
import VLMMatch

// Every mapping of a pipeline file decodes strictly: unknown keys are errors, absent keys take defaults.

extension PipelineSpec: Decodable {
    enum Keys: String, CodingKey, CaseIterable {
        case model, sources, queries, match, labels, captions, encoder, outputs
        case metricsPort = "metrics_port"
        case metricsHost = "metrics_host"
    }

    /// Decodes a pipeline file's top-level mapping.
    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(Keys.self)
        let c = try decoder.container(keyedBy: Keys.self)
        self.init(
            model: try c.decodeIfPresent(String.self, forKey: .model),
            sources: try c.decode([SourceSpec].self, forKey: .sources),
            queries: try c.decodeIfPresent([String].self, forKey: .queries) ?? [],
            match: try c.decodeIfPresent(MatchSettings.self, forKey: .match) ?? MatchSettings(),
            labels: try c.decodeIfPresent(LabelsSpec.self, forKey: .labels),
            captions: try c.decodeIfPresent(CaptionsSpec.self, forKey: .captions),
            encoder: try c.decodeIfPresent(EncoderSpec.self, forKey: .encoder) ?? EncoderSpec(),
            outputs: try c.decodeIfPresent(OutputsSpec.self, forKey: .outputs) ?? OutputsSpec(),
            metricsPort: try c.decodeIfPresent(Int.self, forKey: .metricsPort),
            metricsHost: try c.decodeIfPresent(String.self, forKey: .metricsHost) ?? "127.0.0.1")
    }
}

extension SourceSpec: Decodable {
    enum Keys: String, CodingKey, CaseIterable {
        case name, url, sampling, tiles, gate, live
        case inputOptions = "input_options"
    }

    /// Decodes one `sources:` entry.
    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(Keys.self)
        let c = try decoder.container(keyedBy: Keys.self)
        self.init(
            name: try c.decodeIfPresent(String.self, forKey: .name),
            url: try c.decode(String.self, forKey: .url),
            sampling: try c.decodeIfPresent(SamplingSpec.self, forKey: .sampling) ?? SamplingSpec(),
            tiles: try c.decodeIfPresent(String.self, forKey: .tiles),
            gate: try c.decodeIfPresent(GateSpec.self, forKey: .gate),
            live: try c.decodeIfPresent(LiveSpec.self, forKey: .live) ?? LiveSpec(),
            inputOptions: try c.decodeIfPresent([String: String].self, forKey: .inputOptions) ?? [:])
    }
}

extension SamplingSpec: Decodable {
    enum Keys: String, CodingKey, CaseIterable { case fps, every, keyframes }

    /// Decodes `sampling: {fps: 2}` / `{every: 5}` / `{keyframes: true}`.
    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(Keys.self)
        let c = try decoder.container(keyedBy: Keys.self)
        self.init(
            fps: try c.decodeIfPresent(Double.self, forKey: .fps),
            every: try c.decodeIfPresent(Int.self, forKey: .every),
            keyframes: try c.decodeIfPresent(Bool.self, forKey: .keyframes) ?? false)
    }
}

extension GateSpec: Decodable {
    enum Keys: String, CodingKey, CaseIterable {
        case threshold
        case maxReuse = "max_reuse"
    }

    /// Decodes `gate: {threshold: 4, max_reuse: 5}`.
    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(Keys.self)
        let c = try decoder.container(keyedBy: Keys.self)
        let defaults = GateSpec()
        self.init(
            threshold: try c.decodeIfPresent(Double.self, forKey: .threshold) ?? defaults.threshold,
            maxReuse: try c.decodeIfPresent(Double.self, forKey: .maxReuse) ?? defaults.maxReuse)
    }
}

extension LiveSpec: Decodable {
    enum Keys: String, CodingKey, CaseIterable {
        case policy, queue
        case ioTimeout = "io_timeout"
        case reconnectMaxDelay = "reconnect_max_delay"
        case reconnectAttempts = "reconnect_attempts"
    }

    /// Decodes `live: {policy: keep-latest, queue: 4, io_timeout: 10, …}`.
    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(Keys.self)
        let c = try decoder.container(keyedBy: Keys.self)
        let d = LiveSpec()
        var policy: QueuePolicy?
        if let text = try c.decodeIfPresent(String.self, forKey: .policy) {
            guard let parsed = QueuePolicy(rawValue: text) else {
                throw DecodingError.dataCorruptedError(
                    forKey: .policy, in: c,
                    debugDescription: "unknown policy '\(text)' (use block, drop-oldest or keep-latest)")
            }
            policy = parsed
        }
        self.init(
            policy: policy, queue: try c.decodeIfPresent(Int.self, forKey: .queue) ?? d.queue,
            ioTimeout: try c.decodeIfPresent(Double.self, forKey: .ioTimeout) ?? d.ioTimeout,
            reconnectMaxDelay: try c.decodeIfPresent(Double.self, forKey: .reconnectMaxDelay) ?? d.reconnectMaxDelay,
            reconnectAttempts: try c.decodeIfPresent(Int.self, forKey: .reconnectAttempts))
    }
}

extension LabelsSpec: Decodable {
    enum Keys: String, CodingKey, CaseIterable { case labels, top }

    /// Decodes `labels: {labels: [person, car], top: 3}`.
    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(Keys.self)
        let c = try decoder.container(keyedBy: Keys.self)
        self.init(
            labels: try c.decode([String].self, forKey: .labels), top: try c.decodeIfPresent(Int.self, forKey: .top))
    }
}

extension CaptionsSpec: Decodable {
    enum Keys: String, CodingKey, CaseIterable {
        case window, drift, vocabulary, beam, cache
        case maxInterval = "max_interval"
        case minInterval = "min_interval"
    }

    /// Decodes `captions: {window: 2, drift: 0.05, max_interval: 10, min_interval: 1, vocabulary: FILE, beam: 8,
    /// cache: DIR}`.
    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(Keys.self)
        let c = try decoder.container(keyedBy: Keys.self)
        let d = CaptionsSpec()
        self.init(
            window: try c.decodeIfPresent(Double.self, forKey: .window) ?? d.window,
            drift: try c.decodeIfPresent(Double.self, forKey: .drift) ?? d.drift,
            maxInterval: try c.decodeIfPresent(Double.self, forKey: .maxInterval) ?? d.maxInterval,
            minInterval: try c.decodeIfPresent(Double.self, forKey: .minInterval) ?? d.minInterval,
            vocabulary: try c.decodeIfPresent(String.self, forKey: .vocabulary),
            beam: try c.decodeIfPresent(Int.self, forKey: .beam) ?? d.beam,
            cache: try c.decodeIfPresent(String.self, forKey: .cache))
    }
}

extension EncoderSpec: Decodable {
    enum Keys: String, CodingKey, CaseIterable {
        case batch, workers, threads
        case latencyMs = "latency_ms"
        case maxInFlight = "max_in_flight"
    }

    /// Decodes `encoder: {batch: 8, latency_ms: 50, workers: 1, threads: 2, max_in_flight: 16}`.
    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(Keys.self)
        let c = try decoder.container(keyedBy: Keys.self)
        let d = EncoderSpec()
        self.init(
            batch: try c.decodeIfPresent(Int.self, forKey: .batch) ?? d.batch,
            latencyMs: try c.decodeIfPresent(Double.self, forKey: .latencyMs) ?? d.latencyMs,
            workers: try c.decodeIfPresent(Int.self, forKey: .workers) ?? d.workers,
            threads: try c.decodeIfPresent(Int.self, forKey: .threads),
            maxInFlight: try c.decodeIfPresent(Int.self, forKey: .maxInFlight))
    }
}

extension OutputsSpec: Decodable {
    enum Keys: String, CodingKey, CaseIterable { case terminal, json, srt, vtt, mqtt }

    /// Decodes `outputs: {json: results.jsonl, srt: captions.srt, mqtt: {…}}`.
    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(Keys.self)
        let c = try decoder.container(keyedBy: Keys.self)
        self.init(
            terminal: try c.decodeIfPresent(Bool.self, forKey: .terminal),
            json: try c.decodeIfPresent(String.self, forKey: .json),
            srt: try c.decodeIfPresent(String.self, forKey: .srt),
            vtt: try c.decodeIfPresent(String.self, forKey: .vtt),
            mqtt: try c.decodeIfPresent(MQTTSpec.self, forKey: .mqtt))
    }
}

extension MQTTSpec: Decodable {
    enum Keys: String, CodingKey, CaseIterable {
        case host, port, qos, username, password, url, prefix, tls, ca, cert, key, thumbnails, outbox
        case topicPrefix = "topic_prefix"
        case clientID = "client_id"
        case statsInterval = "stats_interval"
    }

    /// Decodes `mqtt: {host: broker.local, port: 1883, topic_prefix: vlm, qos: 1}` or, with the CLI's keys,
    /// `mqtt: {url: "mqtts://user:pass@broker:8883", prefix: vlm, ca: ca.pem, thumbnails: true}`.
    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(Keys.self)
        let c = try decoder.container(keyedBy: Keys.self)
        let d = MQTTSpec()
        self.init(
            host: try c.decodeIfPresent(String.self, forKey: .host) ?? d.host,
            port: try c.decodeIfPresent(Int.self, forKey: .port) ?? d.port,
            topicPrefix: try c.decodeIfPresent(String.self, forKey: .topicPrefix)
                ?? c.decodeIfPresent(String.self, forKey: .prefix) ?? d.topicPrefix,
            clientID: try c.decodeIfPresent(String.self, forKey: .clientID),
            qos: try c.decodeIfPresent(Int.self, forKey: .qos) ?? d.qos,
            username: try c.decodeIfPresent(String.self, forKey: .username),
            password: try c.decodeIfPresent(String.self, forKey: .password),
            tls: try c.decodeIfPresent(Bool.self, forKey: .tls) ?? false,
            caFile: try c.decodeIfPresent(String.self, forKey: .ca),
            certFile: try c.decodeIfPresent(String.self, forKey: .cert),
            keyFile: try c.decodeIfPresent(String.self, forKey: .key),
            thumbnails: try c.decodeIfPresent(Bool.self, forKey: .thumbnails) ?? false,
            outbox: try c.decodeIfPresent(String.self, forKey: .outbox),
            statsInterval: try c.decodeIfPresent(Double.self, forKey: .statsInterval))
        if let url = try c.decodeIfPresent(String.self, forKey: .url) {
            try applyURL(url, codingPath: decoder.codingPath + [Keys.url])
        }
    }
}
