import Foundation
import TestSupport
import Testing
import VLMCore

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// A live run fed by `ffmpeg -re` through stdin: the metrics endpoint answers over loopback during the run, and
/// SIGINT drains the graph and exits 0 with complete output.
@Suite struct RunLiveCLITests {
    /// Collects a pipe's bytes as they arrive.
    final class Collector: Sendable {
        private let data = Locked(Data())
        init(_ pipe: Pipe) {
            pipe.fileHandleForReading.readabilityHandler = { [data] handle in
                let chunk = handle.availableData
                data.withLock { $0 += chunk }
                if chunk.isEmpty { handle.readabilityHandler = nil }
            }
        }
        var text: String { String(decoding: data.current, as: UTF8.self) }
    }

    static func scrape(port: Int) throws -> (String, String) {
        let url = URL(string: "http://127.0.0.1:\(port)/metrics")!
        let answer = Locked<(body: String, type: String)?>(nil)
        URLSession.shared.dataTask(with: url) { data, response, _ in
            let body = data.map { String(decoding: $0, as: UTF8.self) } ?? ""
            let type = (response as? HTTPURLResponse)?.value(forHTTPHeaderField: "Content-Type") ?? ""
            answer.update { $0 = (body, type) }
        }.resume()
        return answer.wait(until: Date().addingTimeInterval(10), for: { $0 != nil }) { a, _ in
            (a?.body ?? "", a?.type ?? "")
        }
    }

    @Test("metrics scraped during a live run; SIGINT drains and exits 0 within the deadline")
    func metricsAndSigint() throws {
        let executable = try #require(CLIRunner.executable)
        let feeder = Process()
        feeder.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        // Real time (-re), looped forever, as MPEG-TS on stdout: a live source that never ends by itself.
        feeder.arguments = [
            "ffmpeg", "-loglevel", "error", "-re", "-stream_loop", "-1", "-i",
            Fixtures.sampleVideo("plaza.mp4").path, "-c", "copy", "-f", "mpegts", "-",
        ]
        let link = Pipe()
        feeder.standardOutput = link
        let run = Process()
        run.executableURL = executable
        run.currentDirectoryURL = Fixtures.root
        run.arguments = [
            "-", "--query", "a person", "--fps", "5", "--json", "--metrics-port", "0", "--model",
            "Tests/Fixtures/tiny-clip",
        ]
        run.standardInput = link
        let out = Pipe()
        let err = Pipe()
        run.standardOutput = out
        run.standardError = err
        let stdout = Collector(out)
        let stderr = Collector(err)
        try feeder.run()
        try run.run()
        defer {
            feeder.terminate()
            if run.isRunning { run.terminate() }
        }

        // Wait for the endpoint line and a few scored frames.
        var port: Int?
        for _ in 0..<300 where port == nil || !stdout.text.contains("\"type\":\"score\"") {
            Thread.sleep(forTimeInterval: 0.1)
            if port == nil, let line = stderr.text.split(separator: "\n").first(where: { $0.hasPrefix("metrics: ") }) {
                port = line.split(separator: ":").last.flatMap { Int($0.prefix { $0.isNumber }) }
            }
        }
        let metricsPort = try #require(port, "no metrics line in: \(stderr.text)")
        Thread.sleep(forTimeInterval: 1)
        let (body, contentType) = try Self.scrape(port: metricsPort)
        #expect(contentType.hasPrefix("text/plain"))
        #expect(body.contains("vlm_stage_frames_in_total{stage=\"encode\"}"), "\(body.prefix(500))")
        #expect(body.contains("vlm_stage_latency_seconds_bucket{stage=\"encode\""))
        #expect(body.contains("vlm_queue_depth{queue=\"source:stdin\"}"))
        let encoded = body.split(separator: "\n").first { $0.hasPrefix("vlm_stage_frames_out_total{stage=\"encode\"}") }
        #expect((encoded?.split(separator: " ").last.flatMap { Double($0) } ?? 0) > 0)

        let interrupted = Date()
        kill(run.processIdentifier, SIGINT)
        for _ in 0..<100 where run.isRunning { Thread.sleep(forTimeInterval: 0.1) }
        #expect(!run.isRunning, "still running 10 s after SIGINT")
        run.waitUntilExit()
        #expect(Date().timeIntervalSince(interrupted) < 6)
        #expect(run.terminationStatus == 0, "\(stderr.text)")
        Thread.sleep(forTimeInterval: 0.2)
        let lines = stdout.text.split(separator: "\n")
        let last = try #require(lines.last)
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any])
        #expect(summary["type"] as? String == "summary")
        #expect(summary["interrupted"] as? Bool == true)
        #expect(lines.contains { $0.contains("\"type\":\"status\"") && $0.contains("\"ended\"") })
        let pts = lines.filter { $0.contains("\"type\":\"score\"") }.compactMap { line -> Double? in
            let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            return object?["pts"] as? Double
        }
        #expect(pts.count >= 3 && pts == pts.sorted())
    }
}
