import CFFmpeg
import Foundation

/// Stdin (or another inherited pipe) read for FFmpeg, after a look at its first bytes.
///
/// An MP4/MOV whose index (`moov`) comes after its media data (`mdat`), the usual layout, cannot be demuxed from a
/// pipe: the demuxer must seek back. Such an input is spooled to a temporary file (up to a size limit) and read from
/// there; anything else is streamed, the peeked bytes first. Reads poll a non-blocking pipe so a cancel ends them.
final class PipeReader {
    let fd: Int32
    /// The input as the user wrote it (`-`), for messages.
    let name: String
    let interrupt: InterruptState
    /// Bytes read while peeking, handed to FFmpeg before anything else.
    private(set) var prefix: [UInt8] = []
    private var served = 0

    init(fd: Int32, name: String, interrupt: InterruptState) {
        self.fd = fd
        self.name = name
        self.interrupt = interrupt
    }

    // MARK: - Deciding

    /// What the start of a byte stream says about seeking.
    enum Layout: Equatable {
        /// Not an MP4/MOV, or one that streams (`moov` before `mdat`, or fragmented).
        case streams
        /// An MP4/MOV with `mdat` before `moov`.
        case needsSeeking
        /// More bytes are needed to tell (at least this many in all).
        case needs(Int)
    }

    /// Walks the top-level ISO BMFF boxes at the start of `bytes` until `moov` or `mdat`.
    static func layout(of bytes: [UInt8]) -> Layout {
        let leading: Set<String> = ["ftyp", "free", "skip", "wide", "uuid", "pdin", "styp"]
        var offset = 0
        while true {
            guard bytes.count >= offset + 8 else { return .needs(offset + 8) }
            let size32 = bytes[offset..<offset + 4].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            let type = String(decoding: bytes[offset + 4..<offset + 8], as: UTF8.self)
            if type == "moov" { return .streams }
            if type == "mdat" { return .needsSeeking }
            // Only files that open with an MP4 box count; an unknown box ends the walk.
            guard leading.contains(type), offset > 0 || type != "uuid" else { return .streams }
            var size = size32
            if size32 == 1 {
                guard bytes.count >= offset + 16 else { return .needs(offset + 16) }
                size = bytes[offset + 8..<offset + 16].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            }
            guard size >= 8, size < 1 << 20 else { return .streams }  // size 0 (to the end) or a huge header box
            offset += Int(size)
        }
    }

    /// Reads the first bytes until ``layout(of:)`` can tell (or the input ends).
    func peekLayout() throws(VideoError) -> Layout {
        while true {
            let layout = Self.layout(of: prefix)
            guard case .needs(let count) = layout else { return layout }
            let chunk = try readChunk(max(4096, count - prefix.count))
            if chunk.isEmpty { return .streams }  // too short to be a seeking MP4; let FFmpeg say what it is
            prefix += chunk
        }
    }

    // MARK: - Spooling

    /// Writes the peeked bytes and the rest of the pipe to a new temporary file (mode 0600), at most `limit` bytes.
    /// The caller deletes it once FFmpeg has opened it.
    func spool(limit: Int64) throws(VideoError) -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("vlm-stream-stdin-\(UUID()).mp4")
        let out = open(url.path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard out >= 0 else {
            let reason = String(cString: strerror(errno))
            throw .cannotOpen(
                input: name,
                reason: "cannot create a temporary file in \(url.deletingLastPathComponent().path) (\(reason)); "
                    + "set TMPDIR to a writable directory")
        }
        var done = false
        defer {
            close(out)
            if !done { unlink(url.path) }
        }
        var total = Int64(0)
        var pending = prefix
        prefix = []
        while true {
            if pending.isEmpty {
                pending = try readChunk(1 << 20)
                if pending.isEmpty { break }
            }
            total += Int64(pending.count)
            guard total <= limit else {
                throw .cannotOpen(
                    input: name,
                    reason: "this MP4 keeps its index (moov) after the media, so a pipe must be spooled to a file, "
                        + "and it is over the \(Self.format(limit)) spool limit; remux it with `ffmpeg -i IN -c copy "
                        + "-movflags +faststart OUT.mp4`, or pipe a fragmented MP4 (-movflags frag_keyframe+empty_moov)"
                )
            }
            var start = 0
            while start < pending.count {
                let written = pending.withUnsafeBytes { write(out, $0.baseAddress! + start, $0.count - start) }
                if written < 0 && errno == EINTR { continue }
                guard written > 0 else {
                    let reason = String(cString: strerror(written < 0 ? errno : ENOSPC))
                    throw .cannotOpen(input: name, reason: "cannot spool the pipe to \(url.path) (\(reason))")
                }
                start += written
            }
            pending = []
        }
        done = true
        return url
    }

