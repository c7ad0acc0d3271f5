import VLMCore

/// Folds a stream of caption results (where a repeat with the same stream and `startPTS` is an update) into the
/// final captions, in time order. Used by the subtitle writers, and by anyone who wants finished captions from
/// `RollingCaptioner` (e.g. an index: feed frames, then `captions`).
public struct CaptionTimeline: Sendable {
    private struct Key: Hashable {
        var stream: String
        var startPTS: Double
    }

    private var byKey: [Key: Int] = [:]
    /// The captions so far, in the order they started (per stream, by time).
    public private(set) var captions: [Caption] = []

    public init() {}

    /// Adds a caption or updates the one with the same stream and start. Returns whether anything changed.
    @discardableResult
    public mutating func apply(_ caption: Caption) -> Bool {
        let key = Key(stream: caption.stream, startPTS: caption.startPTS)
        if let index = byKey[key] {
            guard captions[index] != caption else { return false }
            captions[index] = caption
            return true
        }
        byKey[key] = captions.count
        captions.append(caption)
        return true
    }

    /// Applies every `.caption` among `results`; returns whether anything changed.
    @discardableResult
    public mutating func apply(_ results: [StreamResult]) -> Bool {
        var changed = false
        for case .caption(let caption) in results { changed = apply(caption) || changed }
        return changed
    }
}

extension RollingCaptioner {
    /// Captions a finished sequence of encoded frames of one stream (offline indexing): feeds every frame, finishes
    /// the stream at `endPTS` (default: the last frame's time) and returns the final, merged captions.
    public func captions(for frames: some Sequence<EncodedFrame>, stream: String, endPTS: Double? = nil) -> [Caption] {
        var timeline = CaptionTimeline()
        var last = 0.0
        for frame in frames where frame.stream == stream {
            timeline.apply(analyze(frame))
            last = frame.time.seconds
        }
        timeline.apply(finish(stream: stream, at: endPTS ?? last))
        return timeline.captions
    }
}
