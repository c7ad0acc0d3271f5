import Foundation
import VLMCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

// MARK: - Resumable, verified blob download

extension HubDownloader {
    /// Fetches `url` into `blob`, resuming `blob.incomplete` with a Range request, and verifies the sha256 when
    /// the ETag is one (LFS files). The blob appears only once complete and verified.
    func download(
        _ url: URL, file: String, to blob: URL, etag: String, size: Int64?,
        progress: (@Sendable (Progress) -> Void)?
    ) async throws {
        let partial = blob.appendingPathExtension("incomplete")
        let fm = FileManager.default
        // One writer per blob: a second `models pull` of the same file waits here. Like huggingface_hub, the lock
        // lives in <cache>/.locks/models--org--name/<etag>.lock.
        let repository = blob.deletingLastPathComponent().deletingLastPathComponent()
        let locks = repository.deletingLastPathComponent().appendingPathComponent(".locks")
            .appendingPathComponent(repository.lastPathComponent)
        try? fm.createDirectory(at: locks, withIntermediateDirectories: true)
        let lock = try BlobLock(locks.appendingPathComponent("\(etag).lock"))
        defer { lock.release() }
        if fm.fileExists(atPath: blob.path) { return }  // the other writer finished it meanwhile
        if !fm.fileExists(atPath: partial.path) { _ = fm.createFile(atPath: partial.path, contents: nil) }
        var existing = (try? fm.attributesOfItem(atPath: partial.path)[.size] as? NSNumber)?.int64Value ?? 0
        if let size, existing > size {
            try Data().write(to: partial)
            existing = 0
        }
        if size.map({ existing < $0 }) ?? true {
            var requestHeaders = headers
            if existing > 0 { requestHeaders["Range"] = "bytes=\(existing)-" }
            let handle = try FileHandle(forWritingTo: partial)
            defer { try? handle.close() }
            try handle.seekToEnd()
            let counter = ByteCounter(start: existing)
            let report: @Sendable (Int64) -> Void = { bytes in
                let received = counter.add(bytes)
                progress?(Progress(file: file, received: received, total: size, cached: false))
            }
            progress?(Progress(file: file, received: existing, total: size, cached: false))
            let response: HTTPTransfer.Response
            do {
                response = try await HTTPTransfer.get(url, headers: requestHeaders, into: handle, onBytes: report)
            } catch {
                throw Failure(
                    description: "download of \(file) stopped (\(error.localizedDescription)) after "
                        + "\(counter.value) bytes; run the same command again to resume")
            }
            if response.status == 200 && existing > 0 {
                // The server ignored the Range: what was appended is the whole file after the old part.
                try handle.close()
                let data = try Data(contentsOf: partial)
                try data.suffix(from: Int(existing)).write(to: partial)
            } else if response.status != 200 && response.status != 206 && response.status != 416 {
                throw Failure(description: "download of \(file): HTTP \(response.status); try again later")
            }
        }
        let received = (try? fm.attributesOfItem(atPath: partial.path)[.size] as? NSNumber)?.int64Value ?? 0
        if let size, received != size {
            throw Failure(
                description: "download of \(file) is incomplete (\(received) of \(size) bytes); "
                    + "run the same command again to resume")
        }
        if etag.count == 64, etag.allSatisfy(\.isHexDigit) {
            let digest = try FileDigest.sha256(of: partial)
            guard digest == etag.lowercased() else {
                try? fm.removeItem(at: partial)
                throw Failure(
                    description: "download of \(file) is corrupt (sha256 \(digest.prefix(12))…, expected "
                        + "\(etag.prefix(12))…); removed it, run the same command again")
            }
        }
        try? fm.removeItem(at: blob)
        try fm.moveItem(at: partial, to: blob)
    }
}

/// An exclusive `flock` on `<blob>.lock`, held while a blob is written.
struct BlobLock {
    private let fd: Int32

    init(_ url: URL) throws {
        fd = open(url.path, O_CREAT | O_RDWR, 0o644)
        guard fd >= 0 else {
            throw HubDownloader.Failure(description: "\(url.path): cannot create a lock file; check permissions")
        }
        _ = flock(fd, LOCK_EX)
    }

    func release() {
        _ = flock(fd, LOCK_UN)
        close(fd)
    }
}

/// Bytes received so far, updated from URLSession's delegate queue.
final class ByteCounter: Sendable {
    private let total: Locked<Int64>

    init(start: Int64) { total = Locked(start) }

    /// Adds and returns the new total.
    func add(_ bytes: Int64) -> Int64 {
        total.withLock {
            $0 += bytes
            return $0
        }
    }

    var value: Int64 { total.current }
}
