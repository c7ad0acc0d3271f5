import Foundation
import TestSupport
import Testing
import VLMCore

@testable import VLMVideo

/// Events reported by a source, collected across threads.
final class EventLog: Sendable {
    private let events = Locked<[VideoSourceEvent]>([])
    func append(_ event: VideoSourceEvent) { events.withLock { $0.append(event) } }
    var all: [VideoSourceEvent] { events.withLock { $0 } }
}

/// `ffmpeg -re` serving a sample clip as MPEG-TS over HTTP on loopback, one client, like a live camera.
private func startServer(port: Int, clip: URL = plaza) throws -> Process {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [
        "ffmpeg", "-v", "quiet", "-re", "-i", clip.path, "-c", "copy", "-f", "mpegts", "-listen", "1",
        "http://127.0.0.1:\(port)/live.ts",
    ]
    process.standardInput = FileHandle.nullDevice
    try process.run()
    return process
}

/// Opens the source, retrying while the server is still starting (connection refused).
private func openWhenUp(_ url: String, options: VideoSourceOptions, log: EventLog) throws -> VideoSource {
    let deadline = Date().addingTimeInterval(10)
    while true {
        do {
            return try VideoSource(.network(url), options: options, onEvent: { log.append($0) })
        } catch {
            if Date() > deadline { throw error }
            Thread.sleep(forTimeInterval: 0.1)
        }
    }
}

@Suite("Live and piped sources", .serialized)
struct LiveSourceTests {
    private var options: VideoSourceOptions {
        var options = VideoSourceOptions()
        options.imageSize = 32
        options.sampling = .every(1)
        options.ioTimeout = 3
        options.reconnect = ReconnectPolicy(initialDelay: 0.1, maxDelay: 0.4)
        return options
    }

    @Test("a stream on a pipe (as on stdin) decodes with the file's times plus wall-clock times")
    func pipe() throws {
        let pipe = Pipe()
        let data = try Data(contentsOf: plaza)
        let writer = Thread {
            try? pipe.fileHandleForWriting.write(contentsOf: data)
            try? pipe.fileHandleForWriting.close()
        }
        writer.start()
        let source = try VideoSource(.pipe(pipe.fileHandleForReading.fileDescriptor), options: options)
        var times: [Double] = []
        while let frame = try source.next() {
            times.append(frame.frame.time.seconds)
            #expect(frame.frame.time.wallClock != nil)
        }
        #expect(times.count == 100)
        #expect(zip(times, 0..<100).allSatisfy { abs($0 - Double($1) / 10) < 1e-6 })
        #expect(source.streamName == "pipe\(pipe.fileHandleForReading.fileDescriptor)")
    }

    @Test("cancel() ends a piped source whose writer stalls without closing the pipe", .timeLimit(.minutes(1)))
    func stalledPipe() throws {
        let pipe = Pipe()
        let data = try Data(contentsOf: plaza)
        // Only the first third of the file, and the write end stays open: reads would block forever.
        let writer = Thread { try? pipe.fileHandleForWriting.write(contentsOf: data.prefix(data.count / 3)) }
        writer.start()
        let source = try VideoSource(.pipe(pipe.fileHandleForReading.fileDescriptor), options: options)
        DispatchQueue.global().asyncAfter(deadline: .now() + 1) { source.cancel() }
        let start = Date()
        var frames = 0
        while try source.next() != nil { frames += 1 }
        #expect(frames > 10)
        #expect(Date().timeIntervalSince(start) < 5)
        try pipe.fileHandleForWriting.close()
    }

    @Test(
        "a live HTTP stream that drops is reported, reconnected, and its times keep increasing",
        .timeLimit(.minutes(1)))
    func reconnect() throws {
        let port = Int.random(in: 20_000..<40_000)
        var server = try startServer(port: port)
        defer { if server.isRunning { server.terminate() } }
        let log = EventLog()
        let source = try openWhenUp("http://127.0.0.1:\(port)/live.ts", options: options, log: log)
        #expect(source.info.isLive)
        var times: [Double] = []
        while let frame = try source.next(), frame.frame.time.seconds < 1.0 {
            times.append(frame.frame.time.seconds)
            #expect(frame.frame.time.wallClock != nil)
        }
        server.terminate()
        server.waitUntilExit()
        server = try startServer(port: port)
        // Keep reading: the buffered rest, the drop, reconnect attempts, then frames from the new connection.
        var afterReconnect = 0
        while afterReconnect < 5, let frame = try source.next() {
            times.append(frame.frame.time.seconds)
            if log.all.contains(where: { if case .reconnected = $0 { return true } else { return false } }) {
                afterReconnect += 1
            }
        }
        source.cancel()
        #expect(afterReconnect == 5)
        #expect(log.all.contains { if case .reconnecting(1, _, _) = $0 { return true } else { return false } })
        #expect(zip(times, times.dropFirst()).allSatisfy { $0 < $1 }, "times must increase across the reconnect")
    }

