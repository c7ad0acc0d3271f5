import Foundation

/// What the last refresh of a local copy did (tests and `bench search`).
public struct LocalCopyRefresh: Sendable, Equatable {
    /// Chunks and frames read from the database by this refresh.
    public var chunksRead = 0
    public var framesRead = 0
    /// Chunks read again because a commit with a lower id became visible after a higher one.
    public var chunksRefetched = 0
    /// True when the copy was started afresh (new database, other model, too many dead rows).
    public var rebuilt = false
    /// Rows in the copy, and how many of them are searchable.
    public var rows = 0
    public var searchable = 0
}

extension VideoIndex {
    /// Chunks read per round trip while catching up.
    static let copyPage = 256

    /// The matrix of a PostgreSQL index from its local copy: catches the copy up by chunk id (only chunks committed
    /// since the last refresh cross the network), then maps it. All in one consistent read of the database.
    func loadFromLocalCopy(directory cache: URL) throws -> (EmbeddingMatrix, LocalCopyRefresh) {
        try read { tx in
            let info = try tx.info()
            guard let (model, dimension) = try Self.model(tx, path: path) else { throw IndexError.empty(path: path) }
            let revision = Int(info["revision"] ?? "0") ?? 0
            let directory = LocalEmbeddingCopy.directory(
                in: cache, display: path, instance: info["instance"] ?? "")
            let copy = try LocalEmbeddingCopy(directory: directory)
            var report = LocalCopyRefresh(rebuilt: copy.startedAfresh)
            // Another model, or a database whose chunk ids went backwards (reset under the same URL): start again.
            let newest = try tx.maxChunkID()
            if copy.state.dimension != dimension || copy.state.model != model || newest < copy.state.lastChunkID {
                try copy.reset(dimension: dimension, model: model)
                report.rebuilt = true
            }
            try catchUp(copy, tx, &report)
            var all = try tx.videos(completeOnly: false)
            var (matrix, dead) = try assemble(copy, tx, videos: all, revision: revision, model: model, &report)
            if dead > max(copy.state.rows / 2, 1 << 16) {
                // Mostly replaced or removed videos: copy what is live now into a new generation.
                try copy.reset(dimension: dimension, model: model)
                report.rebuilt = true
                try catchUp(copy, tx, &report)
                all = try tx.videos(completeOnly: false)
                (matrix, dead) = try assemble(copy, tx, videos: all, revision: revision, model: model, &report)
            }
            report.rows = matrix.count
            report.searchable = matrix.searchableCount
            return (matrix, report)
        }
    }

    /// Appends every chunk with an id above the copy's last one, a page at a time.
    private func catchUp(_ copy: LocalEmbeddingCopy, _ tx: any IndexTransaction, _ report: inout LocalCopyRefresh)
        throws
    {
        var pending = 0
        var last = copy.state.lastChunkID
        while true {
            let page = try tx.chunks(afterID: last, limit: Self.copyPage)
            try checkSizes(page, dimension: copy.state.dimension)
            try copy.append(page, pending: &pending)
            report.chunksRead += page.count
            report.framesRead += page.reduce(0) { $0 + $1.frameCount }
            last = page.last?.id ?? last
            if page.count < Self.copyPage { break }
        }
        try copy.commit(pending: pending, lastChunkID: last)
    }

    private func checkSizes(_ chunks: [StoredChunk], dimension: Int) throws {
        for chunk in chunks {
            let n = chunk.frameCount
            guard n >= 0, chunk.pts.count == Self.bytes(n, 8), chunk.embeddings.count == Self.bytes(n, dimension * 2)
            else { throw corruptChunk(chunk.videoID) }
        }
    }

