import Foundation
import TestSupport
import Testing

@testable import VLMPublish

@Suite struct OutboxTests {
    func message(_ i: Int) -> MQTTMessage {
        MQTTMessage(topic: "vlm/cam/events", payload: Array("{\"i\":\(i)}".utf8), qos: 1)
    }

    @Test func keepsUnacknowledgedMessagesAcrossReopenInOrder() throws {
        let directory = try Fixtures.temporaryDirectory("outbox")
        do {
            let outbox = try Outbox(directory: directory, limit: 100)
            for i in 1...5 { outbox.append(message(i), durable: true) }
            outbox.append(message(99), durable: false)  // volatile: never on disk
            let first = try #require(outbox.popNext())
            let second = try #require(outbox.popNext())
            outbox.acknowledge(first)
            outbox.acknowledge(second)
            _ = outbox.popNext()  // handed to libmosquitto, not acknowledged: must survive
            outbox.close()
        }
        // A torn last line, as a crash in the middle of write(2) would leave.
        let log = try FileHandle(forWritingTo: directory.appendingPathComponent("outbox.log"))
        try log.seekToEnd()
        try log.write(contentsOf: Array("77 1 0 dG9w".utf8))
        try log.close()

        let reopened = try Outbox(directory: directory, limit: 100)
        #expect(reopened.recovered == 3)
        #expect(reopened.pending.map(\.message) == [message(3), message(4), message(5)])
        let next = reopened.append(message(6), durable: true)
        #expect(next.id > reopened.pending[2].id)
    }

    @Test func dropsOldestPastTheLimitAndCountsThem() throws {
        let outbox = try Outbox(directory: try Fixtures.temporaryDirectory("outbox"), limit: 3)
        for i in 1...5 { outbox.append(message(i), durable: true) }
        #expect(outbox.dropped == 2)
        #expect(outbox.pending.map(\.message) == [message(3), message(4), message(5)])
        outbox.close()
        let reopened = try Outbox(directory: outbox.directory, limit: 3)
        #expect(reopened.pending.map(\.message) == [message(3), message(4), message(5)])
    }

    /// A newer retained state never replaces a waiting older one (that lost `ended` behind `offline`): both stay,
    /// in order, and `moveToFront` puts the waiting states ahead of the backlog without reordering them.
    @Test func waitingRetainedStatesAreKeptInOrderAndMovedToTheFront() throws {
        let outbox = try Outbox(directory: try Fixtures.temporaryDirectory("outbox"), limit: 10)
        let status = { (s: String) in
            MQTTMessage(topic: "vlm/cam/status", payload: Array(s.utf8), qos: 1, retained: true)
        }
        outbox.append(status("online"), durable: false, front: true)
        outbox.append(message(1), durable: true)
        outbox.append(status("ended"), durable: false)
        outbox.append(message(2), durable: true)
        outbox.append(status("offline"), durable: false)
        #expect(
            outbox.pending.map(\.message) == [
                status("online"), message(1), status("ended"), message(2), status("offline"),
            ])
        #expect(outbox.moveToFront(topic: "vlm/cam/status"))
        #expect(
            outbox.pending.map(\.message) == [
                status("online"), status("ended"), status("offline"), message(1), message(2),
            ])
        #expect(!outbox.moveToFront(topic: "vlm/cam/queries"))
    }

    @Test func refusesASecondUserOfTheSameOutbox() throws {
        let directory = try Fixtures.temporaryDirectory("outbox")
        let first = try Outbox(directory: directory, limit: 10)
        #expect { try Outbox(directory: directory, limit: 10) } throws: { "\($0)".contains("--mqtt-client-id") }
        first.close()
        _ = try Outbox(directory: directory, limit: 10)
    }

    @Test func compactsWhenIdle() throws {
        let directory = try Fixtures.temporaryDirectory("outbox")
        let outbox = try Outbox(directory: directory, limit: 10)
        let big = MQTTMessage(topic: "t", payload: [UInt8](repeating: 65, count: 300_000), qos: 1)
        for _ in 0..<4 {
            let entry = outbox.append(big, durable: true)
            _ = outbox.popNext()
            outbox.acknowledge(entry)
        }
        outbox.compactIfIdle(inflight: 0)
        outbox.sync()
        let size =
            try FileManager.default.attributesOfItem(atPath: directory.appendingPathComponent("outbox.log").path)[.size]
            as? Int
        #expect(size == 0)
    }
}
