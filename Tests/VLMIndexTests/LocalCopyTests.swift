import Foundation
import TestSupport
import Testing
import VLMCore
import VLMIndex

/// Search of a PostgreSQL index from a local, memory-mapped copy of its embeddings, caught up by chunk id: the same
/// moments as reading every chunk, and only new chunks cross the network.
@Suite(
    "local copy of a PostgreSQL index", .serialized,
    .enabled(if: PostgresServer.isAvailable, "PostgreSQL server binaries (initdb, postgres) are not installed"))
final class LocalCopyTests {
    let server: PostgresServer
    let cache: URL
    let dimension = 16

    init() throws {
        server = try PostgresServer()
        cache = try Fixtures.temporaryDirectory("vlm-copies")
    }

    deinit { try? FileManager.default.removeItem(at: cache) }

    /// Frames `first..<first+n` of a video at 2 fps with random unit embeddings.
    func frames(_ first: Int, _ n: Int, _ rng: inout SplitMix64) -> [IndexedFrame] {
        (first..<first + n).map {
            IndexedFrame(pts: Double($0) / 2, embedding: SyntheticIndex.randomUnitVector(dimension, &rng))
        }
    }

    func start(_ index: VideoIndex, _ path: String) throws -> Int64 {
        let plan = try index.prepare(
            videoPath: path, fingerprint: VideoFingerprint(size: 1, checksum: path), model: "m", dimension: dimension,
            fps: 2)
        guard case .fresh(let id, _) = plan else { throw IndexError.database(path: index.path, reason: "\(plan)") }
        return id
    }

    /// Moments for a fixed set of queries.
    func moments(_ index: VideoIndex) throws -> [[Moment]] {
        var rng = SplitMix64(seed: 5)
        let matrix = try index.matrix()
        return (0..<12).map { _ in
            matrix.search(
                SyntheticIndex.randomUnitVector(dimension, &rng), options: SearchOptions(top: 5, mergeMargin: 0.2))
        }
    }

    @Test("the copy gives the moments of a full read; a new video costs its own chunks; removed videos drop out")
    func incremental() throws {
        let db = try server.createDatabase("copy")
        let writer = try VideoIndex(path: db, create: true, localCopies: nil)
        var rng = SplitMix64(seed: 1)
        // Two videos committed in turns (their rows interleave in the copy), one left incomplete, one whole.
        let a = try start(writer, "/v/a.mp4")
        let b = try start(writer, "/v/b.mp4")
        let c = try start(writer, "/v/c.mp4")
        for k in 0..<5 {
            try writer.append(videoID: a, frames: frames(k * 8, 8, &rng))
            try writer.append(videoID: b, frames: frames(k * 8, 8, &rng))
        }
        try writer.append(videoID: c, frames: frames(0, 8, &rng))
        try writer.complete(videoID: a, duration: 20)
        try writer.complete(videoID: b, duration: 20)
        try SyntheticIndex.populate(
            writer, frames: 300, dimension: dimension, model: "m", framesPerVideo: 300, fps: 2, chunkFrames: 32,
            seed: 9)

        let full = try VideoIndex(path: db, create: false, localCopies: nil)
        let searcher = try VideoIndex(path: db, create: false, localCopies: cache)
        let expected = try moments(full)
        #expect(try moments(searcher) == expected && expected.allSatisfy { $0.count == 5 })
        let first = try #require(searcher.lastRefresh)
        // 10 chunks of a and b, 1 of c (not searchable yet), 10 of the synthetic video.
        #expect(first.chunksRead == 21 && first.framesRead == 388 && first.rows == 388 && first.searchable == 380)
        #expect(try full.lastRefresh == nil)

        // c completes and a new video arrives: a new process reads only their chunks.
        try writer.append(videoID: c, frames: frames(8, 8, &rng))
        try writer.complete(videoID: c, duration: 8)
        let d = try start(writer, "/v/d.mp4")
        try writer.append(videoID: d, frames: frames(0, 4, &rng))
        try writer.complete(videoID: d, duration: 2)
        let again = try VideoIndex(path: db, create: false, localCopies: cache)
        #expect(try moments(again) == moments(full))
        let second = try #require(again.lastRefresh)
        #expect(second.chunksRead == 2 && second.framesRead == 12 && !second.rebuilt && second.searchable == 400)
        // The first reader sees the change too (its revision moved); the copy it shares is caught up already.
        #expect(try moments(searcher) == moments(full) && searcher.lastRefresh?.chunksRead == 0)

        // A removed video's rows stay in the file but are never a result.
        try writer.remove(videoPath: "/v/a.mp4")
        let third = try VideoIndex(path: db, create: false, localCopies: cache)
        let after = try moments(third)
        #expect(after == (try moments(full)) && !after.joined().contains { $0.video == "/v/a.mp4" })
        #expect(third.lastRefresh?.chunksRead == 0 && third.lastRefresh?.searchable == 360)
    }

