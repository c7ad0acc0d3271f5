import Foundation
import TestSupport
import Testing

/// SIGTERM during a file run (a clip looped to 100 s, so it is still running): the service group drains the graph
/// and the run exits 0 with complete results; the JSON summary says it was interrupted.
@Suite struct RunSignalCLITests {
    @Test("SIGTERM drains a file run: exit 0, streams ended, summary marked interrupted")
    func sigtermDrains() throws {
        let dir = try Fixtures.temporaryDirectory("vlm-run-sigterm")
        let long = dir.appendingPathComponent("long.mp4")
        let ffmpeg = Process()
        ffmpeg.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        ffmpeg.arguments = [
            "ffmpeg", "-v", "error", "-y", "-stream_loop", "9", "-i", Fixtures.sampleVideo("plaza.mp4").path, "-c",
            "copy", long.path,
        ]
        try ffmpeg.run()
        ffmpeg.waitUntilExit()
        try #require(ffmpeg.terminationStatus == 0)
        let log = dir.appendingPathComponent("run.log")
        let child = try ChildProcess(
            try #require(CLIRunner.executable).path,
            [long.path, "--query", "a person", "--fps", "10", "--json", "--model", Fixtures.url("tiny-clip").path],
            output: log)
        func text() -> String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, child.isRunning,
            text().split(separator: "\n").filter({ $0.contains("\"type\":\"score\"") }).count < 5
        {
            Thread.sleep(forTimeInterval: 0.05)
        }
        try #require(child.isRunning, "the run ended before SIGTERM: \(text().suffix(500))")
        child.send(SIGTERM)
        let status = try #require(child.wait(timeout: 10), "still running 10 s after SIGTERM")
        #expect(status == 0, "wait status \(status): \(text().suffix(500))")
        let lines = text().split(separator: "\n")
        let summaryLine = try #require(lines.last { $0.contains("\"type\":\"summary\"") })
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(summaryLine.utf8)) as? [String: Any])
        #expect(summary["interrupted"] as? Bool == true)
        // 100 s at 10 frames/s: the drain stopped it early, and every admitted frame was analysed.
        let count = { (key: String) in summary[key] as? Int ?? -1 }
        #expect(count("frames_sampled") < 1000)
        #expect(count("frames_analyzed") == count("frames_encoded") + count("frames_reused"), "\(summaryLine)")
        #expect(lines.contains { $0.contains("\"type\":\"status\"") && $0.contains("\"ended\"") })
        #expect(!text().contains("error:"))
    }
}
