import VLMCore

/// A producer of frames for one stream: VLMVideo's decoders in the product, synthetic ones in tests.
///
/// `run` is called once, on the stream's own source thread, and blocks until the input ends, fails, or `stop()`
/// is called. It hands each sampled frame (views already at the encoder's size) to `emit`, which may block (file
/// policy) or drop (live policies) and returns false when the graph wants no more frames.
public protocol FrameSource: AnyObject, Sendable {
    /// The stream's name in results.
    var stream: String { get }
    /// True for cameras and network streams: frames arrive in real time and may be dropped to bound latency.
    var isLive: Bool { get }
    /// The input's duration in seconds when known (files), for progress bars.
    var duration: Double? { get }
    /// Frames decoded so far, including those the sampler skipped.
    var decodedFrames: Int { get }
    /// Decodes until the end of input, a failure (thrown as a `UserFacingError`), or `stop()`.
    func run(emit: (Frame) -> Bool) throws
    /// Asks `run` to return soon; safe from any thread.
    func stop()
}

/// Decides per frame whether the encoder must run or the previous frame's embeddings still hold (scene-change gate).
public protocol FrameGate: AnyObject, Sendable {
    /// True when `frame` differs enough from the last frame this gate passed to be encoded again.
    func shouldEncode(_ frame: Frame) -> Bool
}

/// One source of a graph with its gate and the policy of the queue behind its decoder.
public struct GraphSource: Sendable {
    /// The decoder.
    public var source: any FrameSource
    /// The scene-change gate, if any.
    public var gate: (any FrameGate)?
    /// What the queue after the decoder does when full; files use `.block` so nothing is lost.
    public var policy: QueuePolicy
    /// Frames the queue after the decoder holds.
    public var queueCapacity: Int

    /// A source whose policy defaults to `.block` for files and `.keepLatest` for live inputs.
    public init(
        source: any FrameSource, gate: (any FrameGate)? = nil, policy: QueuePolicy? = nil, queueCapacity: Int = 4
    ) {
        self.source = source
        self.gate = gate
        self.policy = policy ?? (source.isLive ? .keepLatest : .block)
        self.queueCapacity = queueCapacity
    }
}
