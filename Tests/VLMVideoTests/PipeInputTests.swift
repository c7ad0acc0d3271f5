import Foundation
import TestSupport
import Testing
import VLMCore

@testable import VLMVideo

/// A normal MP4 on stdin: its index (`moov`) usually sits after the media (`mdat`), which a pipe cannot seek back
/// to. Such an input is spooled to a temporary file (deleted once opened) up to a limit; anything else streams.
@Suite("Piped MP4s", .serialized)
struct PipeInputTests {
    /// Plaza remuxed with `moov` at the end (ffmpeg's default), or `+faststart` (moov first).
    static func remux(_ flags: [String], in dir: URL) throws -> URL {
        let out = dir.appendingPathComponent("remuxed.mp4")
        try ffmpeg(["-i", plaza.path, "-c", "copy"] + flags + [out.path])
        return out
    }

    /// A real pipe with `file` written into it by another thread; keep it alive while its read end is in use.
    static func pipe(_ file: URL) throws -> Pipe {
        let pipe = Pipe()
        let data = try Data(contentsOf: file)
        let writer = Thread {
            try? pipe.fileHandleForWriting.write(contentsOf: data)
            try? pipe.fileHandleForWriting.close()
        }
        writer.start()
        return pipe
    }

    /// Reads a (non-blocking) pipe to its end, so its writer finishes.
    static func drain(_ pipe: Pipe) {
        let fd = pipe.fileHandleForReading.fileDescriptor
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n > 0 { continue }
            if n < 0 && errno == EAGAIN {
                usleep(1000)
                continue
            }
            return
        }
    }

    static func spooledFiles() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: FileManager.default.temporaryDirectory.path)
            .filter { $0.hasPrefix("vlm-stream-stdin-") }
    }

    @Test("the first boxes tell whether an MP4 needs seeking")
    func layouts() {
        func box(_ type: String, _ size: Int) -> [UInt8] {
            [UInt8(size >> 24), UInt8(size >> 16 & 0xFF), UInt8(size >> 8 & 0xFF), UInt8(size & 0xFF)]
                + Array(type.utf8) + [UInt8](repeating: 0, count: max(0, size - 8))
        }
        #expect(PipeReader.layout(of: box("ftyp", 32) + box("free", 8) + box("mdat", 8)) == .needsSeeking)
        #expect(PipeReader.layout(of: box("ftyp", 32) + box("moov", 8)) == .streams)
        #expect(PipeReader.layout(of: box("ftyp", 32)) == .needs(40))
        #expect(PipeReader.layout(of: [0x47, 0x40, 0x00, 0x10, 0, 0, 0, 0]) == .streams)  // MPEG-TS
        #expect(PipeReader.layout(of: Array("not a video at all".utf8)) == .streams)
        // A 64-bit box size is followed.
        let large: [UInt8] = [0, 0, 0, 1] + Array("free".utf8) + [0, 0, 0, 0, 0, 0, 0, 16]
        #expect(PipeReader.layout(of: box("ftyp", 16) + large + box("mdat", 8)) == .needsSeeking)
    }

    @Test("an MP4 with its index at the end decodes from a pipe like the file, and no spool file is left")
    func moovAtEnd() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let clip = try Self.remux([], in: dir)
        #expect(PipeReader.layout(of: [UInt8](try Data(contentsOf: clip).prefix(4096))) == .needsSeeking)
        var options = VideoSourceOptions()
        options.sampling = .every(10)
        let before = try Self.spooledFiles()
        let pipe = try Self.pipe(clip)
        let piped = try VideoSource(.pipe(pipe.fileHandleForReading.fileDescriptor), options: options)
        #expect(try Self.spooledFiles() == before)  // deleted as soon as FFmpeg has it open
        let file = try VideoSource(.file(clip.path), options: options)
        var count = 0
        while let a = try piped.next() {
            let b = try #require(try file.next())
            #expect(a.frame.time.seconds == b.frame.time.seconds)
            #expect(a.frame.views[0].image == b.frame.views[0].image)
            count += 1
        }
        #expect(count == 10 && piped.decodedFrameCount == 100)
        withExtendedLifetime(pipe) {}
    }

    @Test("beyond the spool limit: one line saying to use +faststart or a fragmented MP4")
    func spoolLimit() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let clip = try Self.remux([], in: dir)
        var options = VideoSourceOptions()
        options.pipeSpoolLimit = 64 * 1024
        let before = try Self.spooledFiles()
        let pipe = try Self.pipe(clip)
        let error = try #require(throws: VideoError.self) {
            try VideoSource(.pipe(pipe.fileHandleForReading.fileDescriptor), options: options)
        }
        Self.drain(pipe)
        #expect(error.description.contains("-movflags +faststart") && error.description.contains("fragmented"))
        #expect(error.description.contains("65536 bytes") && !error.description.contains("\n"))
        #expect(try Self.spooledFiles() == before)
        // A faststart MP4 streams, whatever the limit.
        let fast = try Self.remux(["-movflags", "+faststart"], in: dir)
        let fastPipe = try Self.pipe(fast)
        let source = try VideoSource(.pipe(fastPipe.fileHandleForReading.fileDescriptor), options: options)
        var count = 0
        while try source.next() != nil { count += 1 }
        #expect(count == 20)
        withExtendedLifetime(fastPipe) {}
    }

    /// Found by a review: the end of a pipe was always a clean end, so `head -c N clip.mp4 | vlm-stream -` exited 0.
    @Test("a faststart MP4 cut short on a pipe delivers its frames, then throws as the cut file does")
    func truncatedOnPipe() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let fast = try Self.remux(["-movflags", "+faststart"], in: dir)
        let whole = try Data(contentsOf: fast)
        let cut = dir.appendingPathComponent("cut.mp4")
        try whole.prefix(whole.count / 2).write(to: cut)
        let pipe = try Self.pipe(cut)
        let fd = pipe.fileHandleForReading.fileDescriptor
        let source = try VideoSource(.pipe(fd), options: VideoSourceOptions())
        var count = 0
        let error = try #require(throws: VideoError.self) { while try source.next() != nil { count += 1 } }
        guard case .damaged(let input, let seconds, _) = error else {
            Issue.record("expected .damaged, got \(error)")
            return
        }
        #expect(input == "pipe:\(fd)" && count > 0 && seconds > 1 && seconds < 9)
        withExtendedLifetime(pipe) {}
    }

    @Test("stdin redirected from a file (`< clip.mp4`) is read as the seekable file it is")
    func redirectedFile() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let clip = try Self.remux([], in: dir)
        let handle = try FileHandle(forReadingFrom: clip)
        defer { try? handle.close() }
        var options = VideoSourceOptions()
        options.pipeSpoolLimit = 1024  // never used: a file needs no spool
        let source = try VideoSource(.pipe(handle.fileDescriptor), options: options)
        var count = 0
        while try source.next() != nil { count += 1 }
        #expect(count == 20 && source.decodedFrameCount == 100)
    }
}
