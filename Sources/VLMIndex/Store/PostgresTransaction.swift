import Foundation
import Logging
import NIOCore
import PostgresNIO

/// The statements of `IndexTransaction` in PostgreSQL, every value a bound parameter.
struct PostgresTransaction: IndexTransaction {
    let connection: PostgresConnection
    let logger: Logger
    let location: String

    /// Chunks fetched per round trip while streaming a whole index (keyset pages, so memory stays bounded).
    static let chunkPage = 512

    @discardableResult
    func run(_ query: PostgresQuery) throws -> [PostgresRandomAccessRow] {
        try PostgresWait.value(connection.query(query, logger: logger), closed: { connection.isClosed }).rows.map {
            $0.makeRandomAccess()
        }
    }

    func info() throws -> [String: String] {
        var info: [String: String] = [:]
        for row in try run("SELECT key, value FROM index_info") {
            info[try row[0].decode(String.self)] = try row[1].decode(String.self)
        }
        return info
    }

    func setInfo(_ key: String, _ value: String) throws {
        try run(
            """
            INSERT INTO index_info (key, value) VALUES (\(key), \(value))
            ON CONFLICT (key) DO UPDATE SET value = excluded.value
            """)
    }

    func bumpRevision() throws {
        try run("UPDATE index_info SET value = (value::bigint + 1)::text WHERE key = 'revision'")
    }

    func video(path: String) throws -> StoredVideo? {
        try run(
            "SELECT id, size, checksum, model, fps, complete, captioned, captioner FROM video WHERE path = \(path)"
        ).first.map { row in
            StoredVideo(
                id: try row[0].decode(Int64.self), size: try row[1].decode(Int64.self),
                checksum: try row[2].decode(String.self), model: try row[3].decode(String.self),
                fps: try row[4].decode(Double.self), complete: try row[5].decode(Bool.self),
                captioned: try row[6].decode(Bool.self), captioner: try row[7].decode(String?.self))
        }
    }

    func chunkExtent(videoID: Int64) throws -> (last: Double?, frames: Int) {
        let rows = try run(
            "SELECT max(last_pts), coalesce(sum(frame_count), 0)::bigint FROM chunk WHERE video_id = \(videoID)")
        guard let row = rows.first else { return (nil, 0) }
        return (try row[0].decode(Double?.self), Int(try row[1].decode(Int64.self)))
    }

    func insertVideo(path: String, fingerprint: VideoFingerprint, model: String, fps: Double) throws -> Int64 {
        let now = Date().timeIntervalSince1970
        let rows = try run(
            """
            INSERT INTO video (path, size, checksum, model, fps, indexed_at)
            VALUES (\(path), \(fingerprint.size), \(fingerprint.checksum), \(model), \(fps), \(now)) RETURNING id
            """)
        guard let row = rows.first else { throw IndexError.database(path: location, reason: "INSERT returned no id") }
        return try row[0].decode(Int64.self)
    }

    func deleteVideo(id: Int64) throws {
        try run("DELETE FROM video WHERE id = \(id)")
    }

    func deleteVideo(path: String) throws -> Bool {
        !(try run("DELETE FROM video WHERE path = \(path) RETURNING id")).isEmpty
    }

    func completeVideo(id: Int64, frames: Int, duration: Double?) throws {
        let now = Date().timeIntervalSince1970
        try run(
            """
            UPDATE video SET complete = true, frame_count = \(Int64(frames)), duration = \(duration),
            indexed_at = \(now) WHERE id = \(id)
            """)
    }

    func markCaptioned(id: Int64, captioner: String) throws {
        try run("UPDATE video SET captioned = true, captioner = \(captioner) WHERE id = \(id)")
    }

    func insertChunk(
        videoID: Int64, firstPTS: Double, lastPTS: Double, frameCount: Int, pts: Data, embeddings: Data
    ) throws {
        try run(
            """
            INSERT INTO chunk (video_id, first_pts, last_pts, frame_count, pts, embeddings)
            VALUES (\(videoID), \(firstPTS), \(lastPTS), \(Int32(frameCount)), \(pts), \(embeddings))
            ON CONFLICT (video_id, first_pts) DO NOTHING
            """)
    }

    func insertCaption(videoID: Int64, _ caption: IndexedCaption) throws {
        try run(
            """
            INSERT INTO caption (video_id, start, "end", text, score, embedding)
            VALUES (\(videoID), \(caption.start), \(caption.end), \(caption.text), \(caption.score),
                    \(caption.embeddingBlob))
            """)
    }

    func deleteCaptions(videoID: Int64) throws {
        try run("DELETE FROM caption WHERE video_id = \(videoID)")
    }

