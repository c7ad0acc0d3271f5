import ArgumentParser
import Foundation
import VLMPublish

/// `--mqtt*` flags: publish results to an MQTT broker and take query changes from it (shared by `run`).
///
/// Precedence: built-in defaults < the pipeline file's `outputs.mqtt` < flags.
struct MQTTOptions: ParsableArguments {
    @Option(
        name: .customLong("mqtt"),
        help: ArgumentHelp(
            "Publish to this broker: mqtt://[user:pass@]host[:port] (1883) or mqtts://… (8883).", valueName: "url"))
    var url: String?

    @Option(
        name: .customLong("mqtt-prefix"), help: "Topic prefix: topics are <prefix>/<stream>/events etc. Default vlm.")
    var prefix: String?

    @Option(
        name: .customLong("mqtt-client-id"),
        help: "Fixed client id (each stream connects as <id>-<stream>). Default vlm-stream-<hostname>.")
    var clientID: String?

    @Option(name: .customLong("mqtt-qos"), help: "QoS of events, captions and labels: 0, 1 or 2. Default 1.")
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

    @Option(name: .customLong("mqtt-stats-interval"), help: "Seconds between stats messages; 0 = none. Default 10.")
    var statsInterval: Double?

    func validate() throws {
        do {
            _ = try settings()
        } catch let error as MQTTError {
            throw ValidationError(error.description)
        }
        if url == nil, prefix != nil || clientID != nil || qos != nil || caFile != nil || thumbnails {
            throw ValidationError("--mqtt-* options need --mqtt <url> (or outputs.mqtt in the pipeline file)")
        }
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
        if settings.tlsFiles != MQTTSettings.TLSFiles(), !settings.broker.tls {
            throw MQTTError.invalidURL(
                settings.broker.redacted, reason: "--mqtt-ca/--mqtt-cert/--mqtt-key need mqtts://")
        }
        try settings.validate()
        return settings
    }
}
