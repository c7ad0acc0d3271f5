import Foundation
import Logging
import ServiceLifecycle
import VLMVideo

/// The indexing worker as a service: indexes `inputs` one after another through `pipeline`, telling `report` how
/// each went. Graceful shutdown (SIGINT/SIGTERM) drains the current video's graph (its encoded frames are
/// committed) and starts no other; that video reports `.interrupted`.
public struct IndexService: Service {
    /// One video's result.
    public struct Report: Sendable {
        /// The file.
        public var url: URL
        /// What happened, or why it failed.
        public var result: Result<IndexOutcome, any Error>
        /// Wall time spent on it.
        public var seconds: Double
    }

    /// The composition.
    public let pipeline: IndexPipeline
    /// The files, in order.
    public let inputs: [URL]
    /// Called after each video; returns false to stop the run (an index that cannot be written, an interruption).
    public let report: @Sendable (Report) -> Bool
    /// A file that ends early (the frames before the damage were indexed).
    public let onDamage: @Sendable (VideoError) -> Void
    /// Each stored frame.
    public let onProgress: @Sendable (IndexProgress) -> Void

    /// A worker over `inputs`.
    public init(
        pipeline: IndexPipeline, inputs: [URL], report: @escaping @Sendable (Report) -> Bool,
        onDamage: @escaping @Sendable (VideoError) -> Void = { _ in },
        onProgress: @escaping @Sendable (IndexProgress) -> Void = { _ in }
    ) {
        self.pipeline = pipeline
        self.inputs = inputs
        self.report = report
        self.onDamage = onDamage
        self.onProgress = onProgress
    }

    public func run() async throws {
        await withGracefulShutdownHandler {
            for url in inputs {
                let started = ContinuousClock.now
                let result: Result<IndexOutcome, any Error>
                do {
                    result = .success(try await pipeline.index(url, onDamage: onDamage, onProgress: onProgress))
                } catch {
                    result = .failure(error)
                }
                let elapsed = ContinuousClock.now - started
                let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
                guard report(Report(url: url, result: result, seconds: seconds)) else { return }
                if case .success(.interrupted) = result { return }
            }
        } onGracefulShutdown: { [pipeline = self.pipeline] in
            pipeline.stop()
        }
    }
}

extension IndexService {
    /// Runs this worker in a `ServiceGroup` that turns SIGINT/SIGTERM into a graceful shutdown (the current video's
    /// frames are committed) and exits with status 130 at once on a second signal (every committed chunk stays).
    public func runWithSignals(logger: Logger) async throws {
        try await runWithSignals(named: "index", logger: logger)
    }
}
