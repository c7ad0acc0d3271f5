import Foundation
import VLMPublish

extension MQTTSpec {
    /// The publisher settings this section describes.
    public var settings: MQTTSettings {
        var settings = MQTTSettings(
            broker: MQTTSettings.Broker(host: host, port: port, username: username, password: password, tls: tls),
            tlsFiles: MQTTSettings.TLSFiles(caFile: caFile, certFile: certFile, keyFile: keyFile),
            prefix: topicPrefix, clientID: clientID, qos: qos, thumbnails: thumbnails, outboxDirectory: outbox)
        if let statsInterval { settings.statsInterval = statsInterval }
        return settings
    }

    /// The section for `settings` (the effective settings after `--mqtt*` flags).
    public init(_ settings: MQTTSettings) {
        let b = settings.broker
        self.init(
            host: b.host, port: b.port, topicPrefix: settings.prefix, clientID: settings.clientID, qos: settings.qos,
            username: b.username, password: b.password, tls: b.tls, caFile: settings.tlsFiles.caFile,
            certFile: settings.tlsFiles.certFile, keyFile: settings.tlsFiles.keyFile, thumbnails: settings.thumbnails,
            outbox: settings.outboxDirectory, statsInterval: settings.statsInterval)
    }

    /// `url: mqtt[s]://[user:pass@]host[:port]` sets the broker fields.
    mutating func applyURL(_ url: String, codingPath: [any CodingKey]) throws {
        let broker: MQTTSettings.Broker
        do {
            broker = try MQTTSettings.parseURL(url)
        } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: codingPath, debugDescription: "\(error)"))
        }
        host = broker.host
        port = broker.port
        tls = broker.tls
        username = broker.username ?? username
        password = broker.password ?? password
    }
}
