import Foundation
import VLMCore
import VLMGraph
import VLMVideo

/// VLMVideo's `VideoSource` as a graph source: pulls sampled frames until EOF, failure or `stop()`.
public final class VideoFrameSource: FrameSource {
    /// The decoder.
    public let video: VideoSource

    /// Wraps an opened source.
    public init(_ video: VideoSource) {
        self.video = video
    }

    /// The stream's name.
    public var stream: String { video.streamName }
    /// Network streams, cameras and pipes are live.
    public var isLive: Bool { video.input.isLive }
    /// The file's duration, when the container states it.
    public var duration: Double? { video.info.duration }
    /// Frames decoded so far.
    public var decodedFrames: Int { video.decodedFrameCount }

    /// Pulls frames until the end; a damaged file or a live input that gave up throws its `VideoError`.
    public func run(emit: (Frame) -> Bool) throws {
        while let sampled = try video.next() {
            if !emit(sampled.frame) { return }
        }
    }

    /// Interrupts a blocked read.
    public func stop() {
        video.cancel()
    }
}

/// VLMVideo's `SceneChangeGate` as a graph gate (one per source; called from that source's gate thread).
public final class SceneGate: FrameGate {
    private let gate: Locked<SceneChangeGate>

    /// A gate with `configuration`'s thresholds.
    public init(configuration: SceneChangeGate.Configuration) {
        self.gate = Locked(SceneChangeGate(configuration: configuration))
    }

    /// True unless the frame's thumbnail matches the last encoded one.
    public func shouldEncode(_ frame: Frame) -> Bool {
        gate.withLock { gate in
            if case .encode = gate.decide(luma: frame.luma, at: frame.time.seconds) { return true }
            return false
        }
    }
}
