import ArgumentParser
import Foundation
import VLMCore
import VLMPipeline
import VLMPublish

/// `--mqtt*` flags: publish results to an MQTT broker and take query changes from it (shared by `run`).
///
/// Precedence: built-in defaults < the pipeline file's `outputs.mqtt` < flags.
struct MQTTOptions: ParsableArguments {
    private static let defaults = MQTTSettings(broker: .init(host: "localhost", port: 1883))

    @Option(
        name: .customLong("mqtt"),
        help: ArgumentHelp(
            "Publish to this broker: mqtt://[user:pass@]host[:port] (1883) or mqtts://… (8883).", valueName: "url"))
    var url: String?

    @Option(
        name: .customLong("mqtt-prefix"),
        help: "Topic prefix: topics are <prefix>/<stream>/events etc. Default \(defaults.prefix).")
    var prefix: String?

    @Option(
        name: .customLong("mqtt-client-id"),
        help: "Fixed client id (each stream connects as <id>-<stream>). Default vlm-stream-<hostname>.")
    var clientID: String?

    @Option(
        name: .customLong("mqtt-qos"), help: "QoS of events, captions and labels: 0, 1 or 2. Default \(defaults.qos).")
    var qos: Int?

    @Option(name: .customLong("mqtt-ca"), help: "CA certificate (PEM) for mqtts:// (default: the system's).")
    var caFile: String?

    @Option(name: .customLong("mqtt-cert"), help: "Client certificate (PEM) for mqtts://, with --mqtt-key.")
    var certFile: String?

    @Option(name: .customLong("mqtt-key"), help: "Client private key (PEM) for mqtts://, with --mqtt-cert.")
    var keyFile: String?

    @Flag(name: .customLong("mqtt-thumbnails"), help: "Attach a JPEG of the peak frame (base64) to start/end events.")
    var thumbnails = false

    @Option(
        name: .customLong("mqtt-outbox"),
        help: "Directory of the on-disk outbox (default $XDG_STATE_HOME/vlm-stream/mqtt-outbox).")
    var outbox: String?

    @Option(
        name: .customLong("mqtt-stats-interval"),
        help: "Seconds between stats messages; 0 = none. Default \(defaults.statsInterval).")
    var statsInterval: Double?

    @Option(
        name: .customLong("mqtt-keepalive"),
        help:
            "Seconds between keepalive pings (the Last Will fires after 1.5x without one). Default \(defaults.keepalive)."
    )
    var keepalive: Int?

    @Option(
        name: .customLong("mqtt-outbox-limit"),
        help:
            "Most unacknowledged messages kept on disk; the oldest are dropped past it. Default \(defaults.outboxLimit)."
    )
    var outboxLimit: Int?

    @Option(
        name: .customLong("mqtt-max-inflight"),
        help:
            "QoS 1/2 messages handed to the broker before waiting for their acknowledgements. Default \(defaults.maxInflight)."
    )
    var maxInflight: Int?

    @Option(
        name: .customLong("mqtt-thumbnail-max-bytes"),
        help:
            "Largest thumbnail JPEG; bigger ones are re-encoded smaller or left out. Default \(defaults.thumbnailMaxBytes)."
    )
    var thumbnailMaxBytes: Int?

    func validate() throws {
        do {
            _ = try settings()
        } catch let error as MQTTError {
            throw ValidationError(Self.naming(error).description)
        }
    }

    /// The option that sets each `MQTTSettings` file key.
    static let flags = [
        "topic_prefix": "--mqtt-prefix", "qos": "--mqtt-qos", "keepalive": "--mqtt-keepalive",
        "outbox_limit": "--mqtt-outbox-limit", "max_inflight": "--mqtt-max-inflight",
        "thumbnail_max_bytes": "--mqtt-thumbnail-max-bytes", "stats_interval": "--mqtt-stats-interval",
        "ca": "--mqtt-ca", "cert": "--mqtt-cert", "key": "--mqtt-key", "host": "--mqtt", "port": "--mqtt",
    ]

    /// `error` with the setting named by its flag (`--mqtt-keepalive: 3 must be …`).
    static func naming(_ error: MQTTError) -> any UserFacingError {
        guard case .invalidSetting(let key, let reason) = error else { return error }
        return OptionError("\(flags[key] ?? key): \(reason)")
    }

    /// The `--mqtt-*` options given besides `--mqtt`.
    var given: [String] {
        let options: [(String, Bool)] = [
            ("--mqtt-prefix", prefix != nil), ("--mqtt-client-id", clientID != nil), ("--mqtt-qos", qos != nil),
            ("--mqtt-ca", caFile != nil), ("--mqtt-cert", certFile != nil), ("--mqtt-key", keyFile != nil),
            ("--mqtt-thumbnails", thumbnails), ("--mqtt-outbox", outbox != nil),
            ("--mqtt-stats-interval", statsInterval != nil), ("--mqtt-keepalive", keepalive != nil),
            ("--mqtt-outbox-limit", outboxLimit != nil), ("--mqtt-max-inflight", maxInflight != nil),
            ("--mqtt-thumbnail-max-bytes", thumbnailMaxBytes != nil),
        ]
        return options.filter(\.1).map(\.0)
    }

    /// Layers the given options over the spec's `outputs.mqtt` (or starts it with `--mqtt`).
    func apply(to spec: inout PipelineSpec) throws {
        let merged: MQTTSettings?
        do {
            merged = try settings(base: spec.outputs.mqtt)
        } catch let error as MQTTError {
            throw Self.naming(error)
        }
        guard let settings = merged else {
            let names = given
            guard names.isEmpty else {
                throw OptionError(
                    "\(names.joined(separator: ", ")) need\(names.count == 1 ? "s" : "") a broker: give --mqtt <url> "
                        + "(or outputs.mqtt in the pipeline file)")
            }
            return
        }
        spec.outputs.mqtt = settings
    }

    /// The effective settings (nil without `--mqtt` and without `base`): `base` from a pipeline file, then flags.
    func settings(base: MQTTSettings? = nil) throws -> MQTTSettings? {
        var settings: MQTTSettings
        if let url {
            let broker = try MQTTSettings.parseURL(url)
            if var base {
                base.broker = broker
                settings = base
            } else {
                settings = MQTTSettings(broker: broker)
            }
        } else if let base {
            settings = base
        } else {
            return nil
        }
        if let prefix { settings.prefix = prefix }
        if let clientID { settings.clientID = clientID }
        if let qos { settings.qos = qos }
        if let caFile { settings.tlsFiles.caFile = caFile }
        if let certFile { settings.tlsFiles.certFile = certFile }
        if let keyFile { settings.tlsFiles.keyFile = keyFile }
        if thumbnails { settings.thumbnails = true }
        if let outbox { settings.outboxDirectory = outbox }
        if let statsInterval { settings.statsInterval = statsInterval }
        if let keepalive { settings.keepalive = keepalive }
        if let outboxLimit { settings.outboxLimit = outboxLimit }
        if let maxInflight { settings.maxInflight = maxInflight }
        if let thumbnailMaxBytes { settings.thumbnailMaxBytes = thumbnailMaxBytes }
        try settings.validate()
        return settings
    }
}
