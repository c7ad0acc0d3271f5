import Foundation
import TestSupport
import Testing
import VLMCore
import VLMPublish

/// The hang a hostile-input campaign found: a flood of QoS 0 control messages plus multi-megabyte payloads on
/// `queries/add`, with a subscriber on `errors`, stopped QoS 1 output for good (`inflight: 1` forever on a live
/// connection). Against a real broker; bounded in time.
@Suite(.serialized) struct ControlFloodTests {
    @Test(.timeLimit(.minutes(3)))
    func qos1OutputKeepsFlowingThroughAControlFlood() throws {
        let broker = try Mosquitto()
        defer { withExtendedLifetime(broker) {} }
        let subscriber = try Subscriber(broker.url, filters: ["vlm/cam/events", "vlm/cam/errors"])
        #expect(subscriber.waitReady())
        let publisher = try MQTTPublisher(
            settings: try testSettings(broker.url, outbox: try Fixtures.temporaryDirectory("outbox")),
            streams: ["cam"])
        try publisher.attach(stream: "cam", controller: QueryList(["person"]))
        #expect(publisher.waitUntilControllable(stream: "cam", timeout: 5))

        let small = try Subscriber(broker.url, filters: [])
        let large = try Subscriber(broker.url, filters: [])
        Thread.sleep(forTimeInterval: 0.5)  // both flooders connected
        let flood = DispatchGroup()
        DispatchQueue.global().async(group: flood) {
            for i in 0..<20_000 {
                small.publish("vlm/cam/queries/add", Array("{\"queries\": [\(i)]}".utf8), qos: 0)
            }
        }
        DispatchQueue.global().async(group: flood) {
            let huge = [UInt8](repeating: UInt8(ascii: "x"), count: 5 << 20)
            for _ in 0..<20 { large.publish("vlm/cam/queries/add", huge, qos: 1) }
        }
        // Events keep coming for as long as the flood lasts (and a little after), as from a running pipeline.
        var events = 0
        let floodDeadline = Date().addingTimeInterval(60)
        while flood.wait(timeout: .now()) == .timedOut && Date() < floodDeadline {
            publisher.consume(event(.update, "person", at: Double(events) / 10))
            events += 1
            Thread.sleep(forTimeInterval: 0.005)
        }
        for _ in 0..<50 {
            publisher.consume(event(.update, "person", at: Double(events) / 10))
            events += 1
            Thread.sleep(forTimeInterval: 0.005)
        }
        #expect(flood.wait(timeout: .now()) == .success)
        let delivered = publisher.waitUntilDelivered(timeout: 60)
        let stats = try #require(publisher.statistics(stream: "cam"))
        #expect(delivered, "QoS 1 output stalled: \(stats)")
        #expect(stats.inflight == 0 && stats.pending == 0, "\(stats)")
        let expected = events
        #expect(subscriber.wait(timeout: 30) { $0.filter { $0.topic.hasSuffix("/events") }.count >= expected })
        #expect(stats.controlRejected > 0)  // the flood was answered, not silently lost
        publisher.finish()
        for client in [subscriber, small, large] { client.stop() }
    }

    /// The mechanism behind the hang: MQTT 3.1.1 never retries a message on a live connection, so one lost PUBACK
    /// (or a message the library never wrote) kept `inflight: 1` forever. The acknowledgement watchdog reconnects
    /// and libmosquitto resends it. The limit only guards against a hang: its waits are bounded (about 45 s in all), and
    /// with the whole suite running in parallel on two cores a broker start and a reconnect can take most of them.
    @Test(.timeLimit(.minutes(3)))
    func lostAcknowledgementIsRetried() throws {
        let broker = try Mosquitto()
        defer { withExtendedLifetime(broker) {} }
        let proxy = try AckDroppingProxy(to: broker.port, dropping: 1)
        let subscriber = try Subscriber(broker.url, filters: ["vlm/cam/events"])
        #expect(subscriber.waitReady())
        var settings = try testSettings(
            "mqtt://127.0.0.1:\(proxy.port)", outbox: try Fixtures.temporaryDirectory("outbox"))
        settings.ackTimeout = 2
        let publisher = try MQTTPublisher(settings: settings, streams: ["cam"])
        for frame in 0..<5 { publisher.consume(event(.update, "person", at: Double(frame))) }
        let delivered = publisher.waitUntilDelivered(timeout: 20)
        #expect(proxy.dropped == 1)
        #expect(delivered, "\(String(describing: publisher.statistics(stream: "cam")))")
        #expect(subscriber.wait(timeout: 10) { $0.filter { $0.topic.hasSuffix("/events") }.count >= 5 })
        #expect(publisher.statistics(stream: "cam")?.reconnects ?? 0 >= 1)
        publisher.finish()
        subscriber.stop()
    }

