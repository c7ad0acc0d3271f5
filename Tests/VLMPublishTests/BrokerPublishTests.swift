import Foundation
import TestSupport
import Testing
import VLMCore
import VLMPublish

/// Against a real mosquitto on a loopback port: every published payload validates against Configs/schemas.
@Suite(.serialized) struct BrokerPublishTests {
    @Test func everyPublishedMessageMatchesItsSchema() throws {
        let broker = try Mosquitto()
        defer { withExtendedLifetime(broker) {} }  // the broker lives until the test ends
        let subscriber = try Subscriber(broker.url, filters: ["vlm/#"])
        #expect(subscriber.waitReady())
        let publisher = try MQTTPublisher(
            settings: try testSettings(broker.url, outbox: try Fixtures.temporaryDirectory("outbox")),
            streams: ["cam"])
        try publisher.attach(stream: "cam", controller: QueryList(["person", "red car"]))
        publisher.consume(event(.start, "person", at: 1))
        publisher.consume(event(.update, "person", at: 2))
        publisher.consume(event(.end, "person", at: 3))
        publisher.consume(.caption(Caption(stream: "cam", startPTS: 0, endPTS: 4, text: "a person walks", score: 0.3)))
        publisher.consume(
            .labels(FrameLabels(stream: "cam", pts: 2, labels: [.init(label: "a dog", probability: 0.9)])))
        publisher.consume(.score(QueryScore(stream: "cam", pts: 1, query: "person", score: 0.5, cosine: 0.2)))
        publisher.consume(.status(stream: "cam", state: "reconnecting", detail: "source stalled"))
        #expect(publisher.waitUntilControllable(stream: "cam", timeout: 5))
        subscriber.publish("vlm/cam/queries/add", Array(#"{"queries": ["dog"]}"#.utf8))
        subscriber.publish("vlm/cam/queries/add", Array(#"{"queries": 7}"#.utf8))
        #expect(
            subscriber.wait { m in
                m.contains { $0.topic.hasSuffix("/stats") } && m.contains { $0.topic.hasSuffix("/errors") }
            })
        publisher.finish()
        #expect(subscriber.wait { m in m.contains { $0.topic == "vlm/cam/status" && $0.text.contains("\"offline\"") } })

        let messages = subscriber.messages
        var kinds = Set<String>()
        for message in messages where !message.topic.contains("/queries/") {  // skip our own control input
            let kind = try #require(schemaKind(of: message.topic), "unexpected topic \(message.topic)")
            kinds.insert(kind)
            let failures = try JSONSchema.load(kind).failures(try JSONValue.parse(message.payload))
            #expect(failures.isEmpty, "\(message.topic): \(message.text) — \(failures)")
        }
        #expect(kinds == ["event", "caption", "labels", "status", "queries", "stats", "error"])
        let events = subscriber.messages("events").map { try? JSONValue.parse($0.payload) }
        #expect(events.map { $0?["type"]?.string } == ["start", "update", "end"])
        #expect(events.map { $0?["seq"]?.int } == [1, 2, 3])
        let labels = try JSONValue.parse(try #require(subscriber.messages("labels").first).payload)
        #expect(labels["labels"]?.array?.first?["label"]?.string == "a dog")
        let statuses = subscriber.messages("status").compactMap { try? JSONValue.parse($0.payload)["state"]?.string }
        #expect(statuses.first == "online" && statuses.contains("reconnecting") && statuses.last == "offline")
        let queries = subscriber.messages("queries").compactMap { try? JSONValue.parse($0.payload)["queries"] }
        #expect(queries.last == .array([.string("person"), .string("red car"), .string("dog")]))
        subscriber.stop()
    }

    @Test func answersArePublishedOnTheirTopicAndMatchTheirSchema() throws {
        let broker = try Mosquitto()
        defer { withExtendedLifetime(broker) {} }
        let subscriber = try Subscriber(broker.url, filters: ["vlm/+/answers"])
        #expect(subscriber.waitReady())
        let publisher = try MQTTPublisher(
            settings: try testSettings(broker.url, outbox: try Fixtures.temporaryDirectory("outbox")),
            streams: ["cam"])
        publisher.consume(.answer(Answer(stream: "cam", pts: 2.5, question: "is the door open?", answer: "no")))
        #expect(subscriber.wait { m in !m.isEmpty })
        publisher.finish()
        let message = try #require(subscriber.messages("answers").first)
        #expect(message.topic == "vlm/cam/answers")
        let payload = try JSONValue.parse(message.payload)
        #expect(try JSONSchema.load("answer").failures(payload).isEmpty, "\(message.text)")
        #expect(payload["question"]?.string == "is the door open?")
        #expect(payload["answer"]?.string == "no")
        #expect(payload["schema"]?.string == "vlm-stream.answer.v2")
        subscriber.stop()
    }

    @Test func retainedStatusAndQueriesReachLateSubscribers() throws {
        let broker = try Mosquitto()
        defer { withExtendedLifetime(broker) {} }  // the broker lives until the test ends
        let publisher = try MQTTPublisher(
            settings: try testSettings(broker.url, outbox: try Fixtures.temporaryDirectory("outbox")),
            streams: ["dock"])
        try publisher.attach(stream: "dock", controller: QueryList(["forklift"]))
        #expect(publisher.waitUntilDelivered(timeout: 5))
        let late = try Subscriber(broker.url, filters: ["vlm/dock/status", "vlm/dock/queries"], cleanSession: true)
        #expect(late.wait { m in m.count >= 2 })
        let retained = late.messages.allSatisfy(\.retained)
        #expect(retained)
        #expect(late.messages("queries").first?.text.contains("forklift") == true)
        #expect(late.messages("status").first?.text.contains("\"online\"") == true)
        publisher.finish()
        late.stop()
    }

    /// Issue 11: with labels queued ahead, the retained `ended` was replaced in the outbox by the later `offline`,
    /// so subscribers saw `online` (1), `offline` (3) and never `ended`. Every transition must arrive, in order,
    /// with consecutive `seq`.
    @Test func endedQueuedBehindLabelsStillArrivesBeforeOfflineWithoutASeqGap() throws {
        let broker = try Mosquitto()
        defer { withExtendedLifetime(broker) {} }  // the broker lives until the test ends
        let subscriber = try Subscriber(broker.url, filters: ["vlm/cam/status", "vlm/cam/labels"])
        #expect(subscriber.waitReady())
        let publisher = try MQTTPublisher(
            settings: try testSettings(broker.url, outbox: try Fixtures.temporaryDirectory("outbox")),
            streams: ["cam"])
        #expect(publisher.waitUntilConnected(timeout: 5))
        #expect(subscriber.wait { !$0.filter { $0.topic == "vlm/cam/status" }.isEmpty })
        // A burst of labels (the window is 1 message), then the stream ends and the publisher stops at once:
        // `ended` and `offline` are both queued behind labels.
        for i in 0..<300 {
            publisher.consume(
                .labels(
                    FrameLabels(
                        stream: "cam", pts: Double(i) * 0.04, labels: [.init(label: "a person", probability: 0.6)])))
        }
        publisher.consume(.status(stream: "cam", state: "ended", detail: "end of file"))
        publisher.finish()
        #expect(subscriber.wait { m in m.contains { $0.topic == "vlm/cam/status" && $0.text.contains("\"offline\"") } })
        let statuses = try subscriber.messages("status").map { try JSONValue.parse($0.payload) }
        #expect(statuses.compactMap { $0["state"]?.string } == ["online", "ended", "offline"])
        #expect(statuses.compactMap { $0["seq"]?.int } == [1, 2, 3])
        #expect(subscriber.messages("labels").count == 300)
        subscriber.stop()
    }
}
