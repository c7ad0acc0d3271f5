import Foundation
import GRDB
import VLMCore

extension VideoIndex {
    // MARK: - Videos

    /// Every stored video (complete or not), by id.
    public func videos() throws -> [IndexedVideo] {
        try read { db in try Self.videos(db, completeOnly: false) }
    }

    static func videos(_ db: Database, completeOnly: Bool) throws -> [IndexedVideo] {
        let filter = completeOnly ? "WHERE complete = 1" : ""
        return try Row.fetchAll(
            db,
            sql: """
                SELECT v.id, v.path, v.size, v.checksum, v.duration, v.model, v.fps, v.complete, v.captioned,
                       (SELECT coalesce(sum(frame_count), 0) FROM chunk WHERE video_id = v.id) AS frames
                FROM video v \(filter) ORDER BY v.id
                """
        ).map { row in
            // Throwing decodes: a damaged row (NULL or wrong type) is an error, never a trap.
            try IndexedVideo(
                id: row.decode(forColumn: "id"), path: row.decode(forColumn: "path"),
                size: row.decode(forColumn: "size"), checksum: row.decode(forColumn: "checksum"),
                duration: row.decode(forColumn: "duration"), model: row.decode(forColumn: "model"),
                fps: row.decode(forColumn: "fps"), frameCount: row.decode(forColumn: "frames"),
                complete: row.decode(forColumn: "complete"), captioned: row.decode(forColumn: "captioned"))
        }
    }

    /// The pts of every stored frame of one video, in order (tests: duplicates and resume).
    public func framePTS(videoID: Int64) throws -> [Double] {
        try frames(videoID: videoID, embeddings: false).map(\.pts)
    }

    /// The captions stored for a video, in order of their start.
    public func captions(videoID: Int64) throws -> [IndexedCaption] {
        try read { db in
            try Row.fetchAll(
                db, sql: "SELECT start, \"end\", text, score FROM caption WHERE video_id = ? ORDER BY start",
                arguments: [videoID]
            ).map {
                try IndexedCaption(
                    start: $0.decode(atIndex: 0), end: $0.decode(atIndex: 1), text: $0.decode(atIndex: 2),
                    score: $0.decode(atIndex: 3))
            }
        }
    }

