import Foundation
import TestSupport
import Testing

/// An image query sent over MQTT to a running `vlm-stream run --mqtt` (a real mosquitto): a base64 JPEG on
/// `queries/add` becomes a query that fires; bad base64, a file that is not a picture and a corrupt JPEG are each
/// answered on `errors` and the run goes on.
@Suite(.serialized, .enabled(if: Mosquitto.executable != nil, "needs the mosquitto broker (scripts/install-deps)"))
struct ImageQueryMQTTCLITests {
    /// Publishes the file's contents on `topic` (QoS 1) with mosquitto_pub.
    static func publish(_ file: URL, topic: String, port: Int) throws {
        let publish = try ChildProcess(
            "/usr/bin/mosquitto_pub", ["-h", "127.0.0.1", "-p", "\(port)", "-q", "1", "-t", topic, "-f", file.path])
        #expect(publish.wait(timeout: 10) == 0)
    }

    @Test func aBase64JPEGOnQueriesAddBecomesAQueryAndBadImagesAreAnsweredOnErrors() throws {
        let broker = try Mosquitto()
        let directory = try Fixtures.temporaryDirectory("image-mqtt-cli")
        let frame = directory.appendingPathComponent("plaza-3.jpg")
        let ffmpeg = Process()
        ffmpeg.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        ffmpeg.arguments = [
            "ffmpeg", "-v", "error", "-y", "-ss", "3", "-i", Fixtures.sampleVideo("plaza.mp4").path, "-frames:v", "1",
            frame.path,
        ]
        try ffmpeg.run()
        ffmpeg.waitUntilExit()
        let jpeg = try Data(contentsOf: frame)
        let truncated = try Data(contentsOf: Fixtures.url("truncated.jpg"))
        let payloads: [(String, [String: Any])] = [
            ("bad-base64", ["label": "broken", "images": ["@@@ not base64 @@@"]]),
            ("not-image", ["label": "text", "images": [Data("hello, world".utf8).base64EncodedString()]]),
            ("corrupt", ["label": "corrupt", "images": [truncated.base64EncodedString()]]),
            ("good", ["label": "plaza frame", "images": [jpeg.base64EncodedString()]]),
        ]
        let watcher = try MQTTRunCLITests.Watcher(port: broker.port, directory: directory)
        Thread.sleep(forTimeInterval: 0.3)
        let video = try VideoPipeFeed(video: Fixtures.sampleVideo("plaza.mp4"), directory: directory, name: "plaza")
        let child = try MQTTRunCLITests.run(["--no-gate"], port: broker.port, directory: directory, feed: video)
        try video.feed(through: 0.3)
        #expect(watcher.wait(timeout: 60) { $0.contains { $0.topic == "vlm/plaza/queries" } })
        for (name, object) in payloads {
            let file = directory.appendingPathComponent("\(name).json")
            try JSONSerialization.data(withJSONObject: object).write(to: file)
            try Self.publish(file, topic: "vlm/plaza/queries/add", port: broker.port)
        }
        try MQTTRunCLITests.finish(video, onceEchoed: "plaza frame", by: watcher)
        let finished = child.wait(timeout: 120)
        let log = (try? String(contentsOf: directory.appendingPathComponent("run.log"), encoding: .utf8)) ?? ""
        #expect(finished.map { $0 & 0x7F == 0 && ($0 >> 8) & 0xFF == 0 } == true, "run log: \(log)")
        #expect(watcher.wait(timeout: 10) { $0.contains { $0.topic == "vlm/plaza/events" } })
        let errors = watcher.messages.filter { $0.topic == "vlm/plaza/errors" }
            .compactMap { try? JSONValue.parse($0.payload)["error"]?.string }
        for expected in [
            "images[0] is not valid base64", "images[0] is not a JPEG or PNG file", "cannot read image 'images[0]'",
        ] {
            #expect(errors.contains { $0.contains(expected) }, "\(expected) in \(errors)")
        }
        let echoed = watcher.messages.filter { $0.topic == "vlm/plaza/queries" }.map(\.payload)
        #expect(echoed.last?.contains("plaza frame") == true, "\(echoed)")
        #expect(!echoed.contains { $0.contains("broken") || $0.contains("corrupt") })
        let events = watcher.messages.filter { $0.topic == "vlm/plaza/events" }
            .compactMap { try? JSONValue.parse($0.payload) }
        #expect(events.contains { $0["query"]?.string == "plaza frame" && $0["type"]?.string == "start" })
        watcher.process.terminate()
    }
}

