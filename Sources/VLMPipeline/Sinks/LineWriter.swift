import Foundation
import VLMCore
import VLMGraph

/// Writes whole lines to a file descriptor or a file, one `write` per line so lines from several threads never
/// interleave, and clears a progress bar on stderr first when one is showing.
public final class LineWriter: Sendable {
    private let handle: FileHandle
    private let ownsHandle: Bool
    private let lock = Locked(())
    /// Set while a progress bar draws on the same terminal; it is cleared before each line.
    public let progress: Locked<ProgressBar?> = Locked(nil)

    /// Standard output.
    public static let stdout = LineWriter(handle: .standardOutput, ownsHandle: false)

    /// A writer to `handle`; closes it on `close()` when `ownsHandle`.
    public init(handle: FileHandle, ownsHandle: Bool) {
        self.handle = handle
        self.ownsHandle = ownsHandle
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
            progress.withLock { $0?.clear() }
            handle.write(Data((line + "\n").utf8))
            progress.withLock { $0?.redraw() }
        }
    }

    /// Flushes and, for files, closes.
    public func close() {
        lock.withLock { _ in
            if ownsHandle { try? handle.close() }
        }
    }
}
