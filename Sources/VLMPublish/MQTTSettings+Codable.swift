import VLMCore

// MARK: - YAML keys

extension MQTTSettings: Codable {
    /// The keys of a pipeline file's `outputs.mqtt:` mapping (snake_case, flat: the broker's fields sit beside the
    /// topic and outbox settings).
    enum CodingKeys: String, CodingKey, CaseIterable {
        case url, host, port, tls, username, password, ca, cert, key, prefix, qos, keepalive, thumbnails, outbox
        case topicPrefix = "topic_prefix"
        case clientID = "client_id"
        case thumbnailMaxBytes = "thumbnail_max_bytes"
        case statsInterval = "stats_interval"
        case outboxLimit = "outbox_limit"
        case maxInflight = "max_inflight"
        case flushDeadline = "flush_deadline"
    }

    /// Decodes `{host: broker.local, port: 1883, topic_prefix: vlm, qos: 1}` or, with the command line's spelling,
    /// `{url: "mqtts://user:pass@broker:8883", prefix: vlm, ca: ca.pem, thumbnails: true}`. Every key is optional
    /// (the broker defaults to `localhost` on 1883, or 8883 with `tls: true`); `host`/`port`/`tls`/`username`/
    /// `password` given beside `url` override its parts. Unknown keys are errors. Does not validate.
    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        var broker = Broker(host: "localhost", port: 1883)
        if let url = try c.decodeIfPresent(String.self, forKey: .url) {
            do {
                broker = try MQTTSettings.parseURL(url)
            } catch let error as MQTTError {
                throw DecodingError.dataCorruptedError(forKey: .url, in: c, debugDescription: error.description)
            }
        }
        broker.tls = try c.decodeIfPresent(Bool.self, forKey: .tls) ?? broker.tls
        broker.host = try c.decodeIfPresent(String.self, forKey: .host) ?? broker.host
        let urlPort = c.contains(.url) ? broker.port : (broker.tls ? 8883 : 1883)
        broker.port = try c.decodeIfPresent(Int.self, forKey: .port) ?? urlPort
        broker.username = try c.decodeIfPresent(String.self, forKey: .username) ?? broker.username
        broker.password = try c.decodeIfPresent(String.self, forKey: .password) ?? broker.password
        self.init(broker: broker)
        tlsFiles = TLSFiles(
            caFile: try c.decodeIfPresent(String.self, forKey: .ca),
            certFile: try c.decodeIfPresent(String.self, forKey: .cert),
            keyFile: try c.decodeIfPresent(String.self, forKey: .key))
        prefix =
            try c.decodeIfPresent(String.self, forKey: .topicPrefix) ?? c.decodeIfPresent(String.self, forKey: .prefix)
            ?? prefix
        clientID = try c.decodeIfPresent(String.self, forKey: .clientID) ?? clientID
        qos = try c.decodeIfPresent(Int.self, forKey: .qos) ?? qos
        keepalive = try c.decodeIfPresent(Int.self, forKey: .keepalive) ?? keepalive
        thumbnails = try c.decodeIfPresent(Bool.self, forKey: .thumbnails) ?? thumbnails
        thumbnailMaxBytes = try c.decodeIfPresent(Int.self, forKey: .thumbnailMaxBytes) ?? thumbnailMaxBytes
        statsInterval = try c.decodeIfPresent(Double.self, forKey: .statsInterval) ?? statsInterval
        outboxDirectory = try c.decodeIfPresent(String.self, forKey: .outbox) ?? outboxDirectory
        outboxLimit = try c.decodeIfPresent(Int.self, forKey: .outboxLimit) ?? outboxLimit
        maxInflight = try c.decodeIfPresent(Int.self, forKey: .maxInflight) ?? maxInflight
        flushDeadline = try c.decodeIfPresent(Double.self, forKey: .flushDeadline) ?? flushDeadline
    }

    /// Encodes every setting under its file key (the broker as `host`/`port`/`tls`/`username`/`password`), so the
    /// output reads back to equal settings.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(broker.host, forKey: .host)
        try c.encode(broker.port, forKey: .port)
        try c.encode(broker.tls, forKey: .tls)
        try c.encodeIfPresent(broker.username, forKey: .username)
        try c.encodeIfPresent(broker.password, forKey: .password)
        try c.encodeIfPresent(tlsFiles.caFile, forKey: .ca)
        try c.encodeIfPresent(tlsFiles.certFile, forKey: .cert)
        try c.encodeIfPresent(tlsFiles.keyFile, forKey: .key)
        try c.encode(prefix, forKey: .topicPrefix)
        try c.encode(clientID, forKey: .clientID)
        try c.encode(qos, forKey: .qos)
        try c.encode(keepalive, forKey: .keepalive)
        try c.encode(thumbnails, forKey: .thumbnails)
        try c.encode(thumbnailMaxBytes, forKey: .thumbnailMaxBytes)
        try c.encode(statsInterval, forKey: .statsInterval)
        try c.encode(outboxDirectory, forKey: .outbox)
        try c.encode(outboxLimit, forKey: .outboxLimit)
        try c.encode(maxInflight, forKey: .maxInflight)
        try c.encode(flushDeadline, forKey: .flushDeadline)
    }
}