    func videos(completeOnly: Bool) throws -> [IndexedVideo] {
        try run(
            """
            SELECT v.id, v.path, v.size, v.checksum, v.duration, v.model, v.fps, v.complete, v.captioned,
                   (SELECT coalesce(sum(frame_count), 0)::bigint FROM chunk WHERE video_id = v.id), v.captioner
            FROM video v WHERE v.complete OR NOT \(completeOnly) ORDER BY v.id
            """
        ).map { row in
            IndexedVideo(
                id: try row[0].decode(Int64.self), path: try row[1].decode(String.self),
                size: try row[2].decode(Int64.self), checksum: try row[3].decode(String.self),
                duration: try row[4].decode(Double?.self), model: try row[5].decode(String.self),
                fps: try row[6].decode(Double.self), frameCount: Int(try row[9].decode(Int64.self)),
                complete: try row[7].decode(Bool.self), captioned: try row[8].decode(Bool.self),
                captioner: try row[10].decode(String?.self))
        }
    }

    func chunks(videoID: Int64?, afterID: Int64, _ each: (StoredChunk) throws -> Void) throws {
        // Keyset pages over (video_id, first_pts): one page in memory at a time, in the read's snapshot.
        var after: (video: Int64, pts: Double) = (Int64.min, -Double.infinity)
        while true {
            let rows: [PostgresRandomAccessRow]
            if let videoID {
                rows = try run(
                    """
                    SELECT id, video_id, frame_count, pts, embeddings, first_pts FROM chunk
                    WHERE video_id = \(videoID) AND id > \(afterID) AND first_pts > \(after.pts)
                    ORDER BY first_pts LIMIT \(Self.chunkPage)
                    """)
            } else {
                rows = try run(
                    """
                    SELECT c.id, c.video_id, c.frame_count, c.pts, c.embeddings, c.first_pts FROM chunk c
                    JOIN video v ON v.id = c.video_id
                    WHERE v.complete AND c.id > \(afterID) AND (c.video_id, c.first_pts) > (\(after.video), \(after.pts))
                    ORDER BY c.video_id, c.first_pts LIMIT \(Self.chunkPage)
                    """)
            }
            for row in rows {
                try each(
                    StoredChunk(
                        id: try row[0].decode(Int64.self), videoID: try row[1].decode(Int64.self),
                        frameCount: Int(try row[2].decode(Int32.self)), pts: try row[3].decode(Data.self),
                        embeddings: try row[4].decode(Data.self)))
                after = (try row[1].decode(Int64.self), try row[5].decode(Double.self))
            }
            if rows.count < Self.chunkPage { return }
        }
    }

    func chunks(afterID: Int64, limit: Int) throws -> [StoredChunk] {
        try run(
            """
            SELECT id, video_id, frame_count, pts, embeddings FROM chunk WHERE id > \(afterID)
            ORDER BY id LIMIT \(Int64(limit))
            """
        ).map { row in
            StoredChunk(
                id: try row[0].decode(Int64.self), videoID: try row[1].decode(Int64.self),
                frameCount: Int(try row[2].decode(Int32.self)), pts: try row[3].decode(Data.self),
                embeddings: try row[4].decode(Data.self))
        }
    }

    func maxChunkID() throws -> Int64 {
        try run("SELECT coalesce(max(id), 0)::bigint FROM chunk").first?[0].decode(Int64.self) ?? 0
    }

    func captions(videoID: Int64?) throws -> [(videoID: Int64, caption: IndexedCaption)] {
        let rows: [PostgresRandomAccessRow]
        if let videoID {
            rows = try run(
                """
                SELECT video_id, start, "end", text, score, embedding FROM caption WHERE video_id = \(videoID)
                ORDER BY start
                """)
        } else {
            rows = try run(
                """
                SELECT c.video_id, c.start, c."end", c.text, c.score, c.embedding FROM caption c
                JOIN video v ON v.id = c.video_id WHERE v.complete ORDER BY c.video_id, c.start
                """)
        }
        return try rows.map { row in
            (
                try row[0].decode(Int64.self),
                IndexedCaption(
                    start: try row[1].decode(Double.self), end: try row[2].decode(Double.self),
                    text: try row[3].decode(String.self), score: try row[4].decode(Double.self),
                    embedding: try IndexedCaption.embedding(blob: row[5].decode(Data?.self), path: location))
            )
        }
    }

    /// The database's size on disk.
    func databaseBytes() throws -> Int64 {
        try run("SELECT pg_database_size(current_database())").first?[0].decode(Int64.self) ?? 0
    }
}
