import Foundation
import TestSupport
import Testing
import VLMCore
import VLMPublish

/// `mqtts://` with `--mqtt-ca` against a real mosquitto TLS listener.
@Suite(.serialized) struct TLSTests {
    @Test func publishesOverTLSAndRefusesAnUntrustedBroker() throws {
        let directory = try Fixtures.temporaryDirectory("tls")
        let certificates = try TestCertificates.make(in: directory)
        let broker = try Mosquitto(
            tls: (certificates.caCertificate, certificates.serverCertificate, certificates.serverKey))
        defer { withExtendedLifetime(broker) {} }  // the broker lives until the test ends
        let url = "mqtts://127.0.0.1:\(broker.port)"

        let received = Locked<[MQTTMessage]>([])
        var handlers = MQTTClient.Handlers()
        handlers.message = { m in received.withLock { $0.append(m) } }
        let subscriberConnected = Locked(false)
        handlers.connected = { rc in subscriberConnected.withLock { $0 = rc == 0 } }
        let subscriber = try MQTTClient(
            .init(
                clientID: "tls-sub", cleanSession: true, broker: try MQTTSettings.parseURL(url),
                tlsFiles: .init(caFile: certificates.caCertificate)),
            handlers: handlers)
        try subscriber.start()
        #expect(poll(10) { subscriberConnected.withLock { $0 } })
        try subscriber.subscribe("vlm/cam/events", qos: 1)
        Thread.sleep(forTimeInterval: 0.2)

        var settings = try testSettings(url, outbox: try Fixtures.temporaryDirectory("outbox"))
        settings.tlsFiles.caFile = certificates.caCertificate
        let publisher = try MQTTPublisher(settings: settings, streams: ["cam"])
        publisher.consume(event(.start, "person", at: 1))
        #expect(publisher.waitUntilDelivered(timeout: 10))
        #expect(poll(10) { received.withLock { $0.count } == 1 })
        publisher.finish()
        subscriber.stop()

        // A broker whose certificate another CA signed is never trusted. Depending on when the handshake fails,
        // start refuses at once (one line naming --mqtt-ca), or the stream runs unconnected and the warning carries
        // OpenSSL's reason; either way nothing is sent to it.
        let other = try TestCertificates.make(in: try Fixtures.temporaryDirectory("tls-other"), name: "other")
        var untrusted = try testSettings(url, outbox: try Fixtures.temporaryDirectory("outbox"))
        untrusted.tlsFiles.caFile = other.caCertificate
        do {
            let refused = try MQTTPublisher(settings: untrusted, streams: ["cam"], connectWait: 1)
            refused.consume(event(.start, "person", at: 1))
            #expect(refused.statistics(stream: "cam")?.connected == false)
            #expect(refused.lastProblem(stream: "cam")?.contains("certificate verify failed") == true)
            refused.finish()
        } catch let error as MQTTError {
            #expect(error == .tlsHandshake(broker: url))
        }
    }
}