    static func format(_ bytes: Int64) -> String {
        if bytes >= 1 << 30 && bytes % (1 << 30) == 0 { return "\(bytes >> 30) GiB" }
        if bytes >= 1 << 20 && bytes % (1 << 20) == 0 { return "\(bytes >> 20) MiB" }
        return "\(bytes) bytes"
    }

    // MARK: - Reading

    /// Up to `count` bytes from the pipe; empty at the end.
    private func readChunk(_ count: Int) throws(VideoError) -> [UInt8] {
        var chunk = [UInt8](repeating: 0, count: count)
        let result = chunk.withUnsafeMutableBytes { raw -> Result<Int, VideoError> in
            do throws(VideoError) {
                return .success(try readSome(raw.baseAddress!, raw.count))
            } catch { return .failure(error) }
        }
        chunk.removeSubrange(try result.get()...)
        return chunk
    }

    /// Reads up to `count` bytes from the pipe: the number read, 0 at the end. Waits for a non-blocking pipe in
    /// 100 ms polls, checking for a cancel between them.
    func readSome(_ buffer: UnsafeMutableRawPointer, _ count: Int) throws(VideoError) -> Int {
        while true {
            let n = read(fd, buffer, count)
            if n >= 0 { return n }
            switch errno {
            case EINTR: continue
            case EAGAIN:
                if interrupt.isCancelled { throw .cannotOpen(input: name, reason: "cancelled") }
                var waiting = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                _ = poll(&waiting, 1, 100)
            default:
                throw .cannotOpen(input: name, reason: "cannot read the pipe (\(String(cString: strerror(errno))))")
            }
        }
    }

    /// FFmpeg's read callback: the peeked bytes first, then the pipe. Returns a byte count, AVERROR_EOF, or
    /// AVERROR_EXIT (cancelled) / an error code.
    func readPacket(into buffer: UnsafeMutablePointer<UInt8>, size: Int) -> Int32 {
        if served < prefix.count {
            let n = min(size, prefix.count - served)
            prefix.withUnsafeBufferPointer { buffer.update(from: $0.baseAddress! + served, count: n) }
            served += n
            if served == prefix.count {
                prefix = []
                served = 0
            }
            return Int32(n)
        }
        do {
            let n = try readSome(buffer, size)
            return n == 0 ? AVErrorCode.endOfFile.rawValue : Int32(n)
        } catch {
            return interrupt.isCancelled ? AVErrorCode.exit.rawValue : -EIO
        }
    }

    /// An AVIOContext reading through ``readPacket(into:size:)``; `self` must outlive it (the Demuxer keeps both).
    func makeContext() -> UnsafeMutablePointer<AVIOContext>? {
        let size: Int32 = 1 << 16
        guard let buffer = av_malloc(Int(size)) else { return nil }
        let context = avio_alloc_context(
            buffer.assumingMemoryBound(to: UInt8.self), size, 0, Unmanaged.passUnretained(self).toOpaque(),
            { opaque, buffer, size in
                guard let opaque, let buffer else { return -EIO }
                return Unmanaged<PipeReader>.fromOpaque(opaque).takeUnretainedValue().readPacket(
                    into: buffer, size: Int(size))
            }, nil, nil)
        if context == nil { av_free(buffer) }
        return context
    }
}
