import Foundation
import TestSupport
import Testing
import VLMCore

@testable import VLMVideo

/// Events reported by a source, collected across threads.
final class EventLog: Sendable {
    private let events = Mutexed<[VideoSourceEvent]>([])
    func append(_ event: VideoSourceEvent) { events.withLock { $0.append(event) } }
    var all: [VideoSourceEvent] { events.withLock { $0 } }
}

/// A tiny lock-protected box (Synchronization.Mutex needs macOS 15).
final class Mutexed<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func withLock<R>(_ body: (inout Value) -> R) -> R {
        lock.lock()
        defer { lock.unlock() }
        return body(&value)
    }
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
