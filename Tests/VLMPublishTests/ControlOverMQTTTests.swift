import Foundation
import TestSupport
import Testing
import VLMCore
import VLMPublish

/// Query control over MQTT against a real broker: changes take effect and are echoed; hostile payloads are refused.
@Suite(.serialized) struct ControlOverMQTTTests {
    @Test func queryChangeMidStreamIsEchoedAndUsedByLaterEvents() throws {
        let broker = try Mosquitto()
        defer { withExtendedLifetime(broker) {} }  // the broker lives until the test ends
        let subscriber = try Subscriber(broker.url, filters: ["vlm/cam/events", "vlm/cam/queries"])
        #expect(subscriber.waitReady())
        let publisher = try MQTTPublisher(
            settings: try testSettings(broker.url, outbox: try Fixtures.temporaryDirectory("outbox")),
            streams: ["cam"])
        let queries = QueryList(["person"])
        try publisher.attach(stream: "cam", controller: queries)
        #expect(publisher.waitUntilControllable(stream: "cam", timeout: 5))
        // A stand-in for the match stage: each frame yields one event per active query, read at that frame.
        for frame in 0..<100 {
            if frame == 40 {
                subscriber.publish("vlm/cam/queries/set", Array(#"{"queries": ["red car", "forklift"]}"#.utf8))
                #expect(poll(5) { queries.activeQueries == ["red car", "forklift"] })
            }
            for query in queries.activeQueries { publisher.consume(event(.update, query, at: Double(frame) / 10)) }
        }
        #expect(publisher.waitUntilDelivered(timeout: 10))
        #expect(subscriber.wait { $0.contains { $0.topic == "vlm/cam/queries" && $0.text.contains("forklift") } })
        // Acknowledged by the broker is not yet received by the subscriber: wait for the last ones to arrive.
        #expect(subscriber.wait { $0.filter { $0.topic.hasSuffix("/events") }.count >= 40 + 60 * 2 })
        let echoed = subscriber.messages("queries").compactMap { try? JSONValue.parse($0.payload)["queries"] }
        #expect(echoed.first == .array([.string("person")]))
        #expect(echoed.last == .array([.string("red car"), .string("forklift")]))
        let eventQueries = subscriber.messages("events").compactMap {
            try? JSONValue.parse($0.payload)["query"]?.string
        }
        #expect(eventQueries.count == 40 + 60 * 2)
        #expect(eventQueries.prefix(40).allSatisfy { $0 == "person" })
        #expect(eventQueries.dropFirst(40).allSatisfy { $0 == "red car" || $0 == "forklift" })
        publisher.finish()
        subscriber.stop()
    }

    /// Thousands of malformed control messages of every kind: each answered on `errors`, none applied, no crash.
    @Test func thousandsOfMalformedPayloadsAreRefusedOneByOne() throws {
        let broker = try Mosquitto()
        defer { withExtendedLifetime(broker) {} }  // the broker lives until the test ends
        let subscriber = try Subscriber(broker.url, filters: ["vlm/cam/errors", "vlm/cam/queries"])
        #expect(subscriber.waitReady())
        let publisher = try MQTTPublisher(
            settings: try testSettings(broker.url, outbox: try Fixtures.temporaryDirectory("outbox")),
            streams: ["cam"])
        let queries = QueryList(["person"])
        try publisher.attach(stream: "cam", controller: queries)
        #expect(publisher.waitUntilControllable(stream: "cam", timeout: 5))

        let payloads = Self.hostilePayloads(count: 3000)
        let actions = ["set", "add", "remove"]
        for (i, payload) in payloads.enumerated() {
            subscriber.publish("vlm/cam/queries/\(actions[i % 3])", payload)
            if i % 50 == 49 { Thread.sleep(forTimeInterval: 0.01) }  // a fast attacker, not an unbounded burst
        }
        #expect(subscriber.wait(timeout: 60) { $0.filter { $0.topic.hasSuffix("/errors") }.count >= payloads.count })
        // The stream still takes a valid change afterwards.
        subscriber.publish("vlm/cam/queries/set", Array(#"{"queries": ["forklift"]}"#.utf8))
        #expect(poll(10) { queries.activeQueries == ["forklift"] })
        #expect(poll(5) { publisher.statistics(stream: "cam")?.controlAccepted == 1 })  // counted just after applying
        let stats = try #require(publisher.statistics(stream: "cam"))
        #expect(stats.controlRejected == payloads.count)
        #expect(stats.controlAccepted == 1)

        let schema = try JSONSchema.load("error")
        let errors = subscriber.messages("errors")
        #expect(errors.count == payloads.count)
        var reasons: [String: Int] = [:]
        for message in errors {
            let document = try JSONValue.parse(message.payload)
            #expect(schema.failures(document).isEmpty)
            let reason = document["error"]?.string ?? ""
            reasons[String(reason.prefix(24)), default: 0] += 1
        }
        print("control fuzz: \(payloads.count) refused; reasons: \(reasons.sorted { $0.value > $1.value }.prefix(12))")
        publisher.finish()
        subscriber.stop()
    }

    /// Deterministic hostile payloads: random bytes, bad UTF-8, deep nesting, huge strings, wrong types, unknown
    /// fields, too many queries, control characters, empty and non-object documents.
    static func hostilePayloads(count: Int) -> [[UInt8]] {
        var rng = SplitMix64(seed: 0x5EED)
        var out: [[UInt8]] = []
        for i in 0..<count {
            let payload: [UInt8]
            switch i % 14 {
            case 0: payload = (0..<Int(rng.next() % 300 + 1)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            case 1: payload = Array(#"{"queries": [""#.utf8) + [0xC3, 0x28, 0xFF] + Array(#""]}"#.utf8)
            case 2: payload = Array(String(repeating: "[", count: Int(rng.next() % 5000 + 3)).utf8)
            case 3: payload = Array(("{\"queries\": [\"" + String(repeating: "x", count: 9000) + "\"]}").utf8)
            case 4: payload = Array(#"{"queries": [1, 2, 3]}"#.utf8)
            case 5: payload = Array(#"{"queries": ["person"], "exec": "rm -rf /"}"#.utf8)
            case 6:
                payload = Array(("{\"queries\": [" + (0..<40).map { "\"q\($0)\"" }.joined(separator: ",") + "]}").utf8)
            case 7: payload = Array("{\"queries\": [\"a\\u0007b\"]}".utf8)
            case 8: payload = []
            case 9: payload = Array(#""just a string""#.utf8)
            case 10: payload = Array(#"{"queries": {"0": "person"}}"#.utf8)
            case 11: payload = Array(#"{"queries": [{"q": "person"}]}"#.utf8)
            case 12: payload = Array(("{\"queries\": [\"" + String(repeating: "ü", count: 300) + "\"]}").utf8)
            default: payload = Array(#"{"queries": ["person""#.utf8)
            }
            out.append(payload)
        }
        return out
    }
}
