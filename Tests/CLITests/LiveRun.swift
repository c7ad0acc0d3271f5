import Foundation
import TestSupport
import VLMCore

/// `vlm-stream run - … --http 127.0.0.1:0` fed by `ffmpeg -re -stream_loop -1` through stdin: a live source that
/// runs until SIGINT, with the live page's server on a free loopback port.
final class LiveRun: Sendable {
    let feeder: Process
    let run: Process
    let stderr: RunLiveCLITests.Collector
    let stdout: RunLiveCLITests.Collector
    /// The HTTP server's port.
    let port: Int
    var http: RawHTTP { RawHTTP(port: port) }

    /// Starts the run with `arguments` (after `-` and before `--http`), waits until the server listens.
    init(_ arguments: [String], video: String = "plaza.mp4") throws {
        guard let executable = CLIRunner.executable else {
            throw CocoaError(.fileNoSuchFile, userInfo: [NSLocalizedDescriptionKey: "vlm-stream is not built"])
        }
        feeder = Process()
        feeder.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        feeder.arguments = [
            "ffmpeg", "-loglevel", "error", "-re", "-stream_loop", "-1", "-i", Fixtures.sampleVideo(video).path, "-c",
            "copy", "-f", "mpegts", "-",
        ]
        let link = Pipe()
        feeder.standardOutput = link
        run = Process()
        run.executableURL = executable
        run.currentDirectoryURL = Fixtures.root
        run.arguments = ["-"] + arguments + ["--http", "127.0.0.1:0", "--model", "Tests/Fixtures/tiny-clip"]
        run.standardInput = link
        let out = Pipe()
        let err = Pipe()
        run.standardOutput = out
        run.standardError = err
        stdout = RunLiveCLITests.Collector(out)
        stderr = RunLiveCLITests.Collector(err)
        try feeder.run()
        try run.run()
        var port: Int?
        for _ in 0..<600 where port == nil && run.isRunning {
            Thread.sleep(forTimeInterval: 0.1)
            if let line = stderr.text.split(separator: "\n").first(where: { $0.hasPrefix("live: http://127.0.0.1:") }) {
                port = Int(line.dropFirst("live: http://127.0.0.1:".count).prefix { $0.isNumber })
            }
        }
        guard let port else {
            feeder.terminate()
            if run.isRunning { run.terminate() }
            throw CocoaError(
                .fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "no live: line in: \(stderr.text)"])
        }
        self.port = port
    }

    /// SIGINT, then waits up to `timeout` seconds; returns the exit status (nil if still running).
    @discardableResult
    func interrupt(timeout: Double = 60) -> Int32? {
        kill(run.processIdentifier, SIGINT)
        for _ in 0..<Int(timeout * 10) where run.isRunning { Thread.sleep(forTimeInterval: 0.1) }
        feeder.terminate()
        guard !run.isRunning else { return nil }
        run.waitUntilExit()
        return run.terminationStatus
    }

    deinit {
        feeder.terminate()
        if run.isRunning { run.terminate() }
    }
}