    @Test("a copy cut short (a crash, a full disk) is rebuilt, not trusted")
    func truncated() throws {
        let db = try server.createDatabase("truncated")
        let writer = try VideoIndex(path: db, create: true, localCopies: nil)
        try SyntheticIndex.populate(
            writer, frames: 64, dimension: dimension, model: "m", framesPerVideo: 64, chunkFrames: 16)
        let searcher = try VideoIndex(path: db, create: false, localCopies: cache)
        let expected = try moments(searcher)
        #expect(searcher.lastRefresh?.chunksRead == 4 && searcher.lastRefresh?.rebuilt == true)
        let copies = cache.appendingPathComponent("index-copies")
        let directory = copies.appendingPathComponent(
            try #require(try FileManager.default.contentsOfDirectory(atPath: copies.path).first))
        let file = try #require(
            try FileManager.default.contentsOfDirectory(atPath: directory.path).first { $0.hasSuffix(".f16") })
        try FileHandle(forWritingTo: directory.appendingPathComponent(file)).truncate(atOffset: 100)
        let again = try VideoIndex(path: db, create: false, localCopies: cache)
        #expect(try moments(again) == expected)
        #expect(again.lastRefresh?.rebuilt == true && again.lastRefresh?.chunksRead == 4)
    }

    @Test("a copy in the previous (fp32) format is rebuilt as fp16")
    func previousFormat() throws {
        let db = try server.createDatabase("format1")
        let writer = try VideoIndex(path: db, create: true, localCopies: nil)
        try SyntheticIndex.populate(
            writer, frames: 32, dimension: dimension, model: "m", framesPerVideo: 32, chunkFrames: 16)
        let expected = try moments(try VideoIndex(path: db, create: false, localCopies: cache))
        let copies = cache.appendingPathComponent("index-copies")
        let directory = copies.appendingPathComponent(
            try #require(try FileManager.default.contentsOfDirectory(atPath: copies.path).first))
        let stateURL = directory.appendingPathComponent("state.json")
        var state = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: stateURL)) as? [String: Any])
        #expect(state["format"] as? Int == 2)
        state["format"] = 1
        try JSONSerialization.data(withJSONObject: state).write(to: stateURL)
        let f16 = try #require(
            try FileManager.default.contentsOfDirectory(atPath: directory.path).first { $0.hasSuffix(".f16") })
        let f32 = String(f16.dropLast(4)) + ".f32"  // format 1's name
        try FileManager.default.moveItem(
            at: directory.appendingPathComponent(f16), to: directory.appendingPathComponent(f32))
        let again = try VideoIndex(path: db, create: false, localCopies: cache)
        #expect(try moments(again) == expected)
        #expect(again.lastRefresh?.rebuilt == true && again.lastRefresh?.chunksRead == 2)
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        #expect(!files.contains(f32), "the fp32 copy is removed: \(files)")
    }
}
