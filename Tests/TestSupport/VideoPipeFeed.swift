import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A named pipe that a child process opens as its video file, written by the test itself.
///
/// The child cannot get further into the clip than the test has written, so a message a test sends "mid-run" does
/// arrive mid-run, however loaded the machine: feed part of the clip, send, wait for the answer, then `finish()`.
/// The clip is remuxed (video only, no re-encoding) to MPEG-TS, which FFmpeg reads without seeking.
public final class VideoPipeFeed {
    /// The fifo's path; its base name is the stream's name.
    public let url: URL
    /// The fifo and the option for `vlm-stream run`: FFmpeg's default 5 s of stream analysis would keep the run from
    /// opening (and from connecting to its broker) until 5 s of the clip were written; 1 s is enough for H.264.
    public var runArguments: [String] { [url.path, "--input-option", "analyzeduration=1000000"] }
    private let bytes: [UInt8]
    private var written = 0
    private var descriptor: Int32

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Makes `directory/<name>.ts` a fifo that will carry `video`.
    public init(video: URL, directory: URL, name: String) throws {
        let remuxed = directory.appendingPathComponent("\(name)-remuxed.ts")
        let ffmpeg = try ChildProcess(
            "/usr/bin/ffmpeg",
            ["-v", "error", "-y", "-i", video.path, "-map", "0:v", "-c", "copy", "-f", "mpegts", remuxed.path])
        guard ffmpeg.wait(timeout: 60) == 0 else { throw Failure(description: "ffmpeg could not remux \(video.path)") }
        bytes = Array(try Data(contentsOf: remuxed))
        url = directory.appendingPathComponent("\(name).ts")
        guard mkfifo(url.path, 0o644) == 0 else {
            throw Failure(description: "mkfifo \(url.path): \(String(cString: strerror(errno)))")
        }
        // Read and write: opening never waits for the reader, and the reader sees the end only when we close (no child
        // may inherit the descriptor: close on exec).
        descriptor = open(url.path, O_RDWR | O_NONBLOCK | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw Failure(description: "open \(url.path): \(String(cString: strerror(errno)))")
        }
    }

    /// Writes the clip up to `fraction` of its bytes, waiting while the pipe is full; throws after `timeout` seconds
    /// without progress (the reader stopped reading).
    public func feed(through fraction: Double, timeout: Double = 60) throws {
        let end = min(bytes.count, Int(Double(bytes.count) * fraction))
        var deadline = Date().addingTimeInterval(timeout)
        while written < end {
            let count = bytes[written..<end].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            if count > 0 {
                written += count
                deadline = Date().addingTimeInterval(timeout)
                continue
            }
            guard count < 0, errno == EAGAIN || errno == EINTR else {
                throw Failure(description: "write \(url.path): \(String(cString: strerror(errno)))")
            }
            guard Date() < deadline else {
                throw Failure(description: "nobody read \(url.path) for \(timeout) s (\(written) of \(end) bytes)")
            }
            var poller = pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)
            _ = poll(&poller, 1, 100)
        }
    }

    /// Writes the rest of the clip and closes the pipe: the reader then sees the end of the file.
    public func finish(timeout: Double = 60) throws {
        try feed(through: 1, timeout: timeout)
        close(descriptor)  // what is still in the pipe stays there for the reader
        descriptor = -1
    }

    deinit {
        if descriptor >= 0 { close(descriptor) }
    }
}
