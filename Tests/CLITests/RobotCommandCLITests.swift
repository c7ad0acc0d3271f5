import Foundation
import TestSupport
import Testing

/// A robot starts `vlm-stream run --mqtt` with no query at all and sends its command later over MQTT.
@Suite(.serialized, .enabled(if: Mosquitto.executable != nil, "needs the mosquitto broker (scripts/install-deps)"))
struct RobotCommandCLITests {
    @Test func aQueryAddedOverMQTTToARunWithoutQueriesProducesEvents() throws {
        let broker = try Mosquitto()
        let directory = try Fixtures.temporaryDirectory("robot-cli")
        let watcher = try MQTTRunCLITests.Watcher(port: broker.port, directory: directory)
        Thread.sleep(forTimeInterval: 0.3)
        let video = try VideoPipeFeed(video: Fixtures.sampleVideo("plaza.mp4"), directory: directory, name: "plaza")
        let child = try MQTTRunCLITests.run([], port: broker.port, directory: directory, feed: video)
        try video.feed(through: 0.3)
        #expect(watcher.wait(timeout: 60) { $0.contains { $0.topic == "vlm/plaza/queries" } })
        let publish = try ChildProcess(
            "/usr/bin/mosquitto_pub",
            [
                "-h", "127.0.0.1", "-p", "\(broker.port)", "-q", "1", "-t", "vlm/plaza/queries/add",
                "-m", #"{"queries": ["the blue mug"]}"#,
            ])
        publish.wait(timeout: 10)
        try MQTTRunCLITests.finish(video, onceEchoed: "the blue mug", by: watcher)
        let finished = child.wait(timeout: 120)
        let log = (try? String(contentsOf: directory.appendingPathComponent("run.log"), encoding: .utf8)) ?? ""
        #expect(finished.map { $0 & 0x7F == 0 && ($0 >> 8) & 0xFF == 0 } == true, "run log: \(log)")
        let events = watcher.messages.filter { $0.topic == "vlm/plaza/events" }
            .compactMap { try? JSONValue.parse($0.payload) }
        #expect(events.contains { $0["query"]?.string == "the blue mug" && $0["type"]?.string == "start" })
        // Closed at the end of the file: every start has its end.
        let starts = events.filter { $0["type"]?.string == "start" }.count
        #expect(starts == events.filter { $0["type"]?.string == "end" }.count)
        watcher.process.terminate()
    }
}
