import Foundation
import GRDB
import TestSupport
import Testing
import VLMCore
import VLMIndex

/// Indexes damaged on purpose (as another tool, a bad disk or an attacker would leave them): each is refused with
/// the index's one-line error before anything is allocated from the stored counts.
@Suite("Hostile index files")
struct HostileIndexTests {
    let dbPath: String

    init() throws {
        dbPath = try Fixtures.temporaryDirectory("vlm-index-hostile").appendingPathComponent("index.sqlite").path
        let index = try VideoIndex(path: dbPath, create: true)
        guard
            case .fresh(let id, _) = try index.prepare(
                videoPath: "/v/a.mp4", fingerprint: fingerprintA, model: "m1", dimension: 8, fps: 2)
        else { throw IndexError.empty(path: dbPath) }
        try index.append(
            videoID: id, frames: (0..<4).map { IndexedFrame(pts: Double($0), embedding: unitVector(8, axis: $0)) })
        _ = try index.complete(videoID: id, duration: 4)
    }

    func tamper(_ sql: String) throws {
        let queue = try DatabaseQueue(path: dbPath)
        try queue.write { try $0.execute(sql: sql) }
        try queue.close()
    }

    @Test(
        "a stored frame count of 10^9, Int.max or below zero is damage, not an allocation",
        arguments: ["1000000000", "9223372036854775807", "-5"])
    func frameCount(_ count: String) throws {
        try tamper("UPDATE chunk SET frame_count = \(count)")
        let index = try VideoIndex(path: dbPath, create: false)
        let error = try #require(throws: IndexError.self) { try index.matrix() }
        guard case .notAnIndex = error else {
            Issue.record("\(error)")
            return
        }
        #expect(throws: IndexError.self) { try index.frames(videoID: 1) }
    }

    @Test("a damaged index_info says damaged, not 'no completely indexed video yet'")
    func damagedInfo() throws {
        try tamper("UPDATE index_info SET value = 'many' WHERE key = 'dimension'")
        let index = try VideoIndex(path: dbPath, create: false)
        let error = try #require(throws: IndexError.self) { try index.matrix() }
        #expect(error.description.contains("index_info"), "\(error)")
        #expect(!error.description.contains("no completely indexed video"))
    }

    /// Found by the index-database fuzz target: a NULL in a NOT NULL column of a damaged file trapped in GRDB's
    /// non-throwing row subscript, and so does text where a number must be; every read column is decoded throwing.
    @Test("text where a number must be is reported as damage, not a trap")
    func wrongTypeColumn() throws {
        try tamper("UPDATE video SET size = 'big'")
        let index = try VideoIndex(path: dbPath, create: false)
        let error = try #require(throws: IndexError.self) { try index.videos() }
        #expect(error.description.contains("damaged"), "\(error)")
    }

    /// Found by the index-database fuzz target: with its tables present but their schema record gone, the open
    /// took each "already exists" for a concurrent indexer's migration, and tried again for ~10 s before failing.
    @Test("an index whose tables exist without their schema record is refused at once")
    func missingSchemaRecord() throws {
        try tamper("DROP TABLE grdb_migrations")
        let error = try #require(throws: IndexError.self) { try VideoIndex(path: dbPath, create: false) }
        #expect(error.description.contains("schema record"), "\(error)")
    }

    @Test("search --top Int.max returns every moment without overflowing")
    func hugeTop() throws {
        let matrix = try VideoIndex(path: dbPath, create: false).matrix()
        let moments = matrix.search(unitVector(8, axis: 0), options: SearchOptions(top: .max, mergeMargin: 0))
        #expect((1...4).contains(moments.count))
        #expect(TopK.select([1, 2, 3], k: .max).count == 3)
    }

    @Test("another program's SQLite file is refused byte-for-byte unchanged (no WAL switch, no version bump)")
    func foreignUnchanged() throws {
        let foreign = try Fixtures.temporaryDirectory("vlm-index-foreign").appendingPathComponent("app.db").path
        let queue = try DatabaseQueue(path: foreign)
        try queue.write { db in
            try db.execute(
                sql: "CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT); INSERT INTO notes VALUES (1, 'x')")
        }
        try queue.close()
        let before = try Data(contentsOf: URL(fileURLWithPath: foreign))
        for create in [true, false] {
            #expect(throws: IndexError.foreignDatabase(path: foreign)) { try VideoIndex(path: foreign, create: create) }
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: foreign)) == before)
        #expect(!FileManager.default.fileExists(atPath: foreign + "-wal"))
    }

    @Test("a file that is not SQLite is refused unchanged")
    func notSQLiteUnchanged() throws {
        let path = try Fixtures.temporaryDirectory("vlm-index-garbage").appendingPathComponent("x.db").path
        let bytes = Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 7) })
        try bytes.write(to: URL(fileURLWithPath: path))
        #expect(throws: IndexError.self) { try VideoIndex(path: path, create: true) }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == bytes)
    }

    @Test("NaN stored times are written as null in the one JSON encoding, never as a bare nan")
    func nanTimes() throws {
        try tamper("UPDATE chunk SET pts = zeroblob(32)")
        let nan = Double.nan.bitPattern.littleEndian
        let hex = withUnsafeBytes(of: nan) { $0.map { String(format: "%02X", $0) }.joined() }
        try tamper("UPDATE chunk SET pts = X'\(String(repeating: hex, count: 4))'")
        let matrix = try VideoIndex(path: dbPath, create: false).matrix()
        let moments = matrix.search(unitVector(8, axis: 0), options: SearchOptions(top: 2))
        let line = ResultJSON.line(try #require(moments.first))
        #expect(!line.lowercased().contains("nan"), "\(line)")
        #expect(line.contains("\"start\":null"), "\(line)")
        #expect((try? JSONSerialization.jsonObject(with: Data(line.utf8))) != nil)
    }
}
