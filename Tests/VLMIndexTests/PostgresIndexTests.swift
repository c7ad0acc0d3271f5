import Foundation
import TestSupport
import Testing
import VLMIndex

/// The same index operations against SQLite and a throw-away PostgreSQL cluster give the same results.
@Suite(
    "video index in PostgreSQL", .serialized,
    .enabled(if: PostgresServer.isAvailable, "PostgreSQL server binaries (initdb, postgres) are not installed"))
struct PostgresIndexTests {
    /// This test's cluster (stopped and removed when the test ends).
    let server: PostgresServer

    init() throws {
        server = try PostgresServer()
    }

    /// A fresh database on the test's cluster.
    func database(_ name: String) throws -> String {
        try server.createDatabase(name)
    }

    /// Runs plans, appends (one twice: idempotent), captions, completion, replacement and removal; returns what a
    /// reader sees at the end.
    func exercise(_ index: VideoIndex) throws -> (
        videos: [IndexedVideo], frames: [[IndexedFrame]], captions: [[IndexedCaption]], matrix: EmbeddingMatrix
    ) {
        let frames = (0..<6).map {
            IndexedFrame(pts: Double($0) * 0.5, embedding: unitVector(8, axis: $0, wobble: 0.1))
        }
        guard
            case .fresh(let a, false) = try index.prepare(
                videoPath: "/v/a.mp4", fingerprint: fingerprintA, model: "m1", dimension: 8, fps: 2)
        else { throw IndexError.database(path: index.path, reason: "expected a fresh plan") }
        try index.append(videoID: a, frames: Array(frames[0..<3]))
        try index.append(videoID: a, frames: Array(frames[0..<3]))  // a retried commit: stored once
        #expect(
            try index.prepare(videoPath: "/v/a.mp4", fingerprint: fingerprintA, model: "m1", dimension: 8, fps: 2)
                == .resume(videoID: a, afterPTS: 1.0, storedFrames: 3))
        try index.append(videoID: a, frames: Array(frames[3...]))
        #expect(
            try index.complete(videoID: a, duration: 3, captions: [.init(start: 0, end: 1, text: "a cat", score: 0.5)])
                == 6)
        #expect(
            try index.prepare(videoPath: "/v/a.mp4", fingerprint: fingerprintA, model: "m1", dimension: 8, fps: 2)
                == .skip)
        #expect(throws: IndexError.modelMismatch(path: index.path, indexed: "m1", requested: "m2")) {
            try index.prepare(videoPath: "/v/c.mp4", fingerprint: fingerprintA, model: "m2", dimension: 8, fps: 2)
        }
        // b is indexed, then changed on disk: replaced.
        guard
            case .fresh(let b, false) = try index.prepare(
                videoPath: "/v/b.mp4", fingerprint: fingerprintA, model: "m1", dimension: 8, fps: 2)
        else { throw IndexError.database(path: index.path, reason: "expected a fresh plan") }
        try index.append(videoID: b, frames: Array(frames[0..<2]))
        try index.complete(videoID: b, duration: 1)
        guard
            case .fresh(let b2, true) = try index.prepare(
                videoPath: "/v/b.mp4", fingerprint: fingerprintB, model: "m1", dimension: 8, fps: 2,
                captioner: "clip-vocabulary")
        else { throw IndexError.database(path: index.path, reason: "expected a replacing plan") }
        try index.append(videoID: b2, frames: Array(frames[2..<5]))
        try index.complete(videoID: b2, duration: 2, captions: [.init(start: 1, end: 2, text: "a dog", score: 0.25)])
        let videos = try index.videos()
        return (
            videos, try videos.map { try index.frames(videoID: $0.id) },
            try videos.map { try index.captions(videoID: $0.id) },
            try index.matrix()
        )
    }

    @Test("index, resume, skip, replace, captions and search give the same results in SQLite and PostgreSQL")
    func parity() throws {
        let dir = try Fixtures.temporaryDirectory("vlm-pg-index")
        defer { try? FileManager.default.removeItem(at: dir) }
        let lite = try exercise(VideoIndex(path: dir.appendingPathComponent("i.sqlite").path, create: true))
        let pg = try exercise(VideoIndex(path: try database("parity"), create: true))
        #expect(pg.videos.map(\.path) == lite.videos.map(\.path))
        #expect(pg.videos.map(\.frameCount) == [6, 3] && lite.videos.map(\.frameCount) == [6, 3])
        #expect(pg.videos.map(\.complete) == lite.videos.map(\.complete))
        #expect(pg.videos.map(\.captioned) == lite.videos.map(\.captioned))
        #expect(pg.frames == lite.frames)  // the same fp16 bits widened the same way
        #expect(pg.captions == lite.captions && pg.captions[1].first?.text == "a dog")
        #expect(pg.matrix.count == 9 && pg.matrix.count == lite.matrix.count)
        for r in 0..<pg.matrix.count { #expect(pg.matrix.row(r) == lite.matrix.row(r)) }
        let query = unitVector(8, axis: 3, wobble: 0.1)
        let options = SearchOptions(top: 3)
        let a = pg.matrix.search(query, options: options)
        let b = lite.matrix.search(query, options: options)
        #expect(a == b && !a.isEmpty)
    }

    @Test("reopening migrates once; a database of another program and an unreachable server are one-line errors")
    func openErrors() throws {
        let url = try database("open")
        _ = try VideoIndex(path: url, create: true)
        #expect(try VideoIndex(path: url, create: false).model() == nil)
        let port = try Mosquitto.freePort()
        let dead = "postgres://vlm:secret@127.0.0.1:\(port)/x?sslmode=disable"
        do {
            _ = try VideoIndex(path: dead, create: true)
            Issue.record("opened an unreachable server")
        } catch let error as IndexError {
            guard case .unreachable = error else { throw error }
            #expect(!error.description.contains("secret") && !error.description.contains("\n"))
        }
        #expect(throws: IndexError.self) { try VideoIndex(path: "postgres://127.0.0.1/x", create: true) }
    }
}

