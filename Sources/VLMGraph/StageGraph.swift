import Foundation
import Logging
import VLMCore

/// How the encoder part of a graph batches and bounds its work.
public struct GraphOptions: Sendable {
    /// Most encoder images per batch.
    public var maxBatch: Int
    /// Seconds a batch may wait to fill when any source is live (files always wait for full batches).
    public var latencyBudget: Double
    /// Most frames between the flow limiter and the end of the encoder; raised to fill every worker's batch.
    public var maxInFlight: Int
    /// Seconds `stop()` gives the graph to drain before `wait` gives up.
    public var drainTimeout: Double

    /// The largest batch and in-flight count (far above what any machine holds; keeps derived sizes in range).
    public static let limit = 1 << 20

    /// Defaults: batches of 8, 50 ms budget, 2 batches in flight per worker, 5 s to drain.
    public init(maxBatch: Int = 8, latencyBudget: Double = 0.05, maxInFlight: Int? = nil, drainTimeout: Double = 5) {
        // Clamped so the queue capacities derived from them (`4 * maxInFlight` ...) cannot overflow.
        self.maxBatch = min(max(1, maxBatch), Self.limit)
        self.latencyBudget = latencyBudget
        self.maxInFlight = min(maxInFlight ?? 2 * self.maxBatch, Self.limit)
        self.drainTimeout = drainTimeout
    }
}

/// What a finished run did, for the summary line and `bench pipeline`.
public struct RunSummary: Sendable {
    /// Frame counters of the whole run.
    public var counts: PipelineMetrics.Counts
    /// Seconds from `start()` to the last sink's `finish()`.
    public var wallSeconds: Double
    /// The first fatal error (a source that failed, an encoder error), if any.
    public var error: (any Error)?

    /// Frames that reached the analyzers per second of wall time.
    public var framesPerSecond: Double { wallSeconds > 0 ? Double(counts.analyzed) / wallSeconds : 0 }

    /// `frames: 120 decoded, 60 sampled, 52 encoded, 8 reused, 0 dropped; 31.4 frames/s; 1.9 s`.
    public var line: String {
        let c = counts
        return "frames: \(c.decoded) decoded, \(c.sampled) sampled, \(c.encoded) encoded, \(c.reused) reused, "
            + "\(c.dropped) dropped; " + String(format: "%.1f frames/s; %.2f s", framesPerSecond, wallSeconds)
    }

    /// `results: 40 score, 1 start, 1 end, 3 caption, 2 status` (the sinks' input, by type; `none` when empty).
    public var resultsLine: String {
        let order = ["score", "start", "update", "end", "caption", "labels", "status"]
        let types =
            order.filter { counts.results[$0] != nil } + counts.results.keys.filter { !order.contains($0) }.sorted()
        let parts = types.map { "\(counts.results[$0] ?? 0) \($0)" }
        return "results: " + (parts.isEmpty ? "none" : parts.joined(separator: ", "))
    }
}

/// A frame admitted past the gate and the flow limiter, numbered in its stream's admission order.
struct AdmittedFrame: Sendable {
    var frame: Frame
    /// 0, 1, 2… per stream: the order results must leave in.
    var ticket: Int
    /// The gate found nothing changed: reuse the previous embeddings instead of encoding.
    var reuse: Bool
    /// Holds a flow-limiter slot to return after encoding.
    var holdsSlot: Bool
    var admittedAt: UInt64
}

/// What the encoder workers and the sources tell the results stage.
enum ResultMessage: Sendable {
    case encoded(EncodedFrame, ticket: Int, admittedAt: UInt64)
    /// The stream admitted `tickets` frames in all and ended at `pts`.
    case ended(stream: String, tickets: Int, pts: Double)
    /// A result from outside the frame flow (a source reconnecting), delivered as it comes.
    case report(StreamResult)
}

/// The stage graph: sources → gate → flow limiter → batcher → encoder workers → analyzers → sinks.
///
/// Create it with its parts, `start()` it, and `wait` for it; `stop()` (SIGINT) stops the sources and lets every
/// frame already admitted finish, so analyzers close their events and sinks `finish()`. See the module's
/// documentation for the drawing.
public final class StageGraph: Sendable {
    let sources: [GraphSource]
    let encoders: [any ImageEncoding]
    let analyzers: [any FrameAnalyzer]
    let sinks: [any ResultSink]
    let options: GraphOptions
    /// The graph's metrics (pass a Prometheus-backed factory to serve them).
    public let metrics: PipelineMetrics
    let logger: Logger
    let onProgress: @Sendable (String, Double) -> Void

    let limiter: FlowLimiter
    let encodeQueue: BoundedQueue<AdmittedFrame>
    let resultQueue: BoundedQueue<ResultMessage>
    let sourceQueues: [BoundedQueue<Frame>]
    let state = Locked(RunState())
    let done = DispatchGroup()

    struct RunState {
        var started: Date?
        var finished: Date?
        var stopping = false
        var error: (any Error)?
    }

