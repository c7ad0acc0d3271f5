import Foundation
import TestSupport
import Testing
import VLMCore
import VLMPublish

/// Broker restarts and outages: QoS 1 events arrive complete and in order, from the live outbox and from disk.
@Suite(.serialized) struct BrokerRestartTests {
    /// Sequence numbers in first-arrival order, and how many arrivals repeated an earlier one.
    static func sequence(_ messages: [MQTTMessage]) -> (order: [Int], duplicates: Int) {
        var seen = Set<Int>()
        var order: [Int] = []
        var duplicates = 0
        for message in messages {
            guard let seq = (try? JSONValue.parse(message.payload))?["seq"]?.int else { continue }
            if seen.insert(seq).inserted { order.append(seq) } else { duplicates += 1 }
        }
        return (order, duplicates)
    }

    @Test func brokerRestartMidClipLosesNothingAndKeepsOrder() throws {
        let broker = try Mosquitto()
        defer { withExtendedLifetime(broker) {} }  // the broker lives until the test ends
        let subscriber = try Subscriber(broker.url, filters: ["vlm/cam/events"])
        #expect(subscriber.waitReady())
        let publisher = try MQTTPublisher(
            settings: try testSettings(broker.url, outbox: try Fixtures.temporaryDirectory("outbox")),
            streams: ["cam"])
        let total = 400
        var peakBacklog = 0
        let restarted = DispatchSemaphore(value: 0)
        for i in 1...total {
            publisher.consume(event(.update, "person", at: Double(i) * 0.04))
            if i == 150 {
                DispatchQueue.global().async {
                    try? broker.restart(downFor: 1.0)
                    restarted.signal()
                }
            }
            if let stats = publisher.statistics(stream: "cam") { peakBacklog = max(peakBacklog, stats.pending) }
            Thread.sleep(forTimeInterval: 0.005)
        }
        restarted.wait()
        #expect(publisher.waitUntilDelivered(timeout: 30), "\(String(describing: publisher.statistics(stream: "cam")))")
        #expect(subscriber.wait(timeout: 20) { Self.sequence($0).order.count == total })
        let (order, duplicates) = Self.sequence(subscriber.messages)
        #expect(order == Array(1...total), "lost or reordered: \(order.count) distinct of \(total)")
        let stats = try #require(publisher.statistics(stream: "cam"))
        #expect(stats.reconnects >= 1)
        #expect(stats.dropped == 0)
        print(
            "broker restart: \(total) events, \(peakBacklog) held in the outbox during the outage and replayed,"
                + " \(duplicates) QoS 1 redeliveries, \(stats.reconnects) reconnect(s)")
        publisher.finish()
        subscriber.stop()
    }

    /// The broker crashes (SIGKILL, no goodbye) mid-clip and comes back: the publisher's side loses nothing —
    /// every event is acknowledged by the broker and none is dropped from the outbox — and what reaches the
    /// subscriber arrives in order. A SIGKILLed broker can itself lose messages it had acknowledged but not yet
    /// written to its persistence file or forwarded (seen under load: a subscriber missing a run of events queued
    /// for it across the crash), so completeness at the subscriber is asserted for the graceful restart above.
    @Test func brokerCrashMidClipLosesNothingOnThePublisherSide() throws {
        let broker = try Mosquitto()
        defer { withExtendedLifetime(broker) {} }  // the broker lives until the test ends
        let subscriber = try Subscriber(broker.url, filters: ["vlm/cam/events"])
        #expect(subscriber.waitReady())
        Thread.sleep(forTimeInterval: 1.2)  // the broker's 1 s autosave has the subscriber's session
        let publisher = try MQTTPublisher(
            settings: try testSettings(broker.url, outbox: try Fixtures.temporaryDirectory("outbox")),
            streams: ["cam"])
        let total = 300
        for i in 1...total {
            publisher.consume(event(.update, "person", at: Double(i) * 0.04))
            if i == 100 {
                broker.kill()
                DispatchQueue.global().asyncAfter(deadline: .now() + 0.5) { try? broker.start() }
            }
            Thread.sleep(forTimeInterval: 0.003)
        }
        #expect(publisher.waitUntilDelivered(timeout: 30))
        let stats = try #require(publisher.statistics(stream: "cam"))
        #expect(stats.dropped == 0 && stats.pending == 0 && stats.inflight == 0)
        _ = subscriber.wait(timeout: 20) { Self.sequence($0).order.last == total }
        let (order, duplicates) = Self.sequence(subscriber.messages)
        #expect(order == order.sorted(), "reordered: \(order)")
        #expect(order.first == 1 && order.last == total)
        print("broker crash: \(order.count) of \(total) events reached the subscriber, \(duplicates) redeliveries")
        publisher.finish()
        subscriber.stop()
    }

    @Test func unreachableAtStartBuffersThenDelivers() throws {
        let broker = try Mosquitto()
        defer { withExtendedLifetime(broker) {} }  // the broker lives until the test ends
        let subscriber = try Subscriber(broker.url, filters: ["vlm/yard/events"])
        #expect(subscriber.waitReady())
        broker.stop()  // the subscriber's session (and its subscription) is saved by the broker
        let publisher = try MQTTPublisher(
            settings: try testSettings(broker.url, outbox: try Fixtures.temporaryDirectory("outbox")),
            streams: ["yard"], connectWait: 0.5)
        for i in 1...25 { publisher.consume(event(.update, "truck", stream: "yard", at: Double(i))) }
        let stats = try #require(publisher.statistics(stream: "yard"))
        #expect(!stats.connected && stats.pending == 25)
        try broker.start()
        #expect(publisher.waitUntilDelivered(timeout: 20))
        #expect(subscriber.wait { Self.sequence($0).order.count == 25 })
        #expect(Self.sequence(subscriber.messages).order == Array(1...25))
        publisher.finish()
        subscriber.stop()
    }

    @Test func messagesLeftAtExitAreReplayedByTheNextRun() throws {
        let broker = try Mosquitto()
        defer { withExtendedLifetime(broker) {} }  // the broker lives until the test ends
        let subscriber = try Subscriber(broker.url, filters: ["vlm/gate/events"])
        #expect(subscriber.waitReady())
        broker.stop()
        var settings = try testSettings(broker.url, outbox: try Fixtures.temporaryDirectory("outbox"))
        settings.flushDeadline = 0.3
        do {
            let first = try MQTTPublisher(settings: settings, streams: ["gate"], connectWait: 0.2)
            for i in 1...20 { first.consume(event(.update, "person", stream: "gate", at: Double(i))) }
            first.finish()  // broker down: the 20 events stay in the outbox file
        }
        try broker.start()
        let second = try MQTTPublisher(settings: settings, streams: ["gate"])
        #expect(second.statistics(stream: "gate")?.recovered == 20)
        #expect(second.waitUntilDelivered(timeout: 20))
        #expect(subscriber.wait { Self.sequence($0).order.count == 20 })
        #expect(Self.sequence(subscriber.messages).order == Array(1...20))
        print(
            "process restart: \(second.statistics(stream: "gate")?.recovered ?? 0) events replayed from the outbox file"
        )
        second.finish()
        subscriber.stop()
    }
}
