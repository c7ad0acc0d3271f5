import Foundation
import GRDB
import TestSupport
import Testing
import VLMIndex

/// Unit vectors pointing mostly along axis `axis` (deterministic), so tests know which frames match a query.
func unitVector(_ dimension: Int, axis: Int, wobble: Float = 0) -> [Float] {
    var v = [Float](repeating: 0.01, count: dimension)
    v[axis % dimension] = 1
    v[(axis + 1) % dimension] += wobble
    let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
    return v.map { $0 / norm }
}

let fingerprintA = VideoFingerprint(size: 100, checksum: "ends:aaaa")
let fingerprintB = VideoFingerprint(size: 100, checksum: "ends:bbbb")

@Suite("video index storage")
struct VideoIndexTests {
    let dir: URL
    let dbPath: String

    init() throws {
        dir = try Fixtures.temporaryDirectory("vlm-index")
        dbPath = dir.appendingPathComponent("index.sqlite").path
    }

    @Test("frames round-trip through fp16 chunks; skip, resume and replace plans")
    func lifecycle() throws {
        let index = try VideoIndex(path: dbPath, create: true)
        let plan = try index.prepare(
            videoPath: "/v/a.mp4", fingerprint: fingerprintA, model: "m1", dimension: 8, fps: 2)
        guard case .fresh(let id, replaced: false) = plan else {
            Issue.record("plan \(plan)")
            return
        }
        let frames = (0..<5).map { IndexedFrame(pts: Double($0) * 0.5, embedding: unitVector(8, axis: $0)) }
        try index.append(videoID: id, frames: Array(frames[0..<3]))
        // Interrupted: not searchable yet, and the same file resumes after the last stored pts.
        #expect(throws: IndexError.empty(path: dbPath)) { try index.matrix() }
        let again = try VideoIndex(path: dbPath, create: false)
        #expect(
            try again.prepare(videoPath: "/v/a.mp4", fingerprint: fingerprintA, model: "m1", dimension: 8, fps: 2)
                == .resume(videoID: id, afterPTS: 1.0, storedFrames: 3))
        try again.append(
            videoID: id, frames: Array(frames[3...]), captions: [.init(start: 0, end: 2, text: "x", score: 1)])
        #expect(try again.complete(videoID: id, duration: 2.5) == 5)
        #expect(try again.framePTS(videoID: id) == [0, 0.5, 1, 1.5, 2])

        let matrix = try again.matrix()
        #expect(matrix.count == 5 && matrix.dimension == 8 && matrix.model == "m1")
        for r in 0..<5 {
            for (a, b) in zip(matrix.row(r), frames[r].embedding) { #expect(abs(a - b) < 1e-3) }
        }
        #expect(try again.matrix() === matrix)  // cached until the revision changes

        #expect(
            try again.prepare(videoPath: "/v/a.mp4", fingerprint: fingerprintA, model: "m1", dimension: 8, fps: 2)
                == .skip)
        let changed = try again.prepare(
            videoPath: "/v/a.mp4", fingerprint: fingerprintB, model: "m1", dimension: 8, fps: 2)
        guard case .fresh(let newID, replaced: true) = changed else {
            Issue.record("plan \(changed)")
            return
        }
        #expect(newID != id)
        #expect(try again.framePTS(videoID: id).isEmpty)  // old frames deleted with the row
        #expect(try again.videos().map(\.complete) == [false])
        // Another sampling rate is a change too.
        let resampled = try again.prepare(
            videoPath: "/v/a.mp4", fingerprint: fingerprintB, model: "m1", dimension: 8, fps: 1)
        guard case .fresh(_, replaced: true) = resampled else {
            Issue.record("plan \(resampled)")
            return
        }
    }

    @Test("another model's index is refused")
    func modelMismatch() throws {
        let index = try VideoIndex(path: dbPath, create: true)
        _ = try index.prepare(videoPath: "/v/a.mp4", fingerprint: fingerprintA, model: "m1", dimension: 8, fps: 1)
        #expect(throws: IndexError.modelMismatch(path: dbPath, indexed: "m1", requested: "m2")) {
            try index.prepare(videoPath: "/v/b.mp4", fingerprint: fingerprintB, model: "m2", dimension: 8, fps: 1)
        }
        #expect(throws: IndexError.modelMismatch(path: dbPath, indexed: "m1", requested: "m2")) {
            try index.requireModel("m2")
        }
        try index.requireModel("m1")
    }

    @Test("missing, corrupt and foreign files give one-line errors")
    func badFiles() throws {
        #expect(throws: IndexError.missing(path: dbPath)) { try VideoIndex(path: dbPath, create: false) }
        try Data((0..<8192).map { UInt8(truncatingIfNeeded: $0 &* 7919) }).write(to: URL(fileURLWithPath: dbPath))
        do {
            _ = try VideoIndex(path: dbPath, create: false)
            Issue.record("opened a corrupt file")
        } catch let error as IndexError {
            guard case .notAnIndex = error else {
                Issue.record("\(error)")
                return
            }
            #expect(!error.description.contains("\n") && error.description.contains(dbPath))
        }
        let other = dir.appendingPathComponent("other.sqlite").path
        try DatabaseQueue(path: other).write { try $0.execute(sql: "CREATE TABLE t (x)") }
        #expect(throws: IndexError.foreignDatabase(path: other)) { try VideoIndex(path: other, create: false) }
    }
}
