import Foundation
import TestSupport
import Testing

/// `vlm-stream run … --mqtt` as a child process against a real mosquitto, watched by `mosquitto_sub`.
@Suite(.serialized, .enabled(if: Mosquitto.executable != nil, "needs the mosquitto broker (scripts/install-deps)"))
struct MQTTRunCLITests {
    /// `mosquitto_sub -v` output: one `topic payload` line per message, in arrival order.
    final class Watcher {
        let file: URL
        let process: ChildProcess

        init(port: Int, directory: URL, topic: String = "vlm/#") throws {
            file = directory.appendingPathComponent("sub.txt")
            let binary =
                ["/usr/bin/mosquitto_sub", "/usr/local/bin/mosquitto_sub"]
                .first { FileManager.default.isExecutableFile(atPath: $0) } ?? "mosquitto_sub"
            process = try ChildProcess(
                binary, ["-h", "127.0.0.1", "-p", "\(port)", "-t", topic, "-v", "-q", "1"], output: file)
        }

        var messages: [(topic: String, payload: String)] {
            let text = (try? String(contentsOf: file, encoding: .utf8)) ?? ""
            return text.split(separator: "\n").compactMap { line -> (topic: String, payload: String)? in
                let parts = line.split(separator: " ", maxSplits: 1)
                guard parts.count == 2 else { return nil }
                return (String(parts[0]), String(parts[1]))
            }
        }

        func wait(timeout: Double, until condition: ([(topic: String, payload: String)]) -> Bool) -> Bool {
            let deadline = Date().addingTimeInterval(timeout)
            while Date() < deadline {
                if condition(messages) { return true }
                Thread.sleep(forTimeInterval: 0.02)
            }
            return condition(messages)
        }
    }

    /// Starts `vlm-stream run` on plaza.mp4 (or on `feed`, a pipe named plaza) publishing to the broker on `port`.
    static func run(_ arguments: [String], port: Int, directory: URL, feed: VideoPipeFeed? = nil) throws
        -> ChildProcess
    {
        let binary = try #require(CLIRunner.executable, "vlm-stream is not built")
        let root = Fixtures.root.path
        return try ChildProcess(
            binary.path,
            ["run"] + (feed?.runArguments ?? [Fixtures.sampleVideo("plaza.mp4").path]) + [
                "--model", root + "/Tests/Fixtures/tiny-clip", "--fps", "25",
                "--enter", "0.01", "--exit", "0.005", "--min-duration", "0", "--baseline", "0",
                "--mqtt", "mqtt://127.0.0.1:\(port)", "--mqtt-outbox", directory.appendingPathComponent("outbox").path,
                "--mqtt-client-id", "cli-\(UUID().uuidString.prefix(6))",
            ] + arguments,
            output: directory.appendingPathComponent("run.log"))
    }

