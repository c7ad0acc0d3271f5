import Foundation
import GRDB

/// One sampled frame to store: its presentation time and its (L2-normalised) embedding.
public struct IndexedFrame: Sendable, Equatable {
    /// Seconds from the start of the video.
    public var pts: Double
    public var embedding: [Float]

    /// A frame to store.
    public init(pts: Double, embedding: [Float]) {
        self.pts = pts
        self.embedding = embedding
    }
}

/// A caption of a window of a video.
public struct IndexedCaption: Sendable, Equatable, Codable {
    public var start: Double
    public var end: Double
    public var text: String
    public var score: Double

    /// A caption to store.
    public init(start: Double, end: Double, text: String, score: Double) {
        self.start = start
        self.end = end
        self.text = text
        self.score = score
    }
}

/// What to do with one video, decided by `VideoIndex.prepare`.
public enum IndexPlan: Sendable, Equatable {
    /// Already indexed completely with the same content, model and sampling (and captions, when asked for).
    case skip
    /// Indexed completely but without captions, which were asked for: caption the stored embeddings.
    case caption(videoID: Int64)
    /// Index from scratch into the (new, empty) video row; `replaced` when an older version was deleted.
    case fresh(videoID: Int64, replaced: Bool)
    /// An interrupted run stored frames up to `afterPTS`: encode only frames after it.
    case resume(videoID: Int64, afterPTS: Double, storedFrames: Int)
}

extension VideoIndex {
    // MARK: - Model

    /// The encoder identity and embedding size this index was built with (`nil` for an empty index).
    public func model() throws -> (identity: String, dimension: Int)? {
        try read { db in try Self.model(db, path: path) }
    }

    static func model(_ db: Database, path: String) throws -> (identity: String, dimension: Int)? {
        let rows = try Row.fetchAll(db, sql: "SELECT key, value FROM index_info WHERE key IN ('model', 'dimension')")
        var info: [String: String?] = [:]
        for row in rows { info[try row.decode(forColumn: "key")] = try row.decode(String?.self, forColumn: "value") }
        if info.isEmpty { return nil }
        // One of the two present, or a dimension that is not a sane embedding length, is damage, not "empty".
        guard let identity = info["model"] ?? nil, !identity.isEmpty,
            let dimension = (info["dimension"] ?? nil).flatMap({ Int($0) }), (1...65_536).contains(dimension)
        else {
            throw IndexError.notAnIndex(
                path: path, reason: "its index_info table is damaged (model or dimension missing or invalid)")
        }
        return (identity, dimension)
    }

    /// The precision of the encoder ("fp32", "int8") each time frames were stored, in order ("fp32" for an index
    /// built before precisions were recorded). Queries of any precision search any index: the embeddings differ by
    /// int8's error (docs/encoder.md), not by kind.
    public func precisions() throws -> [String] {
        try read { db in
            let value = try String.fetchOne(db, sql: "SELECT value FROM index_info WHERE key = 'precision'")
            return (value ?? "fp32").split(separator: ",").map(String.init)
        }
    }

    /// Throws `IndexError.modelMismatch` unless the index is empty or was built with `identity`.
    public func requireModel(_ identity: String) throws {
        if let indexed = try model(), indexed.identity != identity {
            throw IndexError.modelMismatch(path: path, indexed: indexed.identity, requested: identity)
        }
    }

    // MARK: - Planning

