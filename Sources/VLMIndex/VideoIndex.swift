import Foundation
import VLMCore

/// An offline video index in an SQLite file (one machine) or a PostgreSQL database (many machines).
///
/// Layout (schema v1, the same tables in both stores):
/// - `index_info(key, value)`: `model` (encoder identity), `dimension`, `revision` (bumped whenever the set of
///   complete videos changes; in-memory matrices are cached per revision).
/// - `video`: one row per file: path, size, checksum, duration, model, sampling fps, `complete` (set only after
///   the last frame is committed), `captioned` (captions stored), frame count.
/// - `chunk`: the frames of one committed batch of a video, unique by (video, first pts): `pts` is `frame_count`
///   little-endian Float64s, `embeddings` is `frame_count × dimension` little-endian fp16 (IEEE binary16) — 2 bytes
///   per value, so a 512-d frame costs 1 KiB plus 8 bytes of pts (BLOB in SQLite, `bytea` in PostgreSQL). Search
///   reads whole chunks and widens them with a vectorised loop.
/// - `caption`: rolling captions of a video (`start`, `end`, `text`, `score`).
///
/// All logic (planning, packing, matrix assembly) is here, once; the stores (`SQLiteStore`, `PostgresStore`) only
/// run the primitive statements of `IndexTransaction`.
public final class VideoIndex: Sendable {
    /// `PRAGMA application_id` of vlm-stream SQLite indexes ("VLMI"), so another program's database is refused.
    public static let applicationID: Int32 = SQLiteStore.applicationID
    /// The schema version this build writes.
    public static let schemaVersion = 1

    /// The `--db` value as shown in messages (a PostgreSQL URL without its password).
    public let path: String
    /// Where the index lives.
    public let location: IndexLocation
    let store: any IndexStore
    let cache = MatrixCache()
    /// Where local copies of a PostgreSQL index's embeddings live (nil: search reads every chunk each time).
    public let localCopies: URL?
    let lastRefreshState = Locked<LocalCopyRefresh?>(nil)

    // MARK: - Opening

    /// Opens the index at `path`: an SQLite file, or a `postgres://` URL. With `create`, a missing SQLite file
    /// becomes a new empty index; without, it is `IndexError.missing`. Corrupt or foreign databases are refused,
    /// an unreachable server is `IndexError.unreachable`; a PostgreSQL database gets the schema when it has none.
    /// `localCopies` is where a PostgreSQL index's embeddings are copied for search (`defaultLocalCopies()`).
    public convenience init(path: String, create: Bool, localCopies: URL? = VideoIndex.defaultLocalCopies()) throws {
        try self.init(location: try IndexLocation(path), create: create, localCopies: localCopies)
    }

    /// Opens the index at `location` (see `init(path:create:)`).
    public init(location: IndexLocation, create: Bool, localCopies: URL? = VideoIndex.defaultLocalCopies()) throws {
        self.location = location
        self.path = location.display
        self.localCopies = localCopies
        switch location {
        case .sqlite(let file):
            store = try SQLiteStore(path: file, create: create)
        case .postgres(let url):
            store = try PostgresStore(url: url)
        }
    }

    /// True when the index is in PostgreSQL.
    public var isShared: Bool {
        if case .postgres = location { return true }
        return false
    }

    /// `$XDG_CACHE_HOME/vlm-stream`, else `~/.cache/vlm-stream` (local copies go in its `index-copies`).
    public static func defaultLocalCopies(environment: [String: String] = ProcessInfo.processInfo.environment) -> URL {
        if let xdg = environment["XDG_CACHE_HOME"], xdg.hasPrefix("/") {
            return URL(fileURLWithPath: xdg).appendingPathComponent("vlm-stream")
        }
        let home =
            environment["HOME"].map { URL(fileURLWithPath: $0) } ?? FileManager.default.homeDirectoryForCurrentUser
        return home.appendingPathComponent(".cache/vlm-stream")
    }

    // MARK: - Transactions

    /// Runs a write transaction (all or nothing).
    func write<T>(_ body: (any IndexTransaction) throws -> T) throws -> T {
        try store.write(body)
    }

    /// Runs a read in a consistent snapshot.
    func read<T>(_ body: (any IndexTransaction) throws -> T) throws -> T {
        try store.read(body)
    }
}
