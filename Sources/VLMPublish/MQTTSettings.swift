import Foundation

/// Everything `--mqtt*` flags or a pipeline file's `mqtt:` section say about publishing.
public struct MQTTSettings: Sendable, Equatable {
    /// Broker address parsed from `mqtt://[user:pass@]host[:port]` or `mqtts://...`.
    public struct Broker: Sendable, Equatable {
        /// Host name or address.
        public var host: String
        /// TCP port.
        public var port: Int
        /// User name, when the broker wants one.
        public var username: String?
        /// Password for `username`.
        public var password: String?
        /// `mqtts://`: TLS with the broker's certificate verified.
        public var tls: Bool

        /// A broker address.
        public init(host: String, port: Int, username: String? = nil, password: String? = nil, tls: Bool = false) {
            self.host = host
            self.port = port
            self.username = username
            self.password = password
            self.tls = tls
        }

        /// The URL without credentials, for logs and error messages.
        public var redacted: String { "\(tls ? "mqtts" : "mqtt")://\(host):\(port)" }
    }

    /// TLS files (PEM). Without `caFile` the operating system's trust store is used.
    public struct TLSFiles: Sendable, Equatable {
        /// CA certificate that signed the broker's certificate.
        public var caFile: String?
        /// Client certificate, for brokers that require one.
        public var certFile: String?
        /// Private key of `certFile`.
        public var keyFile: String?

        /// TLS files; all optional.
        public init(caFile: String? = nil, certFile: String? = nil, keyFile: String? = nil) {
            self.caFile = caFile
            self.certFile = certFile
            self.keyFile = keyFile
        }
    }

    /// Where to connect.
    public var broker: Broker
    /// PEM files for `mqtts://`.
    public var tlsFiles: TLSFiles
    /// Topic prefix: messages go to `<prefix>/<stream>/<kind>`.
    public var prefix: String
    /// Fixed client id base; each stream connects as `<clientID>-<stream>` so its Last Will is its own.
    public var clientID: String
    /// QoS for events, captions, labels and the retained status/queries topics (0, 1 or 2).
    public var qos: Int
    /// Seconds between keepalive pings (the Last Will fires at once on a dropped socket, else after 1.5×).
    public var keepalive: Int
    /// Attach a JPEG of the event's peak frame (base64) to events.
    public var thumbnails: Bool
    /// Largest thumbnail JPEG in bytes; bigger ones are re-encoded smaller or left out.
    public var thumbnailMaxBytes: Int
    /// Seconds between `stats` messages (0 turns them off).
    public var statsInterval: Double
    /// Directory of the on-disk outboxes (one subdirectory per client id).
    public var outboxDirectory: String
    /// Most messages kept unacknowledged; the oldest are dropped (and counted) past this.
    public var outboxLimit: Int
    /// QoS≥1 messages handed to libmosquitto before waiting for their PUBACKs.
    public var maxInflight: Int
    /// Seconds `finish()` waits for the outbox to drain before giving up (what is left stays on disk).
    public var flushDeadline: Double
    /// Seconds a QoS≥1 message may stay unacknowledged on a live connection before the connection is dropped and
    /// made again, so libmosquitto resends it (MQTT 3.1.1 never retries on a live connection). Not a file key.
    public var ackTimeout: Double = 30

    /// Settings with the documented defaults.
    public init(
        broker: Broker, tlsFiles: TLSFiles = TLSFiles(), prefix: String = "vlm", clientID: String? = nil,
        qos: Int = 1, keepalive: Int = 10, thumbnails: Bool = false, thumbnailMaxBytes: Int = 24_576,
        statsInterval: Double = 10, outboxDirectory: String? = nil, outboxLimit: Int = 10_000, maxInflight: Int = 1,
        flushDeadline: Double = 5
    ) {
        self.broker = broker
        self.tlsFiles = tlsFiles
        self.prefix = prefix
        self.clientID = clientID ?? MQTTSettings.defaultClientID()
        self.qos = qos
        self.keepalive = keepalive
        self.thumbnails = thumbnails
        self.thumbnailMaxBytes = thumbnailMaxBytes
        self.statsInterval = statsInterval
        self.outboxDirectory = outboxDirectory ?? MQTTSettings.defaultOutboxDirectory()
        self.outboxLimit = outboxLimit
        self.maxInflight = maxInflight
        self.flushDeadline = flushDeadline
    }

    /// Settings for `url` with everything else at its default.
    public init(url: String) throws {
        self.init(broker: try MQTTSettings.parseURL(url))
    }

