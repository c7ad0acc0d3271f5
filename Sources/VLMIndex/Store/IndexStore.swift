import Foundation

/// Where an index lives: an SQLite file (one machine) or a PostgreSQL database (many machines).
///
/// `--db` takes either: a path, or a URL `postgres://user:password@host:port/database?sslmode=disable|prefer|require`
/// (`postgresql://` too).
public enum IndexLocation: Sendable, Equatable {
    case sqlite(path: String)
    case postgres(PostgresURL)

    /// Parses a `--db` value: `postgres://` / `postgresql://` URLs name a PostgreSQL database, anything else a file.
    public init(_ value: String) throws {
        let lower = value.lowercased()
        if lower.hasPrefix("postgres://") || lower.hasPrefix("postgresql://") {
            self = .postgres(try PostgresURL(value))
        } else {
            self = .sqlite(path: value)
        }
    }

    /// The location as shown in messages (a PostgreSQL URL without its password).
    public var display: String {
        switch self {
        case .sqlite(let path): path
        case .postgres(let url): url.display
        }
    }
}

// MARK: - The store interface

/// The columns of one stored video that planning needs.
struct StoredVideo: Sendable {
    var id: Int64
    var size: Int64
    var checksum: String
    var model: String
    var fps: Double
    var complete: Bool
    var captioned: Bool
    /// Which captioner wrote its captions (nil: stored before captioners were recorded).
    var captioner: String?
}

/// One committed chunk: `frameCount` frames, `pts` as little-endian Float64s, `embeddings` as little-endian fp16.
struct StoredChunk: Sendable {
    var id: Int64
    var videoID: Int64
    var frameCount: Int
    var pts: Data
    var embeddings: Data
}

/// The primitive reads and writes of one transaction. `VideoIndex` holds all the logic (planning, fp16 packing,
/// matrix assembly) above this; SQLite (`SQLiteStore`) and PostgreSQL (`PostgresStore`) only run statements.
/// Every statement binds its values as parameters.
protocol IndexTransaction {
    /// Every `index_info` key and value.
    func info() throws -> [String: String]
    /// Sets an `index_info` value.
    func setInfo(_ key: String, _ value: String) throws
    /// Adds one to the `revision` info value.
    func bumpRevision() throws

    /// The video stored under `path`.
    func video(path: String) throws -> StoredVideo?
    /// The last stored pts and the frame count of a video's chunks.
    func chunkExtent(videoID: Int64) throws -> (last: Double?, frames: Int)
    /// Adds a video row; returns its id.
    func insertVideo(path: String, fingerprint: VideoFingerprint, model: String, fps: Double) throws -> Int64
    /// Deletes a video with its chunks and captions.
    func deleteVideo(id: Int64) throws
    /// Deletes the video stored under `path` (if any); true when one was deleted.
    func deleteVideo(path: String) throws -> Bool
    /// Marks a video complete with its frame count and duration.
    func completeVideo(id: Int64, frames: Int, duration: Double?) throws
    /// Marks a video's captions stored, written by `captioner`.
    func markCaptioned(id: Int64, captioner: String) throws

    /// Stores a chunk unless one with the same video and first pts is stored already (idempotent).
    func insertChunk(videoID: Int64, firstPTS: Double, lastPTS: Double, frameCount: Int, pts: Data, embeddings: Data)
        throws
    /// Stores a caption.
    func insertCaption(videoID: Int64, _ caption: IndexedCaption) throws
    /// Deletes a video's captions.
    func deleteCaptions(videoID: Int64) throws

    /// Stored videos (with their chunks' frame count), by id.
    func videos(completeOnly: Bool) throws -> [IndexedVideo]
    /// Chunks in (video, pts) order: of one video, or of every complete video when `videoID` is nil; only chunks
    /// with an id above `afterID` (the incremental refresh of a local copy).
    func chunks(videoID: Int64?, afterID: Int64, _ each: (StoredChunk) throws -> Void) throws
    /// Up to `limit` chunks of any video (complete or not) with an id above `afterID`, in id order: how a local
    /// copy of the embeddings catches up (`LocalEmbeddingCopy`).
    func chunks(afterID: Int64, limit: Int) throws -> [StoredChunk]
    /// The largest chunk id (0 when there is none).
    func maxChunkID() throws -> Int64
    /// Captions of one video, or of every complete video when `videoID` is nil, in (video, start) order.
    func captions(videoID: Int64?) throws -> [(videoID: Int64, caption: IndexedCaption)]
}

/// A database that runs `IndexTransaction`s: SQLite or PostgreSQL, each with the same versioned schema.
protocol IndexStore: Sendable {
    /// Runs `body` in one write transaction (all or nothing).
    func write<T>(_ body: (any IndexTransaction) throws -> T) throws -> T
    /// Runs `body` in one consistent read.
    func read<T>(_ body: (any IndexTransaction) throws -> T) throws -> T
    /// Makes the store's files compact, returning their bytes (0 where that means nothing).
    func checkpoint() throws -> Int64
    /// Releases the store's connections.
    func close()
}
