import Foundation
import TestSupport
import Testing
import VLMCore
import VLMPublish

/// Standing questions (`--ask`) changed on `<prefix>/<stream>/questions/set|add|remove` during a real run with a GIT
/// caption model, against a real mosquitto: the retained `questions` topic follows, a new question is answered on
/// `answers`, and bad requests (malformed, empty, too long for the model) get one reason each on `errors`.
@Suite(.serialized, .enabled(if: Mosquitto.executable != nil, "needs the mosquitto broker (scripts/install-deps)"))
struct MQTTQuestionsCLITests {
    typealias Watcher = MQTTAskCLITests.Requester

    /// The newest message on `topic` that satisfies `condition`, waiting up to `timeout` seconds for it.
    static func await(
        _ watcher: Watcher, topic: String, timeout: Double = 120, _ condition: (JSONValue) -> Bool = { _ in true }
    ) throws -> JSONValue? {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            for message in watcher.received.current.reversed() where message.topic == topic {
                if let json = try? JSONValue.parse(message.text), condition(json) { return json }
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return nil
    }

    static func questions(_ json: JSONValue) -> [String] {
        json["questions"]?.array?.compactMap(\.string) ?? []
    }

    @Test func standingQuestionsAreChangedOverMQTTAndAnswered() throws {
        let broker = try Mosquitto()
        let outbox = try Fixtures.temporaryDirectory("mqtt-questions").appendingPathComponent("outbox")
        let live = try LiveRun([
            "--query", "a person", "--fps", "4", "--caption-model", "Tests/Fixtures/tiny-git-vqa",
            "--caption-max-tokens", "3", "--caption-interval", "1", "--ask", "is it day?",
            "--mqtt", broker.url, "--mqtt-outbox", outbox.path, "--mqtt-client-id", "q-\(UUID().uuidString.prefix(6))",
        ])
        defer { live.interrupt() }
        let watcher = try Watcher(port: broker.port, version: .v311, subscribe: "vlm/stdin/#")
        let log = { "stderr: \(live.stderr.text.suffix(600))" }

        // The retained topic starts with the --ask question, and it is answered.
        let first = try #require(try Self.await(watcher, topic: "vlm/stdin/questions"), "\(log())")
        #expect(Self.questions(first) == ["is it day?"])
        let schema = try JSONSchema.load("questions")
        #expect(try schema.failures(first).isEmpty)
        #expect(try Self.await(watcher, topic: "vlm/stdin/answers") { $0["question"]?.string == "is it day?" } != nil)

        // add: a new question joins, is announced and answered on the next caption triggers.
        let add = #"{"questions": ["  what color is the car?  ", "is it day?"]}"#
        _ = watcher.client.publish(MQTTMessage(topic: "vlm/stdin/questions/add", payload: Array(add.utf8), qos: 1))
        let added = try #require(
            try Self.await(watcher, topic: "vlm/stdin/questions") { Self.questions($0).count == 2 }, "\(log())")
        #expect(Self.questions(added) == ["is it day?", "what color is the car?"])
        let answer = try Self.await(watcher, topic: "vlm/stdin/answers") {
            $0["question"]?.string == "what color is the car?"
        }
        #expect(answer?["answer"]?.string != nil, "\(log())")

        // remove, then set.
        let remove = #"{"questions": ["is it day?"]}"#
        _ = watcher.client.publish(
            MQTTMessage(topic: "vlm/stdin/questions/remove", payload: Array(remove.utf8), qos: 1))
        let removed = try Self.await(watcher, topic: "vlm/stdin/questions") {
            Self.questions($0) == ["what color is the car?"]
        }
        #expect(removed != nil, "\(log())")
        let set = #"{"questions": ["is the door open?"]}"#
        _ = watcher.client.publish(MQTTMessage(topic: "vlm/stdin/questions/set", payload: Array(set.utf8), qos: 1))
        #expect(
            try Self.await(watcher, topic: "vlm/stdin/questions") { Self.questions($0) == ["is the door open?"] }
                != nil)

        // Each bad request gets one reason on errors, and the questions stay as they were.
        let tooLong = Array(repeating: "door", count: 60).joined(separator: " ")
        let bad: [(String, String, String)] = [
            ("add", "not json", "not valid JSON"),
            ("add", #"{"questions": [""]}"#, "questions[0] is empty"),
            ("set", #"{"questions": "is it day?"}"#, "must be an array of strings"),
            ("add", #"{"queries": ["a dog"]}"#, "unknown field 'queries'"),
            ("add", #"{"questions": ["\#(tooLong)"]}"#, "too long for the model's 40 positions"),
            ("add", #"{"questions": ["\#(String(repeating: "x", count: 400))"]}"#, "longer than 300 characters"),
            ("remove", #"{"questions": []}"#, "send at least one question"),
        ]
        for (action, payload, reason) in bad {
            _ = watcher.client.publish(
                MQTTMessage(topic: "vlm/stdin/questions/\(action)", payload: Array(payload.utf8), qos: 1))
            let error = try Self.await(watcher, topic: "vlm/stdin/errors") {
                $0["error"]?.string?.contains(reason) == true
            }
            #expect(error?["topic"]?.string == "vlm/stdin/questions/\(action)", "\(payload): \(log())")
        }
        let last = try #require(try Self.await(watcher, topic: "vlm/stdin/questions"))
        #expect(Self.questions(last) == ["is the door open?"])
        #expect(live.run.isRunning)
    }
}