    /// Decides whether `videoPath` must be indexed, resumed or skipped, and creates or replaces its row.
    ///
    /// Binds an empty index to `model`/`dimension`; an index of another model throws `IndexError.modelMismatch`.
    /// A stored video whose fingerprint, model or fps differs is deleted (with its frames and captions).
    public func prepare(
        videoPath: String, fingerprint: VideoFingerprint, model: String, dimension: Int, fps: Double,
        captions: Bool = false, precision: String = "fp32"
    ) throws -> IndexPlan {
        try write { db in
            // The precisions the index holds frames of, each once, in the order first used.
            let recorded = try String.fetchOne(db, sql: "SELECT value FROM index_info WHERE key = 'precision'")
            // (An index built before precisions were recorded holds fp32 frames.)
            let known =
                try recorded.map { $0.split(separator: ",").map(String.init) }
                ?? (Self.model(db, path: path) != nil ? ["fp32"] : [])
            if !known.contains(precision) {
                try db.execute(
                    sql: "INSERT OR REPLACE INTO index_info (key, value) VALUES ('precision', ?)",
                    arguments: [(known + [precision]).joined(separator: ",")])
            }
            if let bound = try Self.model(db, path: path) {
                guard bound.identity == model else {
                    throw IndexError.modelMismatch(path: self.path, indexed: bound.identity, requested: model)
                }
            } else {
                try db.execute(
                    sql: "INSERT OR REPLACE INTO index_info (key, value) VALUES ('model', ?), ('dimension', ?)",
                    arguments: [model, String(dimension)])
            }
            var replaced = false
            if let row = try Row.fetchOne(
                db, sql: "SELECT id, size, checksum, model, fps, complete, captioned FROM video WHERE path = ?",
                arguments: [videoPath])
            {
                let id: Int64 = row["id"]
                let same =
                    row["size"] == fingerprint.size && row["checksum"] == fingerprint.checksum
                    && row["model"] == model && row["fps"] == fps
                if same && row["complete"] == true {
                    return captions && row["captioned"] == false ? .caption(videoID: id) : .skip
                }
                if same {
                    let stored = try Row.fetchOne(
                        db, sql: "SELECT max(last_pts) AS last, sum(frame_count) AS n FROM chunk WHERE video_id = ?",
                        arguments: [id])
                    let last: Double? = stored?["last"]
                    let count: Int? = stored?["n"]
                    return .resume(videoID: id, afterPTS: last ?? -.infinity, storedFrames: count ?? 0)
                }
                if row["complete"] == true { try Self.bumpRevision(db) }
                try db.execute(sql: "DELETE FROM video WHERE id = ?", arguments: [id])
                replaced = true
            }
            try db.execute(
                sql: """
                    INSERT INTO video (path, size, checksum, model, fps, indexed_at) VALUES (?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    videoPath, fingerprint.size, fingerprint.checksum, model, fps, Date().timeIntervalSince1970,
                ])
            return .fresh(videoID: db.lastInsertedRowID, replaced: replaced)
        }
    }

    // MARK: - Frames

    /// Commits `frames` (in pts order, all after the video's stored frames) and `captions` in one transaction.
    public func append(videoID: Int64, frames: [IndexedFrame], captions: [IndexedCaption] = []) throws {
        guard let first = frames.first, let last = frames.last else {
            if !captions.isEmpty { try write { db in try Self.insert(captions, videoID: videoID, db) } }
            return
        }
        var pts: [Double] = []
        pts.reserveCapacity(frames.count)
        var halves: [UInt16] = []
        halves.reserveCapacity(frames.count * first.embedding.count)
        for frame in frames {
            precondition(frame.embedding.count == first.embedding.count, "VideoIndex.append: mixed dimensions")
            pts.append(frame.pts)
            Half.narrow(frame.embedding, appendingTo: &halves)
        }
        let ptsBlob = pts.withUnsafeBytes { Data($0) }  // little-endian on every supported platform
        let embeddingBlob = halves.withUnsafeBytes { Data($0) }
        try write { db in
            if let dimension = try Self.model(db, path: path)?.dimension, dimension != first.embedding.count {
                throw IndexError.dimensionMismatch(path: self.path, indexed: dimension, given: first.embedding.count)
            }
            try db.execute(
                sql: """
                    INSERT INTO chunk (video_id, first_pts, last_pts, frame_count, pts, embeddings)
                    VALUES (?, ?, ?, ?, ?, ?)
                    """,
                arguments: [videoID, first.pts, last.pts, frames.count, ptsBlob, embeddingBlob])
            try Self.insert(captions, videoID: videoID, db)
        }
    }

    private static func insert(_ captions: [IndexedCaption], videoID: Int64, _ db: Database) throws {
        for caption in captions {
            try db.execute(
                sql: "INSERT INTO caption (video_id, start, \"end\", text, score) VALUES (?, ?, ?, ?, ?)",
                arguments: [videoID, caption.start, caption.end, caption.text, caption.score])
        }
    }

    /// Marks the video complete (searchable) with its duration, storing `captions` when given (replacing any);
    /// returns its stored frame count.
    @discardableResult
    public func complete(videoID: Int64, duration: Double?, captions: [IndexedCaption]? = nil) throws -> Int {
        try write { db in
            let count =
                try Int.fetchOne(
                    db, sql: "SELECT coalesce(sum(frame_count), 0) FROM chunk WHERE video_id = ?", arguments: [videoID])
                ?? 0
            try db.execute(
                sql: "UPDATE video SET complete = 1, frame_count = ?, duration = ?, indexed_at = ? WHERE id = ?",
                arguments: [count, duration, Date().timeIntervalSince1970, videoID])
            if let captions {
                try db.execute(sql: "DELETE FROM caption WHERE video_id = ?", arguments: [videoID])
                try Self.insert(captions, videoID: videoID, db)
                try db.execute(sql: "UPDATE video SET captioned = 1 WHERE id = ?", arguments: [videoID])
            }
            try Self.bumpRevision(db)
            return count
        }
    }

    /// Deletes a video and everything stored for it.
    public func remove(videoPath: String) throws {
        try write { db in
            try db.execute(sql: "DELETE FROM video WHERE path = ?", arguments: [videoPath])
            try Self.bumpRevision(db)
        }
    }

    static func bumpRevision(_ db: Database) throws {
        try db.execute(sql: "UPDATE index_info SET value = CAST(value AS INTEGER) + 1 WHERE key = 'revision'")
    }
}

extension VideoIndex {
    // MARK: - Maintenance

    /// Moves the write-ahead log into the main file (`PRAGMA wal_checkpoint(TRUNCATE)`); returns the file's bytes.
    @discardableResult
    public func checkpoint() throws -> Int64 {
        do {
            try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
        } catch {
            throw Self.translate(error, path: path)
        }
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        return (attributes?[.size] as? NSNumber)?.int64Value ?? 0
    }
}