    /// The watchdog's reconnect while nothing listens on the broker's port: the connect is refused at once, and
    /// libmosquitto's loop thread would then wait for a connect that nobody attempts again. The client retries with
    /// backoff, and is back once the broker is.
    @Test(.timeLimit(.minutes(2)))
    func aReconnectRefusedAtOnceIsRetriedUntilTheBrokerIsBack() throws {
        let broker = try Mosquitto()
        defer { withExtendedLifetime(broker) {} }
        let (client, connections) = try countingClient("refused", broker: broker)
        defer { client.stop() }
        try client.start()
        #expect(poll(20) { connections.current == 1 })
        broker.stop()
        #expect(client.reconnect())
        #expect(!client.reconnect(), "a second reconnect while the first is being retried")
        try broker.start()
        #expect(poll(20) { connections.current == 2 }, "\(connections.current) connections")
    }

    /// `stop()` while a reconnect is under way: a connect that goes through after it must still end with DISCONNECT,
    /// or the broker publishes the Last Will of a client that stopped cleanly (a robot's "offline" alarm). The stop
    /// comes 0–3 ms after the reconnect starts, to land in every part of it.
    @Test(.timeLimit(.minutes(2)))
    func aStopDuringAReconnectLeavesNoLastWill() throws {
        let broker = try Mosquitto()
        defer { withExtendedLifetime(broker) {} }
        let subscriber = try Subscriber(broker.url, filters: ["vlm/test/will"])
        #expect(subscriber.waitReady())
        for round in 0..<30 {
            let (client, connections) = try countingClient(
                "stop-\(round)", broker: broker,
                will: MQTTMessage(topic: "vlm/test/will", payload: Array("round \(round)".utf8), qos: 1))
            try client.start()
            #expect(poll(10) { connections.current == 1 })
            let reconnected = DispatchSemaphore(value: 0)
            Thread.detachNewThread {
                client.reconnect()
                reconnected.signal()
            }
            Thread.sleep(forTimeInterval: Double(round % 10) * 0.0003)
            client.stop()
            reconnected.wait()
        }
        // Every client is gone (its socket closed); a Will would arrive within a moment.
        Thread.sleep(forTimeInterval: 1)
        #expect(subscriber.messages.map(\.text) == [])
        subscriber.stop()
    }

    /// A clean-session client of `broker` (not started) with a 1 s reconnect delay, and the count of its successful
    /// connects.
    private func countingClient(
        _ name: String, broker: Mosquitto, will: MQTTMessage? = nil
    ) throws -> (MQTTClient, Locked<Int>) {
        let connections = Locked(0)
        var handlers = MQTTClient.Handlers()
        handlers.connected = { rc in if rc == 0 { connections.withLock { $0 += 1 } } }
        let client = try MQTTClient(
            MQTTClient.Configuration(
                clientID: "\(name)-\(UUID().uuidString.prefix(6))", cleanSession: true,
                broker: try MQTTSettings.parseURL(broker.url), keepalive: 5, will: will, reconnectDelayMin: 1,
                reconnectDelayMax: 1),
            handlers: handlers)
        return (client, connections)
    }
}