    @Test("cancel() ends a source that is waiting to reconnect, promptly", .timeLimit(.minutes(1)))
    func cancelDuringBackoff() throws {
        let port = Int.random(in: 40_000..<60_000)
        let server = try startServer(port: port)
        defer { if server.isRunning { server.terminate() } }
        var options = options
        options.reconnect = ReconnectPolicy(initialDelay: 5, maxDelay: 5)
        let log = EventLog()
        let source = try openWhenUp("http://127.0.0.1:\(port)/live.ts", options: options, log: log)
        _ = try source.next()
        server.terminate()
        DispatchQueue.global().asyncAfter(deadline: .now() + 1) { source.cancel() }
        let start = Date()
        while try source.next() != nil {}
        #expect(Date().timeIntervalSince(start) < 4)
        #expect(log.all.last == .ended(reason: "cancelled"))
    }

    @Test("an unreachable stream fails to open with a one-line error naming it")
    func unreachable() {
        var options = options
        options.ioTimeout = 1
        #expect {
            _ = try VideoSource(.network("http://127.0.0.1:9/none.ts"), options: options)
        } throws: { error in
            "\(error)".hasPrefix("cannot open video 'http://127.0.0.1:9/none.ts'")
        }
    }
}

/// A TCP socket on loopback that listens but never answers: connections complete (kernel backlog), reads block.
private final class SilentServer {
    let port: Int
    private let fd: Int32

    init() throws {
        (fd, port) = try LoopbackSocket.listen(backlog: 8)
    }

    deinit { close(fd) }
}

@Suite("Stalled inputs")
struct StalledInputTests {
    @Test("a server that accepts but never sends makes open time out after --io-timeout", .timeLimit(.minutes(1)))
    func openTimesOut() throws {
        let server = try SilentServer()
        var options = VideoSourceOptions()
        options.ioTimeout = 1
        let start = Date()
        #expect {
            _ = try VideoSource(.network("http://127.0.0.1:\(server.port)/stall.ts"), options: options)
        } throws: { error in
            "\(error)".contains("timed out")
        }
        let elapsed = Date().timeIntervalSince(start)
        #expect(elapsed >= 0.9 && elapsed < 5)
    }

    /// Found by a review: RTSP against a silent server said "not a video FFmpeg recognises, or the file is corrupt".
    @Test("an RTSP server that accepts but never answers says to check the stream", .timeLimit(.minutes(1)))
    func silentRTSP() throws {
        let server = try SilentServer()
        var options = VideoSourceOptions()
        options.ioTimeout = 1
        #expect {
            _ = try VideoSource(.network("rtsp://127.0.0.1:\(server.port)/cam"), options: options)
        } throws: { error in
            let text = "\(error)"
            return (text.contains("check the URL and that the stream is up") || text.contains("timed out"))
                && !text.contains("file is corrupt")
        }
    }

    @Test(
        "a live stream that stalls (server frozen, connection open) counts as a drop after --io-timeout",
        .timeLimit(.minutes(1)))
    func stallIsADrop() throws {
        let port = Int.random(in: 20_000..<60_000)
        let server = try startServer(port: port)
        defer {
            kill(server.processIdentifier, SIGCONT)
            server.terminate()
        }
        var options = VideoSourceOptions()
        options.imageSize = 16
        options.ioTimeout = 1
        let log = EventLog()
        let box = Locked<VideoSource?>(nil)
        let url = "http://127.0.0.1:\(port)/live.ts"
        let deadline = Date().addingTimeInterval(10)
        var opened: VideoSource?
        while opened == nil {
            do {
                opened = try VideoSource(.network(url), options: options) { event in
                    log.append(event)
                    // Stop at the first reconnect attempt: the frozen server would only time out again.
                    if case .reconnecting = event { box.withLock { $0?.cancel() } }
                }
            } catch {
                if Date() > deadline { throw error }
                Thread.sleep(forTimeInterval: 0.1)
            }
        }
        let source = try #require(opened)
        box.withLock { $0 = source }
        _ = try source.next()
        kill(server.processIdentifier, SIGSTOP)
        let stopped = Date()
        while try source.next() != nil {}
        #expect(Date().timeIntervalSince(stopped) < 8)
        let reasons = log.all.compactMap { event -> String? in
            if case .reconnecting(_, _, let reason) = event { return reason } else { return nil }
        }
        #expect(reasons.count == 1)
        #expect(reasons.first.map { $0.contains("no data") || $0.contains("timed out") } == true, "\(reasons)")
    }
}

@Suite("Cancelling an open")
struct CancelOpenTests {
    @Test("a SourceCancellation stops an open that is waiting on a silent server", .timeLimit(.minutes(1)))
    func cancelWhileOpening() throws {
        let server = try SilentServer()
        var options = VideoSourceOptions()
        options.ioTimeout = 30
        let cancellation = SourceCancellation()
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.5) { cancellation.cancel() }
        let start = Date()
        #expect {
            _ = try VideoSource(
                .network("http://127.0.0.1:\(server.port)/stall.ts"), options: options, cancellation: cancellation)
        } throws: { error in
            "\(error)" == "cannot open video 'http://127.0.0.1:\(server.port)/stall.ts': cancelled"
        }
        #expect(Date().timeIntervalSince(start) < 5)
    }
}
