import CMosquitto
import VLMCore

/// Why MQTT publishing could not be set up or a message could not be handed to the broker.
public enum MQTTError: UserFacingError, Equatable {
    /// The `--mqtt` URL is malformed.
    case invalidURL(String, reason: String)
    /// A setting is out of range or unusable; `key` is its pipeline-file key (`keepalive`, `ca`), which the command
    /// line maps to its flag (`--mqtt-keepalive`, `--mqtt-ca`).
    case invalidSetting(key: String, reason: String)
    /// libmosquitto refused an option or a call; `code` is its `MOSQ_ERR_*` value.
    case library(call: String, code: Int32)
    /// The broker host name did not resolve.
    case unresolvableHost(String)
    /// The TLS handshake failed (untrusted or mismatched certificate, bad client certificate).
    case tlsHandshake(broker: String)
    /// The on-disk outbox could not be opened or written.
    case outbox(path: String, reason: String)

    /// One line for the terminal.
    public var description: String {
        switch self {
        case .invalidURL(let url, let reason):
            return "MQTT URL '\(url)' is invalid: \(reason) (expected mqtt://[user:pass@]host[:port] or mqtts://...)"
        case .invalidSetting(let key, let reason):
            return "MQTT setting \(key): \(reason)"
        case .library(let call, let code):
            return "libmosquitto \(call) failed: \(MQTTError.message(code))"
        case .unresolvableHost(let host):
            return "MQTT broker host '\(host)' does not resolve; check the --mqtt URL"
        case .tlsHandshake(let broker):
            return "TLS handshake with \(broker) failed: the broker's certificate must be signed by --mqtt-ca (or a "
                + "system CA) and name the host in the URL; check --mqtt-cert/--mqtt-key too"
        case .outbox(let path, let reason):
            return "MQTT outbox '\(path)' unusable: \(reason); pass --mqtt-outbox with a writable directory"
        }
    }

    /// libmosquitto's text for an error code.
    static func message(_ code: Int32) -> String {
        guard let text = mosquitto_strerror(code) else { return "error \(code)" }
        return String(cString: text)
    }
}
