import ArgumentParser
import Foundation
import Logging
import VLMCore
import VLMPublish

/// `vlm-stream bench mqtt`: messages/s through the MQTT publisher (outbox, PUBACK tracking) at several windows.
struct BenchMQTTCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mqtt",
        abstract: "Publish QoS 1 events to a broker and report acknowledged messages/s per in-flight window.",
        discussion: """
            Each window size runs on its own stream (its own connection and outbox) against the broker given with
            --mqtt; scripts/bench-mqtt.sh starts a private mosquitto on a free loopback port and runs this.
            The last line is a JSON object.
            """
    )

    @Option(name: .customLong("mqtt"), help: ArgumentHelp("Broker URL.", valueName: "url"))
    var url: String

    @Option(help: "Events to publish per window size.")
    var messages: Int = 5000

    @Option(help: "Comma-separated in-flight windows to compare.")
    var windows: String = "1,4,16,64"

    func validate() throws {
        guard messages >= 1 else { throw ValidationError("--messages must be at least 1.") }
        _ = try MQTTSettings.parseURL(url)
    }

    func run() throws {
        let outbox = FileManager.default.temporaryDirectory.appendingPathComponent("vlm-bench-mqtt-\(getpid())")
        defer { try? FileManager.default.removeItem(at: outbox) }
        var logger = Logger(label: "vlm.bench.mqtt")
        logger.logLevel = .warning
        var results: [String: Double] = [:]
        for window in windows.split(separator: ",").compactMap({ Int($0) }) {
            var settings = try MQTTSettings(url: url)
            settings.clientID = "vlm-bench-\(getpid())"
            settings.outboxDirectory = outbox.path
            settings.maxInflight = window
            settings.statsInterval = 0
            settings.outboxLimit = max(10_000, messages + 10)
            let stream = "bench-w\(window)"
            let publisher = try MQTTPublisher(settings: settings, streams: [stream], logger: logger)
            guard publisher.waitUntilConnected(timeout: 5) else {
                throw ValidationError("broker \(settings.broker.redacted) not reachable")
            }
            publisher.waitUntilDelivered(timeout: 5)
            let start = DispatchTime.now()
            for i in 0..<messages {
                publisher.consume(
                    .event(
                        QueryEvent(
                            type: .update, stream: stream, query: "person", startPTS: 0,
                            endPTS: Double(i) / 10, peakScore: 0.7, peakPTS: Double(i) / 20)))
            }
            let queued = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
            let delivered = publisher.waitUntilDelivered(timeout: 120)
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
            publisher.finish()
            let rate = Double(messages) / seconds
            results["window\(window)"] = rate.rounded()
            print(
                String(
                    format: "window %3d: %6d events acknowledged in %.2f s = %8.0f msg/s (enqueue %.2f s)%@",
                    window, messages, seconds, rate, queued, delivered ? "" : " (TIMED OUT)"))
        }
        let json = try JSONSerialization.data(withJSONObject: results, options: [.sortedKeys])
        print(String(decoding: json, as: UTF8.self))
    }
}