/// A query tuned by `vlm-stream tune` sent over MQTT (`queries/add {"query_file": …}`) to a running
/// `vlm-stream run --mqtt`: it becomes a query that fires on its own clip; a file tuned for another model and one
/// that is not a query file are each answered on `errors`.
@Suite(.serialized, .enabled(if: Mosquitto.executable != nil, "needs the mosquitto broker (scripts/install-deps)"))
struct TunedQueryMQTTCLITests {
    @Test func aTunedQueryFileOnQueriesAddBecomesAQueryAndBadFilesAreAnsweredOnErrors() throws {
        let directory = try Fixtures.temporaryDirectory("tuned-mqtt-cli")
        let model = ["--model", "Tests/Fixtures/tiny-clip"]
        let (plaza, megamind) = (Fixtures.sampleVideo("plaza.mp4").path, Fixtures.sampleVideo("megamind.mp4").path)
        let db = directory.appendingPathComponent("index.sqlite").path
        let indexed = try CLIRunner.run(["index", plaza, megamind, "--db", db, "--fps", "4"] + model)
        try #require(indexed.status == 0, "index: \(indexed.stderr)")
        let out = directory.appendingPathComponent("forklift.query.json")
        let tuned = try CLIRunner.run(
            [
                "tune", "--db", db, "--query", "a forklift", "--positive", "\(plaza)@0-10", "--negative",
                "\(megamind)@0-8", "--out", out.path,
            ] + model)
        try #require(tuned.status == 0, "tune: \(tuned.stderr)")
        let file = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: out)) as? [String: Any])
        let label = try #require(file["label"] as? String)
        var otherModel = file
        otherModel["model"] = "someone/else"
        var broken = file
        broken["adapter_u"] = [1, 2, 3]
        let payloads: [(String, [String: Any])] = [
            ("other-model", ["query_file": otherModel]),
            ("broken", ["query_file": broken]),
            ("not-object", ["query_file": "forklift.query.json"]),
            ("good", ["query_file": file]),
        ]
        let broker = try Mosquitto()
        let watcher = try MQTTRunCLITests.Watcher(port: broker.port, directory: directory)
        Thread.sleep(forTimeInterval: 0.3)
        let video = try VideoPipeFeed(video: Fixtures.sampleVideo("plaza.mp4"), directory: directory, name: "plaza")
        let child = try MQTTRunCLITests.run(["--no-gate"], port: broker.port, directory: directory, feed: video)
        try video.feed(through: 0.3)
        #expect(watcher.wait(timeout: 60) { $0.contains { $0.topic == "vlm/plaza/queries" } })
        for (name, object) in payloads {
            let payload = directory.appendingPathComponent("\(name).json")
            try JSONSerialization.data(withJSONObject: object).write(to: payload)
            try ImageQueryMQTTCLITests.publish(payload, topic: "vlm/plaza/queries/add", port: broker.port)
        }
        try MQTTRunCLITests.finish(video, onceEchoed: label, by: watcher)
        let finished = child.wait(timeout: 120)
        let log = (try? String(contentsOf: directory.appendingPathComponent("run.log"), encoding: .utf8)) ?? ""
        #expect(finished.map { $0 & 0x7F == 0 && ($0 >> 8) & 0xFF == 0 } == true, "run log: \(log)")
        let errors = watcher.messages.filter { $0.topic == "vlm/plaza/errors" }
            .compactMap { try? JSONValue.parse($0.payload)["error"]?.string }
        for expected in ["someone/else", "embedding and adapter shapes disagree", "'query_file' must be the JSON"] {
            #expect(errors.contains { $0.contains(expected) }, "\(expected) in \(errors)")
        }
        let echoed = watcher.messages.filter { $0.topic == "vlm/plaza/queries" }.map(\.payload)
        #expect(echoed.last?.contains(label) == true, "\(echoed)")
        let events = watcher.messages.filter { $0.topic == "vlm/plaza/events" }
            .compactMap { try? JSONValue.parse($0.payload) }
        #expect(events.contains { $0["query"]?.string == label && $0["type"]?.string == "start" }, "\(events.count)")
        watcher.process.terminate()
    }
}
