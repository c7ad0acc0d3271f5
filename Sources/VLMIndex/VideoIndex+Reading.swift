import Foundation
import VLMCore

extension VideoIndex {
    // MARK: - Videos

    /// Every stored video (complete or not), by id.
    public func videos() throws -> [IndexedVideo] {
        try read { tx in try tx.videos(completeOnly: false) }
    }

    /// The pts of every stored frame of one video, in order (tests: duplicates and resume).
    public func framePTS(videoID: Int64) throws -> [Double] {
        try frames(videoID: videoID, embeddings: false).map(\.pts)
    }

    /// The captions stored for a video, in order of their start.
    public func captions(videoID: Int64) throws -> [IndexedCaption] {
        try read { tx in try tx.captions(videoID: videoID).map(\.caption) }
    }

    /// Every stored frame of one video in pts order, embeddings widened to fp32 (empty when `embeddings` is false).
    public func frames(videoID: Int64, embeddings: Bool = true) throws -> [IndexedFrame] {
        try read { tx in
            guard let dimension = try Self.model(tx, path: path)?.dimension else { return [] }
            var out: [IndexedFrame] = []
            try tx.chunks(videoID: videoID, afterID: 0) { chunk in
                let n = chunk.frameCount
                guard n >= 0, chunk.pts.count == Self.bytes(n, 8) else { throw corruptChunk(videoID) }
                let pts: [Double] = chunk.pts.withUnsafeBytes { raw in
                    (0..<n).map { raw.loadUnaligned(fromByteOffset: $0 * 8, as: Double.self) }
                }
                guard embeddings else {
                    out += pts.map { IndexedFrame(pts: $0, embedding: []) }
                    return
                }
                guard chunk.embeddings.count == Self.bytes(n, dimension * 2) else { throw corruptChunk(videoID) }
                let values: [UInt16] = chunk.embeddings.withUnsafeBytes { raw in
                    (0..<n * dimension).map { raw.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self) }
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
        try read { tx in try Self.revision(tx) }
    }

    static func revision(_ tx: any IndexTransaction) throws -> Int {
        Int(try tx.info()["revision"] ?? "0") ?? 0
    }

    // MARK: - Matrix

    /// `n · size`, or nil when it overflows.
    static func bytes(_ n: Int, _ size: Int) -> Int? {
        let (product, overflow) = n.multipliedReportingOverflow(by: size)
        return overflow ? nil : product
    }

    /// All frames of complete videos as one fp32 matrix, cached in memory until the index's revision changes.
    ///
    /// A PostgreSQL index with a `localCopies` directory is searched from its local, memory-mapped copy, caught up
    /// by chunk id first (`LocalEmbeddingCopy`); otherwise every chunk is read.
    public func matrix() throws -> EmbeddingMatrix {
        let current = try revision()
        if let cached = cache.get(), cached.revision == current { return cached }
        let loaded: EmbeddingMatrix
        if isShared, let localCopies {
            let (matrix, report) = try loadFromLocalCopy(directory: localCopies)
            lastRefreshState.withLock { $0 = report }
            loaded = matrix
        } else {
            loaded = try read { tx in try loadMatrix(tx) }
        }
        cache.set(loaded)
        return loaded
    }

    /// What the last catch-up of the local copy read (nil before one, and for SQLite).
    public var lastRefresh: LocalCopyRefresh? { lastRefreshState.current }

    private func loadMatrix(_ tx: any IndexTransaction) throws -> EmbeddingMatrix {
        let revision = try Self.revision(tx)
        guard let (model, dimension) = try Self.model(tx, path: path) else { throw IndexError.empty(path: path) }
        let videos = try tx.videos(completeOnly: true)
        // The stored counts are checked against the bytes actually read: a chunk whose `frame_count` says 10^9 (or
        // is negative) is damage, not a reason to allocate terabytes, so nothing is sized by the counts alone.
        let (total, overflow) = videos.reduce((0, false)) {
            let (sum, o) = $0.0.addingReportingOverflow($1.frameCount)
            return (sum, $0.1 || o || $1.frameCount < 0)
        }
        let damaged = IndexError.notAnIndex(path: path, reason: "frame counts disagree with stored chunks")
        guard !overflow, Self.bytes(total, dimension) != nil else { throw damaged }
        guard total > 0 else { throw IndexError.empty(path: path) }
        let slot = Dictionary(uniqueKeysWithValues: videos.enumerated().map { ($1.id, Int32($0)) })

        var pts: [Double] = []
        var halves: [UInt16] = []
        var videoOfRow: [Int32] = []
        try tx.chunks(videoID: nil, afterID: 0) { chunk in
            let n = chunk.frameCount
            guard let video = slot[chunk.videoID], n >= 0, n <= total - pts.count else { throw damaged }
            guard chunk.pts.count == Self.bytes(n, 8), chunk.embeddings.count == Self.bytes(n, dimension * 2) else {
                throw corruptChunk(chunk.videoID)
            }
            chunk.pts.withUnsafeBytes { raw in
                pts += (0..<n).map { raw.loadUnaligned(fromByteOffset: $0 * 8, as: Double.self) }
            }
            chunk.embeddings.withUnsafeBytes { raw in
                let start = halves.count
                halves += repeatElement(0, count: n * dimension)
                halves.withUnsafeMutableBytes {
                    UnsafeMutableRawBufferPointer(rebasing: $0[start * 2..<(start + n * dimension) * 2]).copyMemory(
                        from: raw)
                }
            }
            videoOfRow += repeatElement(video, count: n)
        }
        guard pts.count == total else { throw damaged }

        var captions = [[IndexedCaption]](repeating: [], count: videos.count)
        for (videoID, caption) in try tx.captions(videoID: nil) {
            guard let video = slot[videoID] else { continue }
            captions[Int(video)].append(caption)
        }
        return EmbeddingMatrix(
            dimension: dimension, halves: halves, pts: pts, videoOfRow: videoOfRow, videos: videos,
            captions: captions, revision: revision, model: model)
    }

    func corruptChunk(_ videoID: Int64) -> IndexError {
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
