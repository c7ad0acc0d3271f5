import CoreMetrics
import Foundation
import VLMCore

/// The graph's stages, as they appear in metric dimensions (`vlm_stage_latency_seconds{stage="encode"}`).
public enum Stage: String, Sendable, CaseIterable {
    /// Decoding, sampling and scaling in VLMVideo, up to the queue behind the decoder.
    case decode
    /// The scene-change gate and the flow limiter.
    case gate
    /// The CLIP image encoder.
    case encode
    /// Matching, labels, captions.
    case analyze
    /// Terminal, JSON Lines, MQTT, subtitle files.
    case sink
}

/// The graph's metrics: made once at setup with fixed dimensions, updated per frame; plus the counters the end
/// of run summary prints.
///
/// Metric names: `vlm_stage_frames_in_total`, `vlm_stage_frames_out_total`, `vlm_stage_drops_total`,
/// `vlm_stage_latency_seconds` (all labelled `stage`), `vlm_queue_depth{queue}`, `vlm_frame_latency_seconds`
/// (admission to results) and `vlm_frames_reused_total`.
public final class PipelineMetrics: Sendable {
    private struct StageMetrics: Sendable {
        let framesIn: Counter
        let framesOut: Counter
        let drops: Counter
        let latency: CoreMetrics.Timer
    }

    /// Counter values for the summary line (swift-metrics handles cannot be read back).
    public struct Counts: Sendable, Equatable {
        /// Frames decoded by all sources, sampled or not.
        public var decoded = 0
        /// Frames the sources emitted (after sampling).
        public var sampled = 0
        /// Frames that went through the encoder.
        public var encoded = 0
        /// Frames whose embeddings the gate reused.
        public var reused = 0
        /// Frames dropped by leaky queues or the flow limiter.
        public var dropped = 0
        /// Frames that reached the analyzers.
        public var analyzed = 0
        /// Results handed to the sinks, by their JSON `type` (`score`, `start`, `caption`, `status` …).
        public var results: [String: Int] = [:]
        /// Caption triggers replaced by a newer one while a model caption was in progress (latest wins).
        public var captionsCoalesced = 0
        /// Model captions that failed (a remote endpoint timed out or answered garbage): the trigger got none.
        public var captionsFailed = 0
    }

    private let stages: [Stage: StageMetrics]
    private let depths: [String: Gauge]
    private let frameLatencyTimer: CoreMetrics.Timer
    private let reusedCounter: Counter
    private let coalescedCounter: Counter
    private let failedCounter: Counter
    private let counts = Locked(Counts())

    /// Creates every metric now, with the queue names of this graph as the only variable dimension.
    public init(factory: any MetricsFactory = MetricsSystem.factory, queues: [String]) {
        var stages: [Stage: StageMetrics] = [:]
        for stage in Stage.allCases {
            let dims = [("stage", stage.rawValue)]
            stages[stage] = StageMetrics(
                framesIn: Counter(label: "vlm_stage_frames_in_total", dimensions: dims, factory: factory),
                framesOut: Counter(label: "vlm_stage_frames_out_total", dimensions: dims, factory: factory),
                drops: Counter(label: "vlm_stage_drops_total", dimensions: dims, factory: factory),
                latency: CoreMetrics.Timer(label: "vlm_stage_latency_seconds", dimensions: dims, factory: factory)
            )
        }
        self.stages = stages
        var depths: [String: Gauge] = [:]
        for queue in Set(queues) {
            depths[queue] = Gauge(label: "vlm_queue_depth", dimensions: [("queue", queue)], factory: factory)
        }
        self.depths = depths
        self.frameLatencyTimer = CoreMetrics.Timer(label: "vlm_frame_latency_seconds", factory: factory)
        self.reusedCounter = Counter(label: "vlm_frames_reused_total", factory: factory)
        self.coalescedCounter = Counter(label: "vlm_captions_coalesced_total", factory: factory)
        self.failedCounter = Counter(label: "vlm_captions_failed_total", factory: factory)
    }

    // MARK: - Recording

    /// `n` frames entered `stage`.
    public func framesIn(_ stage: Stage, _ n: Int = 1) {
        stages[stage]?.framesIn.increment(by: n)
        if stage == .decode { counts.withLock { $0.sampled += n } }
    }

    /// `n` frames left `stage`.
    public func framesOut(_ stage: Stage, _ n: Int = 1) {
        stages[stage]?.framesOut.increment(by: n)
        switch stage {
        case .encode: counts.withLock { $0.encoded += n }
        case .analyze: counts.withLock { $0.analyzed += n }
        default: break
        }
    }

    /// `n` frames were dropped at `stage`.
    public func dropped(_ stage: Stage, _ n: Int = 1) {
        stages[stage]?.drops.increment(by: n)
        counts.withLock { $0.dropped += n }
    }

    /// A frame skipped the encoder because the gate reused its predecessor's embeddings.
    public func reused() {
        reusedCounter.increment()
        counts.withLock { $0.reused += 1 }
    }

    /// A caption trigger was replaced by a newer one while the caption model was busy.
    public func captionCoalesced() {
        coalescedCounter.increment()
        counts.withLock { $0.captionsCoalesced += 1 }
    }

    /// A model caption failed (the stream went on without it).
    public func captionFailed() {
        failedCounter.increment()
        counts.withLock { $0.captionsFailed += 1 }
    }

    /// `stage` took `nanoseconds` for one frame (or one batch).
    public func latency(_ stage: Stage, nanoseconds: UInt64) {
        stages[stage]?.latency.recordNanoseconds(Int64(clamping: nanoseconds))
    }

    /// A frame's time from admission to its results.
    public func frameLatency(nanoseconds: UInt64) {
        frameLatencyTimer.recordNanoseconds(Int64(clamping: nanoseconds))
    }

    /// The queue called `queue` holds `depth` elements now.
    public func depth(_ queue: String, _ depth: Int) {
        depths[queue]?.record(depth)
    }

    /// The sources decoded `n` more frames (sampled or not).
    public func decoded(_ n: Int) {
        counts.withLock { $0.decoded += n }
    }

    /// The counters so far.
    /// Counts results handed to the sinks, by type.
    func delivered(_ results: [StreamResult]) {
        counts.withLock { c in
            for result in results { c.results[result.type, default: 0] += 1 }
        }
    }

    public var snapshot: Counts { counts.current }
}

/// Monotonic nanoseconds for stage latencies.
@inline(__always)
func nowNanos() -> UInt64 { DispatchTime.now().uptimeNanoseconds }
