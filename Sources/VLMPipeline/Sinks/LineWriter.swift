import Foundation
import VLMCore
import VLMGraph

/// Writes whole lines to a file descriptor or a file, one `write` per line so lines from several threads never
/// interleave, and clears the progress bar it was given (one drawn on the same terminal) before each line.
public final class LineWriter: Sendable {
    private let handle: FileHandle
    private let ownsHandle: Bool
    private let lock = Locked(())
    /// The progress bar cleared before each line and drawn again after, if any.
    public let progress: ProgressBar?

    /// Standard output, with no progress bar.
    public static let stdout = LineWriter(handle: .standardOutput, ownsHandle: false)

    /// A writer to `handle`; closes it on `close()` when `ownsHandle`. `progress` is cleared around each line.
    public init(handle: FileHandle, ownsHandle: Bool, progress: ProgressBar? = nil) {
        self.handle = handle
        self.ownsHandle = ownsHandle
        self.progress = progress
    }

    /// A writer that creates (or truncates) the file at `path`.
    public convenience init(path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil) else {
            throw PipelineError.cannotWrite(path)
        }
        self.init(handle: try FileHandle(forWritingTo: URL(fileURLWithPath: path)), ownsHandle: true)
    }

    /// Writes `line` and a newline.
    public func write(_ line: String) {
        lock.withLock { _ in
            progress?.clear()
            handle.write(Data((line + "\n").utf8))
            progress?.redraw()
        }
    }

    /// Flushes and, for files, closes.
    public func close() {
        lock.withLock { _ in
            if ownsHandle { try? handle.close() }
        }
    }
}
