import Foundation
import GRDB

/// The index in one SQLite file (GRDB, WAL mode, so searches read while an indexer writes).
final class SQLiteStore: IndexStore {
    /// `PRAGMA application_id` of vlm-stream indexes ("VLMI"), so another program's database is refused.
    static let applicationID: Int32 = 0x564C_4D49

    let path: String
    let pool: DatabasePool

    /// Opens the file at `path` (creating it unless `create` is false), refuses foreign files and migrates.
    init(path: String, create: Bool) throws {
        self.path = path
        var isDirectory: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
        if !create && !exists { throw IndexError.missing(path: path) }
        if isDirectory.boolValue { throw IndexError.directory(path: path) }
        var config = Configuration()
        config.busyMode = .timeout(30)
        config.foreignKeysEnabled = true
        config.label = "vlm-index"
        // Opening a pool switches the file to WAL; look at an existing file read-only first, so another program's
        // database (or a file that is not SQLite) is refused byte-for-byte unchanged.
        try Self.checkExistingFile(path: path)
        // Two processes that open a new index at the same moment can meet SQLITE_BUSY where SQLite does not wait
        // (switching a new file to WAL, stamping it, creating the schema): the open is tried again, up to ~10 s.
        var attempt = 0
        while true {
            attempt += 1
            do {
                let pool = try DatabasePool(path: path, configuration: config)
                try Self.checkIdentity(pool, path: path)
                try SQLiteSchema.migrate(pool, path: path)
                self.pool = pool
                return
            } catch let error as DatabaseError
                where [.SQLITE_BUSY, .SQLITE_LOCKED].contains(error.resultCode.primaryResultCode) && attempt < 40
            {
                Thread.sleep(forTimeInterval: min(0.5, 0.05 * Double(attempt)))
            } catch {
                throw Self.translate(error, path: path)
            }
        }
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
    private static func checkIdentity(_ pool: DatabasePool, path: String) throws {
        let (appID, tables) = try pool.read { db in
            (
                try Int32.fetchOne(db, sql: "PRAGMA application_id") ?? 0,
                try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master WHERE type = 'table'") ?? 0
            )
        }
        if appID == applicationID { return }
        guard appID == 0 && tables == 0 else { throw IndexError.foreignDatabase(path: path) }
        try pool.write { db in try db.execute(sql: "PRAGMA application_id = \(applicationID)") }
    }

    // MARK: - IndexStore

    func write<T>(_ body: (any IndexTransaction) throws -> T) throws -> T {
        try rawWrite { db in try body(SQLiteTransaction(db: db, path: path)) }
    }

    func read<T>(_ body: (any IndexTransaction) throws -> T) throws -> T {
        try rawRead { db in try body(SQLiteTransaction(db: db, path: path)) }
    }

    /// Moves the write-ahead log into the main file (`PRAGMA wal_checkpoint(TRUNCATE)`); returns the file's bytes.
    func checkpoint() throws -> Int64 {
        do {
            try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
        } catch {
            throw Self.translate(error, path: path)
        }
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        return (attributes?[.size] as? NSNumber)?.int64Value ?? 0
    }

    func close() {}

    // MARK: - Error translation

    private func rawWrite<T>(_ body: (Database) throws -> T) throws -> T {
        do {
            return try pool.write(body)
        } catch {
            throw Self.translate(error, path: path)
        }
    }

    private func rawRead<T>(_ body: (Database) throws -> T) throws -> T {
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

/// The SQLite schema's migrations (GRDB's `DatabaseMigrator`, applied identifiers = version).
enum SQLiteSchema {
    static func migrate(_ pool: DatabasePool, path: String) throws {
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
        // v2: which captioner wrote a video's captions, and each caption's text embedding (fp16) for search.
        migrator.registerMigration("v2") { db in
            try db.execute(
                sql: """
                    ALTER TABLE video ADD COLUMN captioner TEXT;
                    ALTER TABLE caption ADD COLUMN embedding BLOB;
                    """)
        }
        let upToDate = try pool.read { db in
            if try migrator.hasBeenSuperseded(db) {
                throw IndexError.newerSchema(path: path, version: try migrator.appliedIdentifiers(db).count)
            }
            return try migrator.hasCompletedMigrations(db)
        }
        if upToDate { return }
        try migrate(migrator, pool, path: path)
    }

    /// (Errors are the caller's to translate: `SQLiteStore.init` tries again on SQLITE_BUSY.)
    /// Two processes that create the same new index at once both find it unmigrated; the second one's CREATE TABLE
    /// then fails with "already exists" once the first has committed (each migration and its record are one
    /// transaction, so the record is committed too). It is tried again only when the applied migrations did grow
    /// meanwhile; a file whose tables exist without their record (damaged, or not made by us) is refused at once.
    private static func migrate(_ migrator: DatabaseMigrator, _ pool: DatabasePool, path: String) throws {
        var applied = try pool.read { db in try migrator.appliedIdentifiers(db) }
        while true {
            do {
                return try migrator.migrate(pool)
            } catch let error as DatabaseError
                where error.resultCode == .SQLITE_ERROR && error.message?.contains("already exists") == true
            {
                let now = try pool.read { db in try migrator.appliedIdentifiers(db) }
                guard now.count > applied.count else {
                    throw IndexError.notAnIndex(path: path, reason: "its tables exist without their schema record")
                }
                applied = now
            }
        }
    }
}
