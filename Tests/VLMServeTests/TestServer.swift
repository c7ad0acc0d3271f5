import CLIP
import Foundation
import Logging
import TestSupport
import VLMIndex
import VLMServe

/// A real `ArchiveServer` on a free loopback port over a small index of the sample videos, made with the tiny
/// test CLIP model by `vlm-stream index` (so the executable must be built, as for the CLI tests).
struct TestServer: Sendable {
    let port: Int
    let archive: Archive
    let dir: URL
    var http: RawHTTP { RawHTTP(port: port) }

    static let model = Fixtures.url("tiny-clip")
    static let videos = [Fixtures.sampleVideo("plaza.mp4"), Fixtures.sampleVideo("megamind.mp4")]

    /// The shared index of plaza.mp4 and megamind.mp4 (1 fps, with captions), built once per test run.
    static let sharedIndex = Task { () throws -> URL in
        let dir = try Fixtures.temporaryDirectory("vlm-serve-index")
        return try await makeIndex(videos.map(\.path), in: dir, extra: ["--captions"])
    }

    /// The shared server (no token, default limits).
    static let shared = Task { () throws -> TestServer in
        try await start(db: try await sharedIndex.value)
    }

    /// Indexes `videos` into `dir/index.sqlite` with `vlm-stream index`.
    static func makeIndex(_ videos: [String], in dir: URL, extra: [String] = []) async throws -> URL {
        let db = dir.appendingPathComponent("index.sqlite")
        let arguments = ["index"] + videos + ["--db", db.path, "--fps", "1", "--model", model.path] + extra
        let result = try await blocking { try CLIRunner.run(arguments, timeout: 600) }
        guard result.status == 0 else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: "index failed: \(result.stderr)"])
        }
        return db
    }

    /// Starts a server over `db` with `options` (host and port are set here) and waits until it listens.
    static func start(db: URL, configure: (inout ServeOptions) -> Void = { _ in }) async throws -> TestServer {
        var options = ServeOptions()
        options.host = "127.0.0.1"
        options.port = 0
        // The tests share 2 cores with the rest of the suite: a search that takes seconds there is slow, not hung
        // (the timeout test sets its own limit).
        options.requestTimeout = .seconds(120)
        // The idle timer counts from the last byte the server read, and the server reads a request body only as its
        // handler takes it. Tests elsewhere in the suite block the cooperative pool that runs the handlers for half a
        // minute at a time, so the default 30 s closed uploads that were waiting to be read, and the client got a
        // reset instead of an answer.
        options.idleTimeout = .seconds(120)
        configure(&options)
        let index = try VideoIndex(path: db.path, create: false)
        let encoder = try CLIPModel.load(directory: model)
        let archive = try Archive(index: index, encoder: encoder)
        var logger = Logger(label: "vlm.serve.test")
        logger.logLevel = .warning
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let app = ArchiveServer.application(archive: archive, options: options, logger: logger) { port in
            continuation.yield(port)
        }
        Task { try await app.run() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw POSIXError(.EADDRNOTAVAIL) }
        return TestServer(port: port, archive: archive, dir: db.deletingLastPathComponent())
    }

    /// The index ids of the shared videos by file name.
    func videoIDs() throws -> [String: Int64] {
        Dictionary(
            uniqueKeysWithValues: try archive.videos().map { (URL(fileURLWithPath: $0.path).lastPathComponent, $0.id) })
    }

    /// The frame of `video` at `seconds` as PNG bytes (the ffmpeg CLI cuts it).
    static func frame(of video: URL, at seconds: Double) throws -> [UInt8] {
        let out = try Fixtures.temporaryDirectory("vlm-serve-frame").appendingPathComponent("frame.png")
        let ffmpeg = Process()
        ffmpeg.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        ffmpeg.arguments = [
            "ffmpeg", "-v", "error", "-y", "-ss", "\(seconds)", "-i", video.path, "-frames:v", "1", out.path,
        ]
        try ffmpeg.run()
        ffmpeg.waitUntilExit()
        return Array(try Data(contentsOf: out))
    }
}

/// Runs blocking test work (subprocesses, sockets) on a Dispatch thread, keeping the cooperative pool free for the
/// in-process server.
func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async { continuation.resume(with: Result { try body() }) }
    }
}