    /// Writes the rest of the clip once the query set echoed on `queries` holds `label`: the queries sent before
    /// arrive while the run is mid-clip, and the frames after them are matched against the new set.
    static func finish(_ video: VideoPipeFeed, onceEchoed label: String, by watcher: Watcher) throws {
        #expect(
            watcher.wait(timeout: 60) {
                $0.contains { $0.topic == "vlm/plaza/queries" && $0.payload.contains(label) }
            })
        try video.finish()
    }

    static func kind(_ topic: String) -> String? {
        let kinds = [
            "events": "event", "captions": "caption", "labels": "labels", "status": "status",
            "queries": "queries", "stats": "stats", "errors": "error",
        ]
        return kinds[String(topic.split(separator: "/").last ?? "")]
    }

    @Test func sigkillMidClipLeavesTheLastWillAndEveryMessageMatchesItsSchema() throws {
        let broker = try Mosquitto()
        defer { withExtendedLifetime(broker) {} }  // the broker lives until the test ends
        let directory = try Fixtures.temporaryDirectory("mqtt-cli")
        let watcher = try Watcher(port: broker.port, directory: directory)
        Thread.sleep(forTimeInterval: 0.3)
        let video = try VideoPipeFeed(video: Fixtures.sampleVideo("plaza.mp4"), directory: directory, name: "plaza")
        let child = try Self.run(
            ["--query", "person", "--query", "red car", "--labels", "a person,a car", "--mqtt-thumbnails"],
            port: broker.port, directory: directory, feed: video)
        // Mid-clip (the rest of it is never written): some labels are out, the run goes on.
        try video.feed(through: 0.5)
        #expect(watcher.wait(timeout: 60) { $0.filter { $0.topic == "vlm/plaza/labels" }.count >= 5 })
        #expect(child.isRunning)
        let killed = Date()
        child.send(SIGKILL)
        child.wait(timeout: 10)
        let sawWill = watcher.wait(timeout: 5) { messages in
            messages.last { $0.topic == "vlm/plaza/status" }?.payload.contains("Last Will") == true
        }
        let log = (try? String(contentsOf: directory.appendingPathComponent("run.log"), encoding: .utf8)) ?? ""
        #expect(sawWill, "no Last Will; run log: \(log)")
        let delay = Date().timeIntervalSince(killed)
        print(String(format: "SIGKILL → Last Will on the status topic after %.2f s", delay))
        let will = try JSONValue.parse(try #require(watcher.messages.last { $0.topic == "vlm/plaza/status" }).payload)
        #expect(will["state"]?.string == "offline" && will["seq"]?.int == 0)
        for message in watcher.messages {
            let kind = try #require(Self.kind(message.topic), "unexpected topic \(message.topic)")
            let failures = try JSONSchema.load(kind).failures(try JSONValue.parse(message.payload))
            #expect(failures.isEmpty, "\(message.topic): \(failures)")
        }
        #expect(watcher.messages.contains { $0.topic == "vlm/plaza/events" })
        watcher.process.terminate()
    }

    @Test func queriesSetOverMQTTMidRunAreEchoedAndUsedByTheFollowingEvents() throws {
        let broker = try Mosquitto()
        defer { withExtendedLifetime(broker) {} }  // the broker lives until the test ends
        let directory = try Fixtures.temporaryDirectory("mqtt-cli")
        let watcher = try Watcher(port: broker.port, directory: directory)
        Thread.sleep(forTimeInterval: 0.3)
        let video = try VideoPipeFeed(video: Fixtures.sampleVideo("plaza.mp4"), directory: directory, name: "plaza")
        let child = try Self.run(["--query", "person"], port: broker.port, directory: directory, feed: video)
        try video.feed(through: 0.3)
        #expect(watcher.wait(timeout: 60) { $0.contains { $0.topic == "vlm/plaza/queries" } })
        let publish = try ChildProcess(
            "/usr/bin/mosquitto_pub",
            [
                "-h", "127.0.0.1", "-p", "\(broker.port)", "-q", "1", "-t", "vlm/plaza/queries/set",
                "-m", #"{"queries": ["forklift", "red car"]}"#,
            ])
        publish.wait(timeout: 10)
        try MQTTRunCLITests.finish(video, onceEchoed: "forklift", by: watcher)
        let finished = child.wait(timeout: 120)
        #expect(finished.map { WIFEXITED($0) && WEXITSTATUS($0) == 0 } == true)
        let messages = watcher.messages
        let echo = try #require(
            messages.lastIndex { $0.topic == "vlm/plaza/queries" && $0.payload.contains("forklift") })
        let queries = try JSONValue.parse(messages[echo].payload)["queries"]
        #expect(queries == .array([.string("forklift"), .string("red car")]))
        let later = messages[(echo + 1)...].filter { $0.topic == "vlm/plaza/events" }
            .compactMap { try? JSONValue.parse($0.payload) }
        #expect(later.contains { $0["query"]?.string == "forklift" })
        #expect(!later.contains { $0["query"]?.string == "person" && $0["type"]?.string == "start" })
        let status = try JSONValue.parse(try #require(messages.last { $0.topic == "vlm/plaza/status" }).payload)
        #expect(status["state"]?.string == "offline" && status["detail"]?.string == "stopped")
        watcher.process.terminate()
    }

    /// Issue 11: with `--labels`, `ended` was coalesced away by the later `offline` (seq 1 online, 2 online,
    /// 4 offline) whenever labels were still queued ahead of both. The broker is reached through a proxy that
    /// holds each PUBACK 10 ms, so labels do queue up (as against a distant broker). Every status the run reports
    /// must arrive, `ended` before `offline`, with no gap in `seq`.
    @Test func withLabelsTheStatusTopicShowsEndedThenOfflineWithoutASeqGap() throws {
        let broker = try Mosquitto()
        defer { withExtendedLifetime(broker) {} }  // the broker lives until the test ends
        let slowLink = try DelayingProxy(to: broker.port, delay: 0.01)
        let directory = try Fixtures.temporaryDirectory("mqtt-cli")
        let watcher = try Watcher(port: broker.port, directory: directory)
        Thread.sleep(forTimeInterval: 0.3)
        let child = try Self.run(
            ["--query", "person", "--labels", "a person,a car,a dog"], port: slowLink.port, directory: directory)
        let finished = child.wait(timeout: 120)
        let log = (try? String(contentsOf: directory.appendingPathComponent("run.log"), encoding: .utf8)) ?? ""
        #expect(finished.map { WIFEXITED($0) && WEXITSTATUS($0) == 0 } == true, "run log: \(log)")
        #expect(
            watcher.wait(timeout: 10) {
                $0.last { $0.topic == "vlm/plaza/status" }?.payload.contains("offline") == true
            })
        let statuses = try watcher.messages.filter { $0.topic == "vlm/plaza/status" }.map {
            try JSONValue.parse($0.payload)
        }
        let states = statuses.compactMap { $0["state"]?.string }
        let seqs = statuses.compactMap { $0["seq"]?.int }
        #expect(states.first == "online" && states.suffix(2) == ["ended", "offline"], "states: \(states)")
        #expect(seqs == Array(1...max(1, statuses.count)), "seq: \(seqs)")
        // Every label went out too (one per sampled frame: 4 s at 25 fps).
        let labels = watcher.messages.filter { $0.topic == "vlm/plaza/labels" }.count
        #expect(labels == 100, "\(labels) labels")
        // The run's closing lines say what went to the broker: every label and status acknowledged, none waiting.
        let published = try #require(
            log.firstMatch(of: /MQTT mqtt:\/\/127\.0\.0\.1:\d+ \((\d+) published, 0 waiting, 0 dropped\)/), "\(log)")
        #expect((Int(published.1) ?? 0) >= labels + 2, "\(log)")
        #expect(log.contains(/results: .*\b100 labels\b/), "\(log)")
        watcher.process.terminate()
    }
}

private func WIFEXITED(_ status: Int32) -> Bool { status & 0x7F == 0 }
private func WEXITSTATUS(_ status: Int32) -> Int32 { (status >> 8) & 0xFF }
