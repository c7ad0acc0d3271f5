import Foundation
import VLMCore
import VLMGraph

/// Writes whole lines to a file descriptor or a file, one `write` per line so lines from several threads never
/// interleave, and clears the progress bar it was given (one drawn on the same terminal) before each line.
public final class LineWriter: Sendable {
    private let handle: FileHandle
    private let ownsHandle: Bool
    /// The first write that failed; once set, later lines are not attempted.
    private let lock = Locked<PipelineError?>(nil)
    /// What the writer writes to, for errors: `standard output` or the file's path.
    public let name: String
    /// The progress bar cleared before each line and drawn again after, if any.
    public let progress: ProgressBar?

    /// Standard output, with no progress bar.
    public static let stdout = LineWriter(handle: .standardOutput, ownsHandle: false)

    /// A writer to `handle`; closes it on `close()` when `ownsHandle`. `progress` is cleared around each line.
    public init(handle: FileHandle, ownsHandle: Bool, progress: ProgressBar? = nil, name: String = "standard output") {
        self.handle = handle
        self.name = name
        self.ownsHandle = ownsHandle
        self.progress = progress
    }

    /// A writer that creates (or truncates) the file at `path`. Opened with open(2), never replaced: an atomic
    /// create (FileManager.createFile) renamed a new regular file over `/dev/full` or a fifo given as the output.
    public convenience init(path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw PipelineError.cannotWrite(path) }
        self.init(handle: FileHandle(fileDescriptor: fd, closeOnDealloc: true), ownsHandle: true, name: path)
    }

    /// Writes `line` and a newline. A failed write (a full disk, `/dev/full`, a closed pipe) is kept as
    /// ``failure`` and stops further writes, so the run can end with an error instead of exit 0 and lost results.
    public func write(_ line: String) {
        lock.withLock { failure in
            guard failure == nil else { return }
            progress?.clear()
            do {
                try handle.write(contentsOf: Data((line + "\n").utf8))
            } catch {
                failure = .writeFailed(name, Self.reason(error))
            }
            progress?.redraw()
        }
    }

    /// The first write that failed, or nil while every line was written.
    public var failure: PipelineError? { lock.withLock { $0 } }

    /// Flushes and, for files, closes; a failure to flush or close counts as a failed write.
    public func close() {
        lock.withLock { failure in
            guard ownsHandle else { return }
            do {
                try handle.synchronize()
            } catch {
                // fsync is not supported on every file (pipes, character devices); only a failed close is lost data.
            }
            do {
                try handle.close()
            } catch {
                if failure == nil { failure = .writeFailed(name, Self.reason(error)) }
            }
        }
    }

    /// `No space left on device` from a Foundation or POSIX error.
    static func reason(_ error: any Error) -> String {
        if let posix = (error as NSError).userInfo[NSUnderlyingErrorKey] as? NSError,
            posix.domain == NSPOSIXErrorDomain
        {
            return String(cString: strerror(Int32(posix.code)))
        }
        let ns = error as NSError
        if ns.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(ns.code))) }
        return ns.localizedDescription
    }
}
