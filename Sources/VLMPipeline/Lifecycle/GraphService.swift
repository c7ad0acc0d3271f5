import Dispatch
import ServiceLifecycle
import VLMCore
import VLMGraph

/// A stage graph as a service: `run()` starts it and returns when every sink finished (the end of the input).
///
/// Graceful shutdown (SIGINT/SIGTERM through the `ServiceGroup`) stops the sources and lets the frames already
/// admitted finish; a drain that takes longer than `drainTimeout` seconds throws `PipelineError.drainTimeout`, so
/// the services after it still shut down and the process can exit with one line.
public final class GraphService: Service {
    /// The graph.
    public let graph: StageGraph
    /// Seconds a drain may take.
    public let drainTimeout: Double
    private let interrupted = Locked(false)

    /// A service running `graph`.
    public init(graph: StageGraph, drainTimeout: Double) {
        self.graph = graph
        self.drainTimeout = drainTimeout
    }

    /// True when a graceful shutdown stopped the graph before its input ended.
    public var wasInterrupted: Bool { interrupted.current }

    /// The run's counters (final once `run()` returned).
    public var summary: RunSummary { graph.summary }

    public func run() async throws {
        let (graph, interrupted, drainTimeout) = (self.graph, self.interrupted, self.drainTimeout)
        let finished = FirstOf<Bool>()
        graph.start()
        graph.whenFinished { finished.resume(true) }
        let drained = await withGracefulShutdownHandler {
            await finished.wait()
        } onGracefulShutdown: {
            interrupted.withLock { $0 = true }
            graph.stop()
            DispatchQueue.global().asyncAfter(deadline: .now() + drainTimeout) { finished.resume(false) }
        }
        guard drained else { throw PipelineError.drainTimeout(drainTimeout) }
    }
}