    /// The searchable matrix over the copy: rows of complete videos (each chunk once), linked in pts order per
    /// video. A complete video with fewer rows than stored (a chunk committed with a lower id after the copy passed
    /// it) has its missing chunks read again. Returns the matrix and the number of dead rows (removed videos,
    /// duplicates).
    private func assemble(
        _ copy: LocalEmbeddingCopy, _ tx: any IndexTransaction, videos all: [IndexedVideo], revision: Int,
        model: String, _ report: inout LocalCopyRefresh
    ) throws -> (EmbeddingMatrix, dead: Int) {
        let videos = all.filter(\.complete)
        let existing = Set(all.map(\.id))
        let slot = Dictionary(uniqueKeysWithValues: videos.enumerated().map { ($1.id, Int32($0)) })
        var (pts, videoIDs, chunkIDs) = try copy.rows()

        // A chunk's rows are contiguous (appended together). The copies of each chunk, as row ranges.
        func runs() -> [(chunk: Int64, video: Int64, rows: Range<Int>)] {
            var out: [(Int64, Int64, Range<Int>)] = []
            var start = 0
            while start < pts.count {
                var end = start + 1
                while end < pts.count, chunkIDs[end] == chunkIDs[start] { end += 1 }
                out.append((chunkIDs[start], videoIDs[start], start..<end))
                start = end
            }
            return out
        }

        // Chunks a complete video lacks in the copy (committed with a lower id after the copy passed it): read the
        // video's chunks again and append the missing ones.
        var held: [Int64: Set<Int64>] = [:]
        var counted: [Int64: Int] = [:]
        for run in runs() where slot[run.video] != nil && held[run.video, default: []].insert(run.chunk).inserted {
            counted[run.video, default: 0] += run.rows.count
        }
        var pending = 0
        for video in videos where counted[video.id, default: 0] != video.frameCount {
            var missing: [StoredChunk] = []
            try tx.chunks(videoID: video.id, afterID: 0) { chunk in
                if !(held[video.id]?.contains(chunk.id) ?? false) { missing.append(chunk) }
            }
            try checkSizes(missing, dimension: copy.state.dimension)
            try copy.append(missing, pending: &pending)
            report.chunksRefetched += missing.count
        }
        if pending > 0 {
            try copy.commit(pending: pending, lastChunkID: copy.state.lastChunkID)
            (pts, videoIDs, chunkIDs) = try copy.rows()
        }

        // Each chunk once, only complete videos searchable; rows of removed videos and repeated chunks are dead.
        let n = pts.count
        var videoOfRow = [Int32](repeating: -1, count: n)
        var kept = Set<Int64>()
        var dead = 0
        for run in runs() {
            guard existing.contains(run.video), kept.insert(run.chunk).inserted else {
                dead += run.rows.count
                continue
            }
            if let s = slot[run.video] { for row in run.rows { videoOfRow[row] = s } }
        }

        // Links in pts order per video; the counts must now agree with the database.
        var rowsOfVideo = [[Int32]](repeating: [], count: videos.count)
        for row in 0..<n where videoOfRow[row] >= 0 { rowsOfVideo[Int(videoOfRow[row])].append(Int32(row)) }
        var previous = [Int32](repeating: -1, count: n)
        var next = [Int32](repeating: -1, count: n)
        var rank = [Int32](repeating: .max, count: n)
        var position: Int32 = 0
        for (i, var rows) in rowsOfVideo.enumerated() {
            guard rows.count == videos[i].frameCount else {
                throw IndexError.notAnIndex(path: path, reason: "frame counts disagree with stored chunks")
            }
            if !zip(rows, rows.dropFirst()).allSatisfy({ pts[Int($0)] <= pts[Int($1)] }) {
                rows.sort { pts[Int($0)] < pts[Int($1)] }
            }
            for (a, b) in zip(rows, rows.dropFirst()) {
                next[Int(a)] = b
                previous[Int(b)] = a
            }
            for row in rows {
                rank[Int(row)] = position
                position += 1
            }
        }
        guard videos.contains(where: { $0.frameCount > 0 }) else { throw IndexError.empty(path: path) }

        var captions = [[IndexedCaption]](repeating: [], count: videos.count)
        for (videoID, caption) in try tx.captions(videoID: nil) {
            guard let s = slot[videoID] else { continue }
            captions[Int(s)].append(caption)
        }
        let matrix = EmbeddingMatrix(
            dimension: copy.state.dimension, storage: try copy.mapEmbeddings(), pts: pts, videoOfRow: videoOfRow,
            previous: previous, next: next, rank: rank, videos: videos, captions: captions, revision: revision,
            model: model)
        return (matrix, dead)
    }
}