    /// Every stored frame of one video in pts order, embeddings widened to fp32 (empty when `embeddings` is false).
    public func frames(videoID: Int64, embeddings: Bool = true) throws -> [IndexedFrame] {
        try read { db in
            guard let dimension = try Self.model(db, path: path)?.dimension else { return [] }
            var out: [IndexedFrame] = []
            let rows = try Row.fetchCursor(
                db, sql: "SELECT frame_count, pts, embeddings FROM chunk WHERE video_id = ? ORDER BY first_pts",
                arguments: [videoID])
            while let row = try rows.next() {
                let n: Int = try row.decode(atIndex: 0)
                guard n >= 0, let ptsBytes = Self.bytes(n, 8), Self.bytes(n, dimension * 2) != nil else {
                    throw corruptChunk(videoID)
                }
                let pts: [Double] = try row.withUnsafeData(atIndex: 1) { data in
                    guard let data, data.count == ptsBytes else { throw corruptChunk(videoID) }
                    return data.withUnsafeBytes { raw in
                        (0..<n).map { raw.loadUnaligned(fromByteOffset: $0 * 8, as: Double.self) }
                    }
                }
                guard embeddings else {
                    out += pts.map { IndexedFrame(pts: $0, embedding: []) }
                    continue
                }
                let values: [UInt16] = try row.withUnsafeData(atIndex: 2) { data in
                    guard let data, data.count == n * dimension * 2 else { throw corruptChunk(videoID) }
                    return data.withUnsafeBytes { raw in
                        (0..<n * dimension).map { raw.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self) }
                    }
                }
                for (i, t) in pts.enumerated() {
                    var embedding = [Float](repeating: 0, count: dimension)
                    values.withUnsafeBufferPointer { src in
                        embedding.withUnsafeMutableBufferPointer { dst in
                            Half.widen(
                                UnsafeBufferPointer(rebasing: src[i * dimension..<(i + 1) * dimension]), into: dst)
                        }
                    }
                    out.append(IndexedFrame(pts: t, embedding: embedding))
                }
            }
            return out
        }
    }

    /// The index's revision: it changes whenever a video is completed, replaced or removed.
    public func revision() throws -> Int {
        try read { db in try Self.revision(db) }
    }

    static func revision(_ db: Database) throws -> Int {
        Int(try String.fetchOne(db, sql: "SELECT value FROM index_info WHERE key = 'revision'") ?? "0") ?? 0
    }

    // MARK: - Matrix

    /// `n · size`, or nil when it overflows.
    static func bytes(_ n: Int, _ size: Int) -> Int? {
        let (product, overflow) = n.multipliedReportingOverflow(by: size)
        return overflow ? nil : product
    }

    /// The frames of complete videos, checked against the bytes actually stored before anything is allocated: a
    /// chunk whose `frame_count` says 10^9 (or is negative) is damage, not a reason to allocate terabytes.
    static func checkedFrameTotal(_ db: Database, dimension: Int, path: String) throws -> Int {
        let row = try Row.fetchOne(
            db,
            sql: """
                SELECT coalesce(sum(c.frame_count), 0), coalesce(min(c.frame_count), 0),
                       coalesce(sum(length(c.pts)), 0), coalesce(sum(length(c.embeddings)), 0)
                FROM chunk c JOIN video v ON v.id = c.video_id WHERE v.complete = 1
                """)
        let damaged = IndexError.notAnIndex(path: path, reason: "frame counts disagree with stored chunks")
        guard let row else { return 0 }
        // SUM of integers raises an SQLite overflow error rather than wrapping; a huge count fails the checks below.
        let total: Int = try row.decode(atIndex: 0)
        let smallest: Int = try row.decode(atIndex: 1)
        let ptsBytes: Int = try row.decode(atIndex: 2)
        let embeddingBytes: Int = try row.decode(atIndex: 3)
        guard smallest >= 0, total >= 0, bytes(total, 8) == ptsBytes,
            let perFrame = bytes(dimension, 2), bytes(total, perFrame) == embeddingBytes
        else { throw damaged }
        return total
    }

    /// All frames of complete videos as one fp32 matrix, cached in memory until the index's revision changes.
    public func matrix() throws -> EmbeddingMatrix {
        let current = try revision()
        if let cached = cache.get(), cached.revision == current { return cached }
        let loaded = try read { db in try loadMatrix(db) }
        cache.set(loaded)
        return loaded
    }

    private func loadMatrix(_ db: Database) throws -> EmbeddingMatrix {
        let revision = try Self.revision(db)
        guard let (model, dimension) = try Self.model(db, path: path) else { throw IndexError.empty(path: path) }
        let videos = try Self.videos(db, completeOnly: true)
        let total = try Self.checkedFrameTotal(db, dimension: dimension, path: path)
        guard total > 0 else { throw IndexError.empty(path: path) }
        let slot = Dictionary(uniqueKeysWithValues: videos.enumerated().map { ($1.id, Int32($0)) })

        var pts = [Double](repeating: 0, count: total)
        var videoOfRow = [Int32](repeating: 0, count: total)
        var filled = 0
        let values = try [Float](unsafeUninitializedCapacity: total * dimension) { buffer, initialized in
            let chunks = try Row.fetchCursor(
                db,
                sql: """
                    SELECT c.video_id, c.frame_count, c.pts, c.embeddings FROM chunk c
                    JOIN video v ON v.id = c.video_id WHERE v.complete = 1 ORDER BY c.video_id, c.first_pts
                    """)
            while let row = try chunks.next() {
                let videoID: Int64 = try row.decode(atIndex: 0)
                let n: Int = try row.decode(atIndex: 1)
                guard let video = slot[videoID], n >= 0, n <= total - filled else {
                    throw IndexError.notAnIndex(path: path, reason: "frame counts disagree with stored chunks")
                }
                try row.withUnsafeData(atIndex: 2) { data in
                    guard let data, data.count == n * 8 else { throw corruptChunk(videoID) }
                    pts.withUnsafeMutableBytes { dst in
                        data.withUnsafeBytes {
                            dst.baseAddress!.advanced(by: filled * 8).copyMemory(
                                from: $0.baseAddress!, byteCount: n * 8)
                        }
                    }
                }
                try row.withUnsafeData(atIndex: 3) { data in
                    guard let data, data.count == n * dimension * 2 else { throw corruptChunk(videoID) }
                    let destination = UnsafeMutableBufferPointer(
                        rebasing: buffer[filled * dimension..<(filled + n) * dimension])
                    data.withUnsafeBytes { raw in
                        if Int(bitPattern: raw.baseAddress) % 2 == 0 {
                            Half.widen(raw.assumingMemoryBound(to: UInt16.self), into: destination)
                        } else {
                            let aligned = [UInt16](unsafeUninitializedCapacity: n * dimension) { halves, count in
                                UnsafeMutableRawBufferPointer(halves).copyMemory(from: raw)
                                count = n * dimension
                            }
                            aligned.withUnsafeBufferPointer { Half.widen($0, into: destination) }
                        }
                    }
                }
                for r in filled..<filled + n { videoOfRow[r] = video }
                filled += n
            }
            guard filled == total else {
                throw IndexError.notAnIndex(path: path, reason: "frame counts disagree with stored chunks")
            }
            initialized = total * dimension
        }

        var captions = [[IndexedCaption]](repeating: [], count: videos.count)
        let rows = try Row.fetchAll(
            db,
            sql: """
                SELECT c.video_id, c.start, c."end", c.text, c.score FROM caption c
                JOIN video v ON v.id = c.video_id WHERE v.complete = 1 ORDER BY c.video_id, c.start
                """)
        for row in rows {
            guard let video = slot[try row.decode(atIndex: 0) as Int64] else { continue }
            captions[Int(video)].append(
                try IndexedCaption(
                    start: row.decode(atIndex: 1), end: row.decode(atIndex: 2), text: row.decode(atIndex: 3),
                    score: row.decode(atIndex: 4)))
        }
        return EmbeddingMatrix(
            dimension: dimension, values: values, pts: pts, videoOfRow: videoOfRow, videos: videos,
            captions: captions, revision: revision, model: model)
    }

    private func corruptChunk(_ videoID: Int64) -> IndexError {
        IndexError.notAnIndex(path: path, reason: "a frame chunk of video \(videoID) has the wrong size")
    }
}

// MARK: - Cache

/// The last loaded matrix, shared by every search on one `VideoIndex`.
final class MatrixCache: Sendable {
    private let matrix = Locked<EmbeddingMatrix?>(nil)

    func get() -> EmbeddingMatrix? {
        matrix.current
    }

    func set(_ newValue: EmbeddingMatrix) {
        matrix.withLock { $0 = newValue }
    }
}
