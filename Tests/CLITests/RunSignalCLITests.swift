import Foundation
import TestSupport
import Testing

/// Signals during a file run (a clip looped to 100 s, so it is still running): the service group drains the graph
/// and exits 0 with complete results; a second signal exits at once with 130; a drain longer than
/// `--drain-timeout` ends with one line and status 2.
@Suite struct RunSignalCLITests {
    /// A run of the looped clip, started and given time to score a few frames.
    struct Run {
        let child: ChildProcess
        let log: URL

        var text: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

        init(_ extra: [String] = []) throws {
            let dir = try Fixtures.temporaryDirectory("vlm-run-signal")
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
            log = dir.appendingPathComponent("run.log")
            child = try ChildProcess(
                try #require(CLIRunner.executable).path,
                [long.path, "--query", "a person", "--fps", "10", "--json", "--model", Fixtures.url("tiny-clip").path]
                    + extra,
                output: log)
            let deadline = Date().addingTimeInterval(60)
            while Date() < deadline, child.isRunning,
                text.split(separator: "\n").filter({ $0.contains("\"type\":\"score\"") }).count < 5
            {
                Thread.sleep(forTimeInterval: 0.05)
            }
            try #require(child.isRunning, "the run ended before it could be signalled: \(text.suffix(500))")
        }
    }

    @Test("SIGTERM drains a file run: exit 0, streams ended, summary marked interrupted")
    func sigtermDrains() throws {
        let run = try Run()
        run.child.send(SIGTERM)
        let status = try #require(run.child.wait(timeout: 10), "still running 10 s after SIGTERM")
        let text = run.text
        #expect(status == 0, "wait status \(status): \(text.suffix(500))")
        let lines = text.split(separator: "\n")
        let summaryLine = try #require(lines.last { $0.contains("\"type\":\"summary\"") })
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(summaryLine.utf8)) as? [String: Any])
        #expect(summary["interrupted"] as? Bool == true)
        // 100 s at 10 frames/s: the drain stopped it early, and every admitted frame was analysed.
        let count = { (key: String) in summary[key] as? Int ?? -1 }
        #expect(count("frames_sampled") < 1000)
        #expect(count("frames_analyzed") == count("frames_encoded") + count("frames_reused"), "\(summaryLine)")
        // Every sampled frame is accounted for, the one caught by the stop as dropped (a review found it in neither).
        #expect(
            count("frames_sampled") == count("frames_encoded") + count("frames_reused") + count("frames_dropped"),
            "\(summaryLine)")
        #expect(lines.contains { $0.contains("\"type\":\"status\"") && $0.contains("\"ended\"") })
        #expect(!text.contains("error:"))
    }

    @Test("a second signal exits at once with status 130 and one line")
    func secondSignal() throws {
        let run = try Run()
        run.child.send(SIGTERM)
        run.child.send(SIGINT)
        let status = try #require(run.child.wait(timeout: 10), "still running 10 s after two signals")
        #expect((status & 0x7f) == 0 && (status >> 8) & 0xff == 130, "wait status \(status)")
        let errors = run.text.split(separator: "\n").filter { $0.hasPrefix("error:") }
        #expect(errors == ["error: interrupted again; exiting without draining"])
    }

    @Test("a drain longer than --drain-timeout exits 2 with one line")
    func drainTimeout() throws {
        let run = try Run(["--drain-timeout", "0.001"])
        run.child.send(SIGTERM)
        let status = try #require(run.child.wait(timeout: 10), "still running 10 s after SIGTERM")
        #expect((status & 0x7f) == 0 && (status >> 8) & 0xff == 2, "wait status \(status)")
        let errors = run.text.split(separator: "\n").filter { $0.hasPrefix("error:") }
        #expect(
            errors == [
                "error: the pipeline did not drain within 0.001 s after the stop request; results may be incomplete"
            ])
    }
}