    /// A graph over `sources` sharing `encoders` (one worker thread each), feeding `analyzers` and `sinks`.
    /// `onProgress(stream, pts)` is called from the results thread after each frame.
    public init(
        sources: [GraphSource], encoders: [any ImageEncoding], analyzers: [any FrameAnalyzer],
        sinks: [any ResultSink], options: GraphOptions = GraphOptions(), metrics: PipelineMetrics? = nil,
        logger: Logger = Logger(label: "vlm.pipeline"),
        onProgress: @escaping @Sendable (String, Double) -> Void = { _, _ in }
    ) {
        precondition(!encoders.isEmpty, "StageGraph needs at least one encoder")
        var options = options
        options.maxBatch = min(max(1, options.maxBatch), GraphOptions.limit)
        options.maxInFlight = min(max(options.maxInFlight, options.maxBatch * encoders.count), GraphOptions.limit)
        let queueNames = sources.map { "source:\($0.source.stream)" } + ["encode", "results"]
        let metrics = metrics ?? PipelineMetrics(queues: queueNames)
        self.sources = sources
        self.encoders = encoders
        self.analyzers = analyzers
        self.sinks = sinks
        self.options = options
        self.metrics = metrics
        self.logger = logger
        self.onProgress = onProgress
        self.limiter = FlowLimiter(maxInFlight: options.maxInFlight)
        // The limiter bounds encoder work; gate-reused frames bypass it, so leave them room as well.
        self.encodeQueue = BoundedQueue(
            name: "encode", capacity: options.maxInFlight + 4 * max(1, sources.count), policy: .block,
            onDepth: { metrics.depth("encode", $0) })
        self.resultQueue = BoundedQueue(
            name: "results", capacity: 4 * options.maxInFlight, policy: .block,
            onDepth: { metrics.depth("results", $0) })
        self.sourceQueues = sources.map { s in
            let name = "source:\(s.source.stream)"
            return BoundedQueue(
                name: name, capacity: s.queueCapacity, policy: s.policy,
                onDrop: { _ in metrics.dropped(.decode) }, onDepth: { metrics.depth(name, $0) })
        }
    }

    // MARK: - Lifecycle

    /// Starts every stage on its own Dispatch queue. Call once.
    public func start() {
        state.withLock { $0.started = Date() }
        // Every source is open by now: say so first, so a consumer sees each stream's whole life (online … ended).
        for source in sources { report(.status(stream: source.source.stream, state: "online", detail: "opened")) }
        let anyLive = sources.contains { $0.source.isLive }
        let sourcesDone = DispatchGroup()
        for (index, source) in sources.enumerated() {
            let queue = sourceQueues[index]
            done.enter()
            sourcesDone.enter()
            DispatchQueue(label: "vlm.stage.decode.\(source.source.stream)", qos: .userInitiated).async {
                self.runSource(source, into: queue)
                self.done.leave()
            }
            DispatchQueue(label: "vlm.stage.gate.\(source.source.stream)", qos: .userInitiated).async {
                self.runGate(source, from: queue)
                sourcesDone.leave()
            }
        }
        sourcesDone.notify(queue: .global()) { self.encodeQueue.close() }

        let batcher = Batcher<AdmittedFrame>(
            maxBatch: options.maxBatch, latencyBudget: anyLive ? options.latencyBudget : nil,
            units: { $0.reuse ? 0 : $0.frame.views.count })
        let workersDone = DispatchGroup()
        for (index, encoder) in encoders.enumerated() {
            workersDone.enter()
            DispatchQueue(label: "vlm.stage.encode.\(index)", qos: .userInitiated).async {
                self.runEncoder(encoder, batcher: batcher)
                workersDone.leave()
            }
        }
        workersDone.notify(queue: .global()) { self.resultQueue.close() }

        done.enter()
        DispatchQueue(label: "vlm.stage.results", qos: .userInitiated).async {
            self.runResults()
            self.state.withLock { $0.finished = Date() }
            self.done.leave()
        }
    }

    /// Graceful shutdown: sources stop, frames already admitted are encoded and analyzed, sinks finish.
    public func stop() {
        let first = state.withLock { s -> Bool in
            defer { s.stopping = true }
            return !s.stopping
        }
        guard first else { return }
        logger.info("stopping: draining the graph")
        for source in sources { source.source.stop() }
        for queue in sourceQueues { queue.close() }
    }

    /// Hands `result` (e.g. a source's `.status`) to the sinks from the results thread; ignored after the drain.
    public func report(_ result: StreamResult) {
        resultQueue.push(.report(result))
    }

    /// Records a fatal error and stops the graph.
    func fail(_ error: any Error) {
        state.withLock { s in
            if s.error == nil { s.error = error }
        }
        stop()
    }

    /// Waits until every sink finished, or `timeout` seconds passed (false then).
    public func wait(timeout: Double? = nil) -> Bool {
        guard let timeout else {
            done.wait()
            return true
        }
        return done.wait(timeout: .now() + timeout) == .success
    }

    /// Calls `body` on a Dispatch thread once every sink finished (at once if they already have). Call after `start()`.
    public func whenFinished(_ body: @escaping @Sendable () -> Void) {
        done.notify(queue: .global(), execute: body)
    }

    /// Starts the graph and waits for it without blocking a Swift concurrency thread.
    public func run() async -> RunSummary {
        start()
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            done.notify(queue: .global()) { continuation.resume() }
        }
        return summary
    }

    /// Counters and wall time so far (final once `wait` returned true).
    public var summary: RunSummary {
        let s = state.current
        let end = s.finished ?? Date()
        return RunSummary(
            counts: metrics.snapshot, wallSeconds: s.started.map { end.timeIntervalSince($0) } ?? 0, error: s.error)
    }

    /// True once `stop()` was called or a stage failed.
    public var isStopping: Bool { state.withLock { $0.stopping } }
}
