import Dispatch
import Foundation
import Logging
import VLMCaption
import VLMCore
import VLMIndex
import VLMVideo

// MARK: - Frames

/// VLMVideo's decoder as the indexer's frame source: whole frames only (no tiles, no scene gate), scaled for the
/// encoder, sampled at `fps` by presentation time.
///
/// A file damaged part-way (truncated download, recording cut off) ends at the damage: the frames before it are
/// indexed and `onDamage` reports the rest, so the video still completes instead of failing on every run.
final class DecodedFrames: IndexFrameSource {
    private let source: VideoSource
    private let onDamage: @Sendable (VideoError) -> Void

    init(url: URL, fps: Double, imageSize: Int, onDamage: @escaping @Sendable (VideoError) -> Void) throws {
        self.onDamage = onDamage
        var options = VideoSourceOptions()
        options.sampling = .fps(fps)
        options.imageSize = imageSize
        options.lumaSize = 0
        options.reconnect.enabled = false
        source = try VideoSource(.file(url.path), options: options, logger: quietLogger("vlm.video"))
    }

    var duration: Double? { source.info.duration }

    func nextFrame() throws -> Frame? {
        do {
            return try source.next()?.frame
        } catch {
            guard case .damaged = error else { throw error }
            onDamage(error)
            return nil
        }
    }

    func cancel() { source.cancel() }
}

/// A logger for library chatter that the terminal should only see when something is wrong.
func quietLogger(_ label: String) -> Logger {
    var logger = Logger(label: label)
    logger.logLevel = .warning
    return logger
}

// MARK: - Interruption

/// Turns SIGINT/SIGTERM into a flag the indexer polls, so the current chunk is committed before exiting.
/// A second signal exits at once (the index stays readable: every chunk is its own transaction).
final class Interruption {
    private let flag = LockedFlag()
    private let sources: [any DispatchSourceSignal]

    init() {
        let flag = flag
        sources = [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                if flag.set() { exit(130) }
            }
            source.resume()
            return source
        }
    }

    var isRaised: Bool { flag.value }

    deinit { for source in sources { source.cancel() } }
}

/// A Bool behind a lock.
final class LockedFlag: Sendable {
    private let lock = NSLock()
    private nonisolated(unsafe) var raised = false

    var value: Bool { lock.withLock { raised } }

    /// Raises the flag; returns whether it was already raised.
    func set() -> Bool {
        lock.withLock {
            defer { raised = true }
            return raised
        }
    }
}

// MARK: - Progress

/// A one-line progress bar on standard error, drawn only when standard error is a terminal.
struct ProgressBar {
    let enabled = isatty(STDERR_FILENO) == 1
    private var lastDraw = ContinuousClock.now - .seconds(1)
    private var started = ContinuousClock.now
    private var video = ""

    mutating func update(_ progress: VideoIndexer.Progress) {
        guard enabled else { return }
        if progress.video != video {
            video = progress.video
            started = ContinuousClock.now
        }
        guard ContinuousClock.now - lastDraw > .milliseconds(100) else { return }
        lastDraw = ContinuousClock.now
        let name = URL(fileURLWithPath: progress.video).lastPathComponent
        let elapsed = (ContinuousClock.now - started).seconds
        let rate = elapsed > 0.5 ? String(format: "%.1f frames/s", Double(progress.encoded) / elapsed) : ""
        var line = "\(name) \(MediaTime.format(progress.pts))"
        if let duration = progress.duration, duration > 0 {
            let fraction = min(1, max(0, progress.pts / duration))
            let width = 30
            let filled = Int(fraction * Double(width))
            line =
                "[" + String(repeating: "#", count: filled) + String(repeating: " ", count: width - filled) + "] "
                + String(format: "%3d%% ", Int(fraction * 100)) + line + " / " + MediaTime.format(duration)
        }
        write("\r\u{1B}[K" + line + "  " + rate)
    }

    func clear() {
        if enabled { write("\r\u{1B}[K") }
    }

    private func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }
}

// MARK: - Captions

/// The rolling captioner `index --captions` feeds: the built-in caption vocabulary searched with the model's text
/// tower (sentence embeddings cached per model in the default cache directory).
func rollingCaptioner(encoder: any TextEncoding) throws -> RollingCaptioner {
    let logger = quietLogger("vlm.caption")
    let directory = TextEmbeddingStore.defaultCacheDirectory()
    let store = TextEmbeddingStore(
        encoder: encoder, cacheURL: TextEmbeddingStore.cacheURL(modelIdentity: encoder.modelIdentity, in: directory),
        logger: logger)
    let captioner = BeamSearchCaptioner(vocabulary: .builtIn, store: store, logger: logger)
    return RollingCaptioner(captioner: captioner, logger: logger)
}
