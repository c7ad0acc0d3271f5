import ArgumentParser
import Foundation
import Logging
import VLMCore
import VLMGraph
import VLMPipeline
import VLMPublish
import VLMServe

/// Runs a `PipelineSpec` from the terminal: the composition (`PipelineApplication`: graph, MQTT, metrics as
/// services with graceful shutdown on SIGINT/SIGTERM) plus what the terminal shows: the progress bar, the match
/// summary, the run summary, and failures as one line and a non-zero exit (2 when a drain outlasted its deadline).
struct PipelineRunner {
    var spec: PipelineSpec
    var mqtt: MQTTSettings?
    /// The live view's server (`--http`), or nil.
    var http: ServeOptions?
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
        // Where the HTTP server listens, once it does (port 0 picks one): the live page and the metrics.
        let host = http?.host ?? spec.metricsHost
        let shown = host.contains(":") ? "[\(host)]" : host
        let live = http != nil
        let app = try PipelineApplication(
            spec: spec, mqtt: mqtt, http: http, drainTimeout: drainTimeout, stdout: stdout, logger: logger,
            onProgress: { _, pts in progress.current?.advance(to: pts) },
            onListening: { port in
                var lines = "metrics: http://\(shown):\(port)/metrics\n"
                if live { lines = "live: http://\(shown):\(port)/live\n" + lines }
                FileHandle.standardError.write(Data(lines.utf8))
            })
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

        let published = app.mqtt.map { mqtt in
            app.built.sources.compactMap { mqtt.publisher.statistics(stream: $0.stream) }.reduce(into: Published()) {
                $0.add($1)
            }
        }
        if jsonOnStdout {
            stdout.write(
                ResultJSON.line(
                    SummaryLine(
                        summary: summary, interrupted: app.graph.wasInterrupted, mqtt: published,
                        error: summary.error.map { ($0 as? UserFacingError)?.description ?? "\($0)" })))
        }
        FileHandle.standardError.write(Data((summary.line + "\n").utf8))
        // What every output was handed, so a run that matched nothing still shows what it did.
        var outputs = spec.outputs.names
        if let published, let broker = spec.outputs.mqtt?.broker.redacted {
            outputs = outputs.filter { !$0.hasPrefix("MQTT") } + ["MQTT \(broker) (\(published.description))"]
        }
        FileHandle.standardError.write(
            Data((summary.resultsLine + " → " + outputs.joined(separator: ", ") + "\n").utf8))
        if let error = summary.error {
            if let error = error as? UserFacingError { throw error }
            throw PipelineRunError(description: "\(error)")
        }
        // Results that could not be written (a full disk, /dev/full) are a failed run, not exit 0.
        if let failure = stdout.failure ?? app.built.writeFailure { throw failure }
    }
}

/// `{"type":"summary",…}`: the run's counters as the last JSON line, in the one result encoding (`ResultJSON`).
struct SummaryLine: Encodable {
    var summary: RunSummary
    var interrupted: Bool
    var mqtt: Published?
    /// Why the run failed (a damaged input), the line stderr ends with; absent when it did not.
    var error: String?

    enum CodingKeys: String, CodingKey {
        case type, fps, interrupted, results, mqtt, error
        case decoded = "frames_decoded"
        case sampled = "frames_sampled"
        case encoded = "frames_encoded"
        case reused = "frames_reused"
        case dropped = "frames_dropped"
        case analyzed = "frames_analyzed"
        case wall = "wall_s"
        case captionsCoalesced = "captions_coalesced"
        case captionsFailed = "captions_failed"
    }

    func encode(to encoder: Encoder) throws {
        let c0 = summary.counts
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode("summary", forKey: .type)
        try c.encode(c0.decoded, forKey: .decoded)
        try c.encode(c0.sampled, forKey: .sampled)
        try c.encode(c0.encoded, forKey: .encoded)
        try c.encode(c0.reused, forKey: .reused)
        try c.encode(c0.dropped, forKey: .dropped)
        try c.encode(c0.analyzed, forKey: .analyzed)
        try c.encode(ResultJSON.number(summary.framesPerSecond), forKey: .fps)
        try c.encode(ResultJSON.number(summary.wallSeconds), forKey: .wall)
        try c.encode(interrupted, forKey: .interrupted)
        try c.encode(c0.results, forKey: .results)
        try c.encode(c0.captionsCoalesced, forKey: .captionsCoalesced)
        try c.encode(c0.captionsFailed, forKey: .captionsFailed)
        try c.encodeIfPresent(mqtt, forKey: .mqtt)
        try c.encodeIfPresent(error, forKey: .error)
    }
}

/// MQTT messages of a run, over all its streams: acknowledged, still waiting, dropped.
struct Published: Encodable {
    var published = 0
    var pending = 0
    var dropped = 0

    mutating func add(_ statistics: MQTTStatistics) {
        published += statistics.published
        pending += statistics.pending + statistics.inflight
        dropped += statistics.dropped
    }

    /// `12 published, 0 waiting, 0 dropped`.
    var description: String { "\(published) published, \(pending) waiting, \(dropped) dropped" }
}

extension OutputsSpec {
    /// The outputs a run writes to, for the closing line: `terminal`, `JSON Lines (stdout)`, `SRT plaza.srt` ….
    var names: [String] {
        var names: [String] = []
        if terminal ?? (json != "-") { names.append("terminal") }
        if let json { names.append("JSON Lines (\(json == "-" ? "stdout" : json))") }
        if let srt { names.append("SRT \(srt)") }
        if let vtt { names.append("WebVTT \(vtt)") }
        if let mqtt { names.append("MQTT \(mqtt.broker.redacted)") }
        return names
    }
}

/// A failure without its own user-facing description.
struct PipelineRunError: UserFacingError {
    var description: String
}
