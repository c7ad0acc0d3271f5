import VLMCore
import VLMGraph

/// A source that hands every frame it emits to `tap` first (the thumbnail cache for `--mqtt-thumbnails`).
final class TappedFrameSource: FrameSource {
    private let base: any FrameSource
    private let tap: @Sendable (Frame) -> Void

    init(_ base: any FrameSource, tap: @escaping @Sendable (Frame) -> Void) {
        self.base = base
        self.tap = tap
    }

    var stream: String { base.stream }
    var isLive: Bool { base.isLive }
    var duration: Double? { base.duration }
    var decodedFrames: Int { base.decodedFrames }

    func run(emit: (Frame) -> Bool) throws {
        try base.run { frame in
            tap(frame)
            return emit(frame)
        }
    }

    func stop() { base.stop() }
}
