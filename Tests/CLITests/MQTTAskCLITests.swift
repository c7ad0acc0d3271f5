import Foundation
import TestSupport
import Testing
import VLMCore
import VLMPublish

/// A robot's one-off question over MQTT (`<prefix>/<stream>/ask`) during a real run with a GIT caption model,
/// against a real mosquitto: answered on the MQTT 5 Response Topic with the Correlation Data echoed, or on
/// `ask/reply` with the payload's `request_id` for an MQTT 3.1.1 requester; bad requests get a reason there.
@Suite(.serialized, .enabled(if: Mosquitto.executable != nil, "needs the mosquitto broker (scripts/install-deps)"))
struct MQTTAskCLITests {
    /// An MQTT client of the test's own that records what arrives on the topics it subscribes to.
    final class Requester: Sendable {
        let client: MQTTClient
        let received = Locked<[MQTTMessage]>([])
        let subscribed = Locked(false)

        init(port: Int, version: MQTTClient.Configuration.ProtocolVersion, subscribe filter: String) throws {
            let received = received
            let subscribed = subscribed
            let link = Locked<MQTTClient?>(nil)
            var handlers = MQTTClient.Handlers()
            handlers.connected = { code in if code == 0 { _ = try? link.current?.subscribe(filter, qos: 1) } }
            handlers.subscribed = { _ in subscribed.withLock { $0 = true } }
            handlers.message = { message in received.withLock { $0.append(message) } }
            client = try MQTTClient(
                MQTTClient.Configuration(
                    clientID: "robot-\(UUID().uuidString.prefix(6))", cleanSession: true,
                    broker: MQTTSettings.Broker(host: "127.0.0.1", port: port), protocolVersion: version),
                handlers: handlers)
            link.withLock { $0 = client }
            try client.start()
            // Generous waits throughout: they end as soon as the condition holds, and a loaded CI machine is slow.
            for _ in 0..<1200 where !subscribed.current { Thread.sleep(forTimeInterval: 0.05) }
        }

        /// Publishes `question` until a reply that is an answer arrives (the run may have no frame yet); returns it.
        func ask(_ message: MQTTMessage, timeout: Double = 120) throws -> (message: MQTTMessage, json: [String: Any])? {
            let deadline = Date().addingTimeInterval(timeout)
            while Date() < deadline {
                let before = received.current.count
                _ = client.publish(message)
                for _ in 0..<200 where received.current.count == before { Thread.sleep(forTimeInterval: 0.05) }
                for reply in received.current.dropFirst(before) {
                    let object = try JSONSerialization.jsonObject(with: Data(reply.payload))
                    let json = try #require(object as? [String: Any])
                    if json["answer"] != nil { return (reply, json) }
                }
                Thread.sleep(forTimeInterval: 0.5)
            }
            return nil
        }

        deinit { client.stop() }
    }

    static func run(broker: Mosquitto) throws -> LiveRun {
        let outbox = try Fixtures.temporaryDirectory("mqtt-ask").appendingPathComponent("outbox")
        return try LiveRun([
            "--query", "a person", "--fps", "4", "--caption-model", "Tests/Fixtures/tiny-git-vqa",
            "--caption-max-tokens", "3", "--mqtt", "mqtt://127.0.0.1:\(broker.port)", "--mqtt-outbox", outbox.path,
            "--mqtt-client-id", "ask-\(UUID().uuidString.prefix(6))",
        ])
    }

    @Test func anMQTT5QuestionIsAnsweredOnItsResponseTopicWithItsCorrelationData() throws {
        let broker = try Mosquitto()
        let live = try Self.run(broker: broker)
        defer { live.interrupt() }
        let robot = try Requester(port: broker.port, version: .v5, subscribe: "robot/7/replies")
        let question = MQTTMessage(
            topic: "vlm/stdin/ask", payload: Array(#"{"question": "is the door open?"}"#.utf8), qos: 1,
            responseTopic: "robot/7/replies", correlationData: [0x72, 0x00, 0x37])
        let reply = try #require(try robot.ask(question), "no answer; stderr: \(live.stderr.text.suffix(600))")
        #expect(reply.message.topic == "robot/7/replies")
        #expect(reply.message.correlationData == [0x72, 0x00, 0x37])
        #expect(reply.json["stream"] as? String == "stdin")
        #expect(reply.json["question"] as? String == "is the door open?")
        #expect(reply.json["answer"] is String && reply.json["error"] == nil)
        #expect((reply.json["pts"] as? Double).map { $0 >= 0 } == true)
        let failures = try JSONSchema.load("ask-reply").failures(try JSONValue.parse(reply.message.text))
        #expect(failures.isEmpty, "\(failures)")

        // A response topic under the run's own prefix could forge its scene topics: refused, said on ask/reply.
        let watcher = try Requester(port: broker.port, version: .v311, subscribe: "vlm/stdin/ask/reply")
        _ = robot.client.publish(
            MQTTMessage(
                topic: "vlm/stdin/ask", payload: Array(#"{"question": "what is here?"}"#.utf8), qos: 1,
                responseTopic: "vlm/stdin/events"))
        for _ in 0..<1200 where watcher.received.current.isEmpty { Thread.sleep(forTimeInterval: 0.05) }
        let refused = try JSONValue.parse(try #require(watcher.received.current.first).text)
        #expect(refused["error"]?.string?.contains("response topic under 'vlm/'") == true)
        #expect(refused["answer"] == nil)
    }

    @Test func anMQTT311QuestionIsAnsweredOnAskReplyWithItsRequestIDAndBadOnesAreRefused() throws {
        let broker = try Mosquitto()
        let live = try Self.run(broker: broker)
        defer { live.interrupt() }
        let robot = try Requester(port: broker.port, version: .v311, subscribe: "vlm/stdin/ask/reply")
        let payload = #"{"question": "what color is the car?", "request_id": "r-42"}"#
        let question = MQTTMessage(topic: "vlm/stdin/ask", payload: Array(payload.utf8), qos: 1)
        let reply = try #require(try robot.ask(question), "no answer; stderr: \(live.stderr.text.suffix(600))")
        #expect(reply.message.topic == "vlm/stdin/ask/reply")
        #expect(reply.json["request_id"] as? String == "r-42")
        #expect(reply.json["answer"] is String)
        #expect(reply.message.correlationData == nil)

        // Each bad request gets one reason, and the run keeps answering.
        let bad: [(String, String)] = [
            ("not json", "not valid JSON"),
            (#"{"question": ""}"#, "'question' is empty"),
            (#"{"question": 7, "request_id": "r-1"}"#, "'question' must be a string"),
            (#"{"question": "a", "extra": 1}"#, "unknown field 'extra'"),
            (#"{"question": "\#(String(repeating: "x", count: 600))"}"#, "longer than 500"),
            (#"{"request_id": "r-2"}"#, "'question' is missing"),
        ]
        for (payload, reason) in bad {
            let before = robot.received.current.count
            _ = robot.client.publish(MQTTMessage(topic: "vlm/stdin/ask", payload: Array(payload.utf8), qos: 1))
            for _ in 0..<1200 where robot.received.current.count == before { Thread.sleep(forTimeInterval: 0.05) }
            let answer = try JSONValue.parse(try #require(robot.received.current.last, "no reply to \(payload)").text)
            #expect(answer["error"]?.string?.contains(reason) == true, "\(payload) → \(answer)")
        }
        #expect(try robot.ask(question) != nil)
        #expect(live.run.isRunning)
    }
}
