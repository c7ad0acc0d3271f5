import Foundation
import GRDB

/// The statements of `IndexTransaction` in SQLite, every value a bound argument.
struct SQLiteTransaction: IndexTransaction {
    let db: Database
    let path: String

    func info() throws -> [String: String] {
        var info: [String: String] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT key, value FROM index_info") {
            info[try row.decode(forColumn: "key")] = try row.decode(String?.self, forColumn: "value")
        }
        return info
    }

    func setInfo(_ key: String, _ value: String) throws {
        try db.execute(sql: "INSERT OR REPLACE INTO index_info (key, value) VALUES (?, ?)", arguments: [key, value])
    }

    func bumpRevision() throws {
        try db.execute(sql: "UPDATE index_info SET value = CAST(value AS INTEGER) + 1 WHERE key = 'revision'")
    }

    func video(path: String) throws -> StoredVideo? {
        try Row.fetchOne(
            db, sql: "SELECT id, size, checksum, model, fps, complete, captioned, captioner FROM video WHERE path = ?",
            arguments: [path]
        ).map { row in
            try StoredVideo(
                id: row.decode(forColumn: "id"), size: row.decode(forColumn: "size"),
                checksum: row.decode(forColumn: "checksum"), model: row.decode(forColumn: "model"),
                fps: row.decode(forColumn: "fps"), complete: row.decode(forColumn: "complete"),
                captioned: row.decode(forColumn: "captioned"), captioner: row.decode(forColumn: "captioner"))
        }
    }

    func chunkExtent(videoID: Int64) throws -> (last: Double?, frames: Int) {
        let row = try Row.fetchOne(
            db, sql: "SELECT max(last_pts) AS last, sum(frame_count) AS n FROM chunk WHERE video_id = ?",
            arguments: [videoID])
        let last: Double? = try row?.decode(Double?.self, forColumn: "last")
        let count: Int? = try row?.decode(Int?.self, forColumn: "n")
        return (last, count ?? 0)
    }

    func insertVideo(path: String, fingerprint: VideoFingerprint, model: String, fps: Double) throws -> Int64 {
        try db.execute(
            sql: "INSERT INTO video (path, size, checksum, model, fps, indexed_at) VALUES (?, ?, ?, ?, ?, ?)",
            arguments: [path, fingerprint.size, fingerprint.checksum, model, fps, Date().timeIntervalSince1970])
        return db.lastInsertedRowID
    }

    func deleteVideo(id: Int64) throws {
        try db.execute(sql: "DELETE FROM video WHERE id = ?", arguments: [id])
    }

    func deleteVideo(path: String) throws -> Bool {
        try db.execute(sql: "DELETE FROM video WHERE path = ?", arguments: [path])
        return db.changesCount > 0
    }

    func completeVideo(id: Int64, frames: Int, duration: Double?) throws {
        try db.execute(
            sql: "UPDATE video SET complete = 1, frame_count = ?, duration = ?, indexed_at = ? WHERE id = ?",
            arguments: [frames, duration, Date().timeIntervalSince1970, id])
    }

    func markCaptioned(id: Int64, captioner: String) throws {
        try db.execute(sql: "UPDATE video SET captioned = 1, captioner = ? WHERE id = ?", arguments: [captioner, id])
    }

    func insertChunk(
        videoID: Int64, firstPTS: Double, lastPTS: Double, frameCount: Int, pts: Data, embeddings: Data
    ) throws {
        try db.execute(
            sql: """
                INSERT INTO chunk (video_id, first_pts, last_pts, frame_count, pts, embeddings)
                VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (video_id, first_pts) DO NOTHING
                """,
            arguments: [videoID, firstPTS, lastPTS, frameCount, pts, embeddings])
    }

    func insertCaption(videoID: Int64, _ caption: IndexedCaption) throws {
        try db.execute(
            sql: "INSERT INTO caption (video_id, start, \"end\", text, score, embedding) VALUES (?, ?, ?, ?, ?, ?)",
            arguments: [videoID, caption.start, caption.end, caption.text, caption.score, caption.embeddingBlob])
    }

    func deleteCaptions(videoID: Int64) throws {
        try db.execute(sql: "DELETE FROM caption WHERE video_id = ?", arguments: [videoID])
    }

    func videos(completeOnly: Bool) throws -> [IndexedVideo] {
        try Row.fetchAll(
            db,
            sql: """
                SELECT v.id, v.path, v.size, v.checksum, v.duration, v.model, v.fps, v.complete, v.captioned, v.captioner,
                       (SELECT coalesce(sum(frame_count), 0) FROM chunk WHERE video_id = v.id) AS frames
                FROM video v WHERE v.complete = 1 OR NOT ? ORDER BY v.id
                """,
            arguments: [completeOnly]
        ).map { row in
            // Throwing decodes: a damaged row (NULL or wrong type) is an error, never a trap.
            try IndexedVideo(
                id: row.decode(forColumn: "id"), path: row.decode(forColumn: "path"),
                size: row.decode(forColumn: "size"), checksum: row.decode(forColumn: "checksum"),
                duration: row.decode(forColumn: "duration"), model: row.decode(forColumn: "model"),
                fps: row.decode(forColumn: "fps"), frameCount: row.decode(forColumn: "frames"),
                complete: row.decode(forColumn: "complete"), captioned: row.decode(forColumn: "captioned"),
                captioner: row.decode(forColumn: "captioner"))
        }
    }

    func chunks(videoID: Int64?, afterID: Int64, _ each: (StoredChunk) throws -> Void) throws {
        let rows: RowCursor
        if let videoID {
            rows = try Row.fetchCursor(
                db,
                sql: """
                    SELECT id, video_id, frame_count, pts, embeddings FROM chunk WHERE video_id = ? AND id > ?
                    ORDER BY first_pts
                    """,
                arguments: [videoID, afterID])
        } else {
            rows = try Row.fetchCursor(
                db,
                sql: """
                    SELECT c.id, c.video_id, c.frame_count, c.pts, c.embeddings FROM chunk c
                    JOIN video v ON v.id = c.video_id WHERE v.complete = 1 AND c.id > ?
                    ORDER BY c.video_id, c.first_pts
                    """,
                arguments: [afterID])
        }
        while let row = try rows.next() { try each(try Self.chunk(row)) }
    }

    func chunks(afterID: Int64, limit: Int) throws -> [StoredChunk] {
        try Row.fetchAll(
            db, sql: "SELECT id, video_id, frame_count, pts, embeddings FROM chunk WHERE id > ? ORDER BY id LIMIT ?",
            arguments: [afterID, limit]
        ).map(Self.chunk)
    }

    func maxChunkID() throws -> Int64 {
        try Int64.fetchOne(db, sql: "SELECT coalesce(max(id), 0) FROM chunk") ?? 0
    }

    func captions(videoID: Int64?) throws -> [(videoID: Int64, caption: IndexedCaption)] {
        let rows: [Row]
        if let videoID {
            rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT video_id, start, "end", text, score, embedding FROM caption WHERE video_id = ?
                    ORDER BY start
                    """,
                arguments: [videoID])
        } else {
            rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT c.video_id, c.start, c."end", c.text, c.score, c.embedding FROM caption c
                    JOIN video v ON v.id = c.video_id WHERE v.complete = 1 ORDER BY c.video_id, c.start
                    """)
        }
        return try rows.map { row in
            try (
                row.decode(atIndex: 0),
                IndexedCaption(
                    start: row.decode(atIndex: 1), end: row.decode(atIndex: 2), text: row.decode(atIndex: 3),
                    score: row.decode(atIndex: 4),
                    embedding: IndexedCaption.embedding(blob: row.decode(Data?.self, atIndex: 5), path: path))
            )
        }
    }

    /// A `chunk` row (id, video_id, frame_count, pts, embeddings), decoded with throwing decodes.
    private static func chunk(_ row: Row) throws -> StoredChunk {
        try StoredChunk(
            id: row.decode(atIndex: 0), videoID: row.decode(atIndex: 1), frameCount: row.decode(atIndex: 2),
            pts: row.decode(Data?.self, atIndex: 3) ?? Data(), embeddings: row.decode(Data?.self, atIndex: 4) ?? Data())
    }
}
