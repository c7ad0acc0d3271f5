import ArgumentParser
import Foundation
import Logging
import VLMCore
import VLMGraph
import VLMPipeline
import VLMPublish

/// Runs a `PipelineSpec` from the terminal: the composition (`PipelineApplication`: graph, MQTT, metrics as
/// services with graceful shutdown on SIGINT/SIGTERM) plus what the terminal shows: the progress bar, the match
/// summary, the run summary, and failures as one line and a non-zero exit (2 when a drain outlasted its deadline).
struct PipelineRunner {
    var spec: PipelineSpec
    var mqtt: MQTTSettings?
    var json: Bool
    var drainTimeout: Double

    func run() async throws {
        var logger = Logger(label: "vlm.run")
        logger.logLevel = .warning
        let jsonOnStdout = json || spec.outputs.json == "-"
        // A progress bar only for files, only when both streams are terminals, and never under --json.
        let bar = ProgressBar(enabled: !json && isatty(STDOUT_FILENO) == 1 && isatty(STDERR_FILENO) == 1)
        let stdout = LineWriter(handle: .standardOutput, ownsHandle: false, progress: bar)
        let progress = Locked<FrameProgress?>(nil)
        let app = try PipelineApplication(
            spec: spec, mqtt: mqtt, drainTimeout: drainTimeout, stdout: stdout, logger: logger,
            onProgress: { _, pts in progress.current?.advance(to: pts) })
        if let url = app.metricsURL { FileHandle.standardError.write(Data("metrics: \(url)\n".utf8)) }
        if let duration = app.built.totalDuration, duration > 0 {
            progress.withLock { $0 = FrameProgress(bar: bar, duration: duration) }
        }

        let summary: RunSummary
        do {
            summary = try await app.run()
        } catch let error as PipelineError where error == .drainTimeout(drainTimeout) {
            bar.clear()
            FileHandle.standardError.write(Data("error: \(error.description)\n".utf8))
            throw ExitCode(2)
        }
        progress.withLock { $0 = nil }
        bar.clear()
        printMatchSummary(app.built.matcher, json: jsonOnStdout, to: stdout)

        if jsonOnStdout {
            stdout.write(summaryLine(summary, interrupted: app.graph.wasInterrupted))
        }
        FileHandle.standardError.write(Data((summary.line + "\n").utf8))
        if let error = summary.error {
            if let error = error as? UserFacingError { throw error }
            throw PipelineRunError(description: "\(error)")
        }
    }
}

/// `{"type":"summary",…}`: the run's counters as the last JSON line.
func summaryLine(_ summary: RunSummary, interrupted: Bool) -> String {
    let c = summary.counts
    let fields: [(String, String)] = [
        ("type", "\"summary\""), ("frames_decoded", "\(c.decoded)"), ("frames_sampled", "\(c.sampled)"),
        ("frames_encoded", "\(c.encoded)"), ("frames_reused", "\(c.reused)"), ("frames_dropped", "\(c.dropped)"),
        ("frames_analyzed", "\(c.analyzed)"), ("fps", String(format: "%.3f", summary.framesPerSecond)),
        ("wall_s", String(format: "%.3f", summary.wallSeconds)), ("interrupted", "\(interrupted)"),
    ]
    return "{" + fields.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}"
}

/// A failure without its own user-facing description.
struct PipelineRunError: UserFacingError {
    var description: String
}