    // MARK: - Validation

    /// Throws `MQTTError.invalidSetting` naming (by its file key) the first setting that cannot work. The one check
    /// of these settings: a pipeline file reports the key as `outputs.mqtt.<key>`, the command line as its flag.
    public func validate() throws {
        func bad(_ key: String, _ reason: String) -> MQTTError { .invalidSetting(key: key, reason: reason) }
        guard !broker.host.isEmpty else { throw bad("host", "is empty; name the broker") }
        guard (1...65535).contains(broker.port) else { throw bad("port", "\(broker.port) is not a TCP port (1-65535)") }
        guard (0...2).contains(qos) else { throw bad("qos", "\(qos) must be 0, 1 or 2") }
        guard !prefix.isEmpty, !prefix.contains(where: { "+#\0".contains($0) }), !prefix.hasSuffix("/") else {
            throw bad("topic_prefix", "'\(prefix)' must be non-empty, without '+', '#' or a trailing '/'")
        }
        guard keepalive >= 5 else { throw bad("keepalive", "\(keepalive) must be at least 5 seconds") }
        guard outboxLimit >= 1 else { throw bad("outbox_limit", "\(outboxLimit) must be at least 1 message") }
        guard maxInflight >= 1 else { throw bad("max_inflight", "\(maxInflight) must be at least 1 message") }
        guard thumbnailMaxBytes >= 1024 else {
            throw bad("thumbnail_max_bytes", "\(thumbnailMaxBytes) must be at least 1024 bytes")
        }
        guard statsInterval >= 0, statsInterval.isFinite else {
            throw bad("stats_interval", "\(statsInterval) must be 0 (off) or more seconds")
        }
        guard ackTimeout > 0, ackTimeout.isFinite else { throw bad("ack_timeout", "\(ackTimeout) must be positive seconds") }
        guard flushDeadline >= 0, flushDeadline.isFinite else {
            throw bad("flush_deadline", "\(flushDeadline) must be 0 or more seconds")
        }
        for case (let key, let path?) in [
            ("ca", tlsFiles.caFile), ("cert", tlsFiles.certFile), ("key", tlsFiles.keyFile),
        ] {
            guard FileManager.default.isReadableFile(atPath: path) else {
                throw bad(key, "'\(path)' cannot be read; check the path")
            }
            guard broker.tls else { throw bad(key, "needs TLS: an mqtts:// URL (or tls: true)") }
        }
        if (tlsFiles.certFile == nil) != (tlsFiles.keyFile == nil) {
            throw bad(tlsFiles.certFile == nil ? "cert" : "key", "a client certificate and its key go together")
        }
    }

    // MARK: - URL

    /// Parses `mqtt://[user:pass@]host[:port]` (default port 1883) or `mqtts://` (default 8883).
    public static func parseURL(_ text: String) throws -> Broker {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased() else {
            throw MQTTError.invalidURL(text, reason: "not a URL")
        }
        guard scheme == "mqtt" || scheme == "mqtts" else {
            throw MQTTError.invalidURL(text, reason: "scheme must be mqtt or mqtts, not '\(scheme)'")
        }
        guard var host = components.host, !host.isEmpty else {
            throw MQTTError.invalidURL(text, reason: "no host")
        }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard components.path.isEmpty || components.path == "/", components.query == nil else {
            throw MQTTError.invalidURL(text, reason: "no path or query expected (use --mqtt-prefix for topics)")
        }
        let tls = scheme == "mqtts"
        let port = components.port ?? (tls ? 8883 : 1883)
        guard (1...65535).contains(port) else { throw MQTTError.invalidURL(text, reason: "port \(port)") }
        return Broker(
            host: host, port: port, username: components.user?.removingPercentEncoding,
            password: components.password?.removingPercentEncoding, tls: tls)
    }

    // MARK: - Defaults

    /// `vlm-stream-<hostname>`: fixed across runs, so the broker keeps this publisher's session.
    public static func defaultClientID() -> String {
        let host = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "host"
        return "vlm-stream-" + host
    }

    /// `$XDG_STATE_HOME/vlm-stream/mqtt-outbox` or `~/.local/state/vlm-stream/mqtt-outbox`.
    public static func defaultOutboxDirectory() -> String {
        let env = ProcessInfo.processInfo.environment
        let base =
            env["XDG_STATE_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? (NSHomeDirectory() + "/.local/state")
        return base + "/vlm-stream/mqtt-outbox"
    }
}
