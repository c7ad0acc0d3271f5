import Foundation
import Logging
import VLMCore
import VLMGraph
import VLMVideo

/// A video file as the index graph's source: whole frames only (no tiles, no scene gate), scaled for the encoder,
/// sampled at `fps` by presentation time.
///
/// - Resume: frames at or before `after` (the last stored pts) and out-of-order repeats are decoded but not
///   emitted, so they are not encoded again.
/// - A file damaged part-way (truncated download, recording cut off) ends at the damage: the frames before it are
///   indexed and `onDamage` reports the rest, so the video still completes instead of failing on every run.
final class IndexFrameSource: FrameSource {
    private let video: VideoSource
    private let after: Double?
    private let onDamage: @Sendable (VideoError) -> Void
    private let tap: (@Sendable (Frame) -> Void)?
    private let damageSeen = Locked<VideoError?>(nil)

    /// Opens `url` (throws the `VideoError` of a file that is not a video). With `captions` (a caption model's
    /// preprocessing) each frame also gets its caption image, and `tap` sees each emitted frame first.
    init(
        url: URL, fps: Double, imageSize: Int, after: Double?, captions: ImagePreprocessing? = nil, logger: Logger,
        onDamage: @escaping @Sendable (VideoError) -> Void, tap: (@Sendable (Frame) -> Void)? = nil
    ) throws {
        var options = VideoSourceOptions()
        options.sampling = .fps(fps)
        options.imageSize = imageSize
        options.lumaSize = 0
        options.reconnect.enabled = false
        options.streamName = url.path
        options.captionPreprocessing = captions
        self.video = try VideoSource(.file(url.path), options: options, logger: logger)
        self.after = after
        self.onDamage = onDamage
        self.tap = tap
    }

    /// The file's path.
    var stream: String { video.streamName }
    /// Files are never live: the graph waits for the encoder instead of dropping frames.
    var isLive: Bool { false }
    /// The duration the container states.
    var duration: Double? { video.info.duration }
    /// Frames decoded so far.
    var decodedFrames: Int { video.decodedFrameCount }
    /// The damage that ended the file early, if any.
    var damage: VideoError? { damageSeen.current }
    /// Why only part of the file was indexed (damage that ended it, or packets the decoder refused), or nil.
    var partialReason: String? {
        var reasons: [String] = []
        if let damage { reasons.append(damage.description) }
        let skipped = video.undecodablePacketCount
        if skipped > 0 { reasons.append("\(skipped) packet(s) could not be decoded and were skipped") }
        return reasons.isEmpty ? nil : reasons.joined(separator: "; ")
    }

    func run(emit: (Frame) -> Bool) throws {
        var last = after
        do {
            while let sampled = try video.next() {
                let pts = sampled.frame.time.seconds
                if let last, pts <= last + 1e-9 { continue }
                last = pts
                tap?(sampled.frame)
                if !emit(sampled.frame) { return }
            }
        } catch {
            guard case .damaged = error else { throw error }
            damageSeen.withLock { $0 = $0 ?? error }
            onDamage(error)
        }
    }

    func stop() {
        video.cancel()
    }
}