/// Found by a review: a URL that did not parse was shown whole, password included, and a port out of range went to
/// another port (5432, or 70000 wrapped to 4464) with the credentials.
@Suite("PostgreSQL URLs")
struct PostgresURLTests {
    @Test("a malformed URL never shows its password; a port outside 1…65535 is refused; IPv6 is unbracketed")
    func parsing() throws {
        for bad in [
            "postgres://vlm:secret@127.0.0.1:5x432/videos", "postgres://vlm:se#cret@127.0.0.1/videos",
            "postgres://vlm:secret@127.0.0.1:-1/videos", "postgres://vlm:secret@127.0.0.1:70000/videos",
            "postgres://vlm:secret@127.0.0.1:99999999999999999999/videos", "postgres://vlm:secret@127.0.0.1:0/videos",
        ] {
            let error = try #require(throws: IndexError.self) { try PostgresURL(bad) }
            #expect(!"\(error)".contains("secret") && !"\(error)".contains("cret"), "\(error)")
            #expect("\(error)".contains("is not a usable PostgreSQL URL"), "\(error)")
        }
        #expect(try PostgresURL("postgres://vlm:secret@[::1]:55432/videos").host == "::1")
        #expect(try PostgresURL("postgres://vlm@db:5433/videos").port == 5433)
        #expect(try PostgresURL("postgres://vlm@db/videos").port == 5432)
        let noUser = try #require(throws: IndexError.self) { try PostgresURL("postgres://127.0.0.1/videos") }
        #expect("\(noUser)".contains("no user name"), "\(noUser)")
        #expect {
            try JobQueue(url: "http://vlm:secret@host/x")
        } throws: { error in
            !"\(error)".contains("secret")
        }
    }
}
