import Foundation
import GRDB
import VLMCore

/// An offline video index: one SQLite file (WAL mode, so searches read while an indexer writes).
///
/// Layout (schema v1):
/// - `index_info(key, value)`: `model` (encoder identity), `dimension`, `revision` (bumped whenever the set of
///   complete videos changes; in-memory matrices are cached per revision).
/// - `video`: one row per file: path, size, checksum, duration, model, sampling fps, `complete` (set only after
///   the last frame is committed), `captioned` (captions stored), frame count.
/// - `chunk`: the frames of one committed batch of a video: `pts` is `frame_count` little-endian Float64s,
///   `embeddings` is `frame_count × dimension` little-endian fp16 (IEEE binary16) — 2 bytes per value, so a
///   512-d frame costs 1 KiB plus 8 bytes of pts. Search reads whole chunks and widens them with a vectorised loop.
/// - `caption`: rolling captions of a video (`start`, `end`, `text`, `score`).
public final class VideoIndex: Sendable {
    /// `PRAGMA application_id` of vlm-stream indexes ("VLMI"), so another program's database is refused.
    public static let applicationID: Int32 = 0x564C_4D49
    /// The schema version this build writes.
    public static let schemaVersion = 1

    /// The database file.
    public let path: String
    let pool: DatabasePool
    let cache = MatrixCache()

    // MARK: - Opening

    /// Opens the index at `path`. With `create`, a missing file becomes a new empty index; without, a missing file
    /// is `IndexError.missing`. Corrupt or foreign files are refused with an `IndexError`.
    public init(path: String, create: Bool) throws {
        self.path = path
        if !create && !FileManager.default.fileExists(atPath: path) { throw IndexError.missing(path: path) }
        var config = Configuration()
        config.busyMode = .timeout(30)
        config.foreignKeysEnabled = true
        config.label = "vlm-index"
        // Opening a pool switches the file to WAL; look at an existing file read-only first, so another program's
        // database (or a file that is not SQLite) is refused byte-for-byte unchanged.
        try Self.checkExistingFile(path: path)
        do {
            pool = try DatabasePool(path: path, configuration: config)
        } catch {
            throw Self.translate(error, path: path)
        }
        try checkIdentity()
        try migrate()
    }

    /// Reads the `application_id` and table count of an existing, non-empty file through a read-only connection
    /// and refuses anything that is not a vlm-stream index (or an empty SQLite file) before it is written to.
    static func checkExistingFile(path: String) throws {
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? nil
        guard let size, size > 0 else { return }
        var config = Configuration()
        config.readonly = true
        config.busyMode = .timeout(30)
        config.label = "vlm-index-check"
        do {
            let queue = try DatabaseQueue(path: path, configuration: config)
            defer { try? queue.close() }
            let (appID, tables) = try queue.read { db in
                (
                    try Int32.fetchOne(db, sql: "PRAGMA application_id") ?? 0,
                    try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master WHERE type = 'table'") ?? 0
                )
            }
            guard appID == applicationID || (appID == 0 && tables == 0) else {
                throw IndexError.foreignDatabase(path: path)
            }
        } catch {
            throw translate(error, path: path)
        }
    }

    /// Refuses SQLite files of other programs; stamps a new empty file as ours. Reads first, so opening an
    /// existing index never waits for a running indexer's write lock.
    private func checkIdentity() throws {
        let (appID, tables) = try read { db in
            (
                try Int32.fetchOne(db, sql: "PRAGMA application_id") ?? 0,
                try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master WHERE type = 'table'") ?? 0
            )
        }
        if appID == Self.applicationID { return }
        guard appID == 0 && tables == 0 else { throw IndexError.foreignDatabase(path: path) }
        try write { db in try db.execute(sql: "PRAGMA application_id = \(Self.applicationID)") }
    }

    private func migrate() throws {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE index_info (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL);
                    CREATE TABLE video (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        path TEXT NOT NULL UNIQUE,
                        size INTEGER NOT NULL,
                        checksum TEXT NOT NULL,
                        duration REAL,
                        model TEXT NOT NULL,
                        fps REAL NOT NULL,
                        complete INTEGER NOT NULL DEFAULT 0,
                        captioned INTEGER NOT NULL DEFAULT 0,
                        frame_count INTEGER NOT NULL DEFAULT 0,
                        indexed_at REAL NOT NULL
                    );
                    CREATE TABLE chunk (
                        id INTEGER PRIMARY KEY,
                        video_id INTEGER NOT NULL REFERENCES video(id) ON DELETE CASCADE,
                        first_pts REAL NOT NULL,
                        last_pts REAL NOT NULL,
                        frame_count INTEGER NOT NULL,
                        pts BLOB NOT NULL,
                        embeddings BLOB NOT NULL,
                        UNIQUE (video_id, first_pts)
                    );
                    CREATE TABLE caption (
                        id INTEGER PRIMARY KEY,
                        video_id INTEGER NOT NULL REFERENCES video(id) ON DELETE CASCADE,
                        start REAL NOT NULL,
                        "end" REAL NOT NULL,
                        text TEXT NOT NULL,
                        score REAL NOT NULL
                    );
                    CREATE INDEX caption_video ON caption(video_id, start);
                    INSERT INTO index_info (key, value) VALUES ('revision', '0');
                    """)
        }
        let upToDate = try read { db in
            if try migrator.hasBeenSuperseded(db) {
                throw IndexError.newerSchema(path: self.path, version: try migrator.appliedIdentifiers(db).count)
            }
            return try migrator.hasCompletedMigrations(db)
        }
        if upToDate { return }
        do {
            try migrator.migrate(pool)
        } catch {
            throw Self.translate(error, path: path)
        }
    }

    // MARK: - Error translation

    /// Runs a write transaction, turning SQLite failures into `IndexError`s.
    func write<T>(_ body: (Database) throws -> T) throws -> T {
        do {
            return try pool.write(body)
        } catch {
            throw Self.translate(error, path: path)
        }
    }

    /// Runs a read in a consistent snapshot, turning SQLite failures into `IndexError`s.
    func read<T>(_ body: (Database) throws -> T) throws -> T {
        do {
            return try pool.read(body)
        } catch {
            throw Self.translate(error, path: path)
        }
    }

    static func translate(_ error: any Error, path: String) -> any Error {
        if error is IndexError { return error }
        if error is RowDecodingError {
            return IndexError.notAnIndex(path: path, reason: "a stored value is damaged (\(error))")
        }
        guard let dbError = error as? DatabaseError else { return IndexError.database(path: path, reason: "\(error)") }
        let reason = dbError.message ?? "\(dbError.resultCode)"
        switch dbError.resultCode {
        case .SQLITE_NOTADB, .SQLITE_CORRUPT:
            return IndexError.notAnIndex(path: path, reason: reason)
        default:
            return IndexError.database(path: path, reason: reason)
        }
    }
}
