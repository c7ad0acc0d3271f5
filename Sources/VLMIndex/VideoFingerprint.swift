import Crypto
import Foundation
import VLMCore

/// What identifies a video file's content for re-indexing: its size and a SHA-256 checksum.
///
/// The default `.ends` checksum hashes the size (8 bytes, little-endian) followed by the first and the last MiB
/// of the file — constant time per video however long it is, and it changes whenever the container is rewritten
/// (header, index or trailer) or the length changes. `.full` hashes every byte, for files edited in place.
public struct VideoFingerprint: Sendable, Equatable, Codable {
    /// How much of the file the checksum covers.
    public enum Mode: String, Sendable, Codable, CaseIterable {
        /// SHA-256 of size ‖ first MiB ‖ last MiB.
        case ends
        /// SHA-256 of the whole file.
        case full
    }

    /// File size in bytes.
    public var size: Int64
    /// `"<mode>:<sha256 hex>"`, e.g. `ends:9f86d0…`.
    public var checksum: String

    /// A fingerprint from stored values.
    public init(size: Int64, checksum: String) {
        self.size = size
        self.checksum = checksum
    }

    /// Bytes hashed from each end in `.ends` mode.
    public static let endBytes = 1 << 20

    /// Reads `url` and computes its fingerprint.
    public init(of url: URL, mode: Mode = .ends) throws {
        try Self.requireRegularFile(url.path)
        do {
            try self.init(reading: url, mode: mode)
        } catch let error as IndexError {
            throw error
        } catch {
            throw IndexError.unreadableVideo(path: url.path, reason: Self.reason(error))
        }
    }

    /// Refuses what is not a regular file before opening it: opening a fifo with no writer would block, and a
    /// directory or device has no bytes to checksum (Foundation's own errors say `Code=256 "(null)"`).
    static func requireRegularFile(_ path: String) throws {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw IndexError.unreadableVideo(path: path, reason: String(cString: strerror(errno)))
        }
        switch info.st_mode & S_IFMT {
        case S_IFREG: return
        case S_IFDIR:
            throw IndexError.unreadableVideo(
                path: path, reason: "it is a directory, not a video file; name the files inside it")
        default:
            throw IndexError.unreadableVideo(
                path: path,
                reason: "it is a pipe or device, not a regular file; index needs a file it can checksum and resume, "
                    + "so save the stream to a file first")
        }
    }

    /// The POSIX reason inside a Foundation error, or its description.
    static func reason(_ error: any Error) -> String {
        let ns = error as NSError
        if let posix = ns.userInfo[NSUnderlyingErrorKey] as? NSError, posix.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(posix.code)))
        }
        if ns.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(ns.code))) }
        return ns.localizedFailureReason ?? ns.localizedDescription
    }

    private init(reading url: URL, mode: Mode) throws {
        let handle = try FileHandle(forReadingFrom: url)
        defer { try? handle.close() }
        let size = Int64(try handle.seekToEnd())
        var hash = SHA256()
        switch mode {
        case .ends:
            withUnsafeBytes(of: UInt64(size).littleEndian) { hash.update(bufferPointer: $0) }
            try handle.seek(toOffset: 0)
            let head = try handle.read(upToCount: Self.endBytes) ?? Data()
            hash.update(data: head)
            let tailStart = max(Int64(head.count), size - Int64(Self.endBytes))
            try handle.seek(toOffset: UInt64(tailStart))
            let tail = try handle.read(upToCount: Int(size - tailStart)) ?? Data()
            hash.update(data: tail)
        case .full:
            try handle.seek(toOffset: 0)
            while let block = try handle.read(upToCount: 4 << 20), !block.isEmpty {
                hash.update(data: block)
            }
        }
        self.init(size: size, checksum: "\(mode.rawValue):\(hash.finalize().hexString)")
    }
}
