import Foundation
import Logging
import Prometheus
import VLMCore
import VLMGraph
import VLMPipeline
import VLMPublish

/// Runs a `PipelineSpec` from the terminal: builds the graph, serves metrics, shows progress, turns SIGINT and
/// SIGTERM into a graceful drain, prints the summary and maps failures to one line and a non-zero exit.
struct PipelineRunner {
    var spec: PipelineSpec
    var mqtt: MQTTSettings?
    var json: Bool
    var drainTimeout: Double

    func run() async throws {
        var logger = Logger(label: "vlm.run")
        logger.logLevel = .warning
        let registry = PrometheusCollectorRegistry()
        let factory = PrometheusMetricsFactory(registry: registry)

        let progress = Locked<VLMPipeline.ProgressBar?>(nil)
        var builder = PipelineBuilder(spec: spec, logger: logger, metricsFactory: factory)
        let publisher = try mqtt.map { try MQTTOutput(settings: $0, spec: spec, logger: logger, builder: &builder) }
        let built = try builder.build(onProgress: { _, pts in progress.withLock { $0?.advance(to: pts) } })
        let graph = built.graph
        // MQTT control messages change the live query set of every stream.
        try publisher?.attach(built)

        var server: MetricsServer?
        if let port = spec.metricsPort {
            server = try MetricsServer(registry: registry, host: spec.metricsHost, port: port)
            FileHandle.standardError.write(
                Data("metrics: http://\(spec.metricsHost):\(server!.port)/metrics\n".utf8))
        }
        defer { server?.stop() }

        // A progress bar only for files, only when both streams are terminals, and never under --json.
        if !json, isatty(STDOUT_FILENO) == 1, let bar = VLMPipeline.ProgressBar.make(duration: built.totalDuration) {
            progress.withLock { $0 = bar }
            LineWriter.stdout.progress.withLock { $0 = bar }
        }

        let signals = SignalDrain(graph: graph, deadline: drainTimeout)
        let summary = await graph.run()
        signals.cancel()
        progress.withLock { $0?.clear() }
        LineWriter.stdout.progress.withLock { $0 = nil }
        printMatchSummary(built.matcher, json: json || spec.outputs.json == "-")

        if json || spec.outputs.json == "-" {
            LineWriter.stdout.write(summaryLine(summary, interrupted: signals.received))
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

/// SIGINT/SIGTERM → `graph.stop()` (drain); if the graph has not drained after `deadline` seconds the process exits
/// with status 2 and one line. A second signal exits at once.
final class SignalDrain {
    private let sources: [any DispatchSourceSignal]
    private let count = Locked(0)

    init(graph: StageGraph, deadline: Double) {
        var sources: [any DispatchSourceSignal] = []
        let count = self.count
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler {
                let n = count.withLock { c -> Int in
                    c += 1
                    return c
                }
                if n > 1 {
                    FileHandle.standardError.write(Data("error: interrupted again; exiting without draining\n".utf8))
                    exit(130)
                }
                graph.stop()
                DispatchQueue.global().asyncAfter(deadline: .now() + deadline) {
                    guard !graph.wait(timeout: 0) else { return }
                    FileHandle.standardError.write(
                        Data("error: \(PipelineError.drainTimeout(deadline).description)\n".utf8))
                    exit(2)
                }
            }
            source.resume()
            sources.append(source)
        }
        self.sources = sources
    }

    /// Whether a signal arrived.
    var received: Bool { count.current > 0 }

    /// Stops listening and restores the default handlers.
    func cancel() {
        for source in sources { source.cancel() }
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
    }
}
