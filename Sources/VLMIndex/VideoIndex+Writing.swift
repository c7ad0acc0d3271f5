import Foundation

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
    /// The text's embedding by the index model's text tower (L2-normalised, stored as fp16), which `search --text`
    /// compares with the query's; nil for captions stored before caption embeddings were.
    public var embedding: [Float]?

    /// A caption to store.
    public init(start: Double, end: Double, text: String, score: Double, embedding: [Float]? = nil) {
        self.start = start
        self.end = end
        self.text = text
        self.score = score
        self.embedding = embedding
    }

    /// The embedding as the stores keep it: little-endian fp16.
    var embeddingBlob: Data? {
        guard let embedding, !embedding.isEmpty else { return nil }
        var halves: [UInt16] = []
        Half.narrow(embedding, appendingTo: &halves)
        return halves.withUnsafeBytes { Data($0) }
    }

    /// `embeddingBlob` read back; a blob of odd length is damage.
    static func embedding(blob: Data?, path: String) throws -> [Float]? {
        guard let blob, !blob.isEmpty else { return nil }
        guard blob.count % 2 == 0 else {
            throw IndexError.notAnIndex(path: path, reason: "a stored caption embedding is damaged (odd length)")
        }
        let halves = blob.withUnsafeBytes { Array($0.bindMemory(to: UInt16.self)) }
        return halves.map(Half.float)
    }
}

/// What to do with one video, decided by `VideoIndex.prepare`.
public enum IndexPlan: Sendable, Equatable {
    /// Already indexed completely with the same content, model and sampling (and captions, when asked for).
    case skip
    /// Indexed completely but without captions, which were asked for, or with another captioner's: caption it.
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
        try read { tx in try Self.model(tx, path: path) }
    }

    static func model(_ tx: any IndexTransaction, path: String) throws -> (identity: String, dimension: Int)? {
        let info = try tx.info()
        let (identity, dimensionText) = (info["model"], info["dimension"])
        if identity == nil && dimensionText == nil { return nil }
        // One of the two present, or a dimension that is not a sane embedding length, is damage, not "empty".
        guard let identity, !identity.isEmpty, let dimension = dimensionText.flatMap({ Int($0) }),
            (1...65_536).contains(dimension)
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
        try read { tx in (try tx.info()["precision"] ?? "fp32").split(separator: ",").map(String.init) }
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
    /// `captioner` names the captioner asked for (`CaptionOptions.captionerIdentity`), nil for no captions: a
    /// complete video captioned by another one (or by none) is planned `.caption`.
    public func prepare(
        videoPath: String, fingerprint: VideoFingerprint, model: String, dimension: Int, fps: Double,
        captioner: String? = nil, precision: String = "fp32"
    ) throws -> IndexPlan {
        try write { tx in
            // The precisions the index holds frames of, each once, in the order first used.
            let recorded = try tx.info()["precision"]
            // (An index built before precisions were recorded holds fp32 frames.)
            let known =
                try recorded.map { $0.split(separator: ",").map(String.init) }
                ?? (Self.model(tx, path: path) != nil ? ["fp32"] : [])
            if !known.contains(precision) {
                try tx.setInfo("precision", (known + [precision]).joined(separator: ","))
            }
            if let bound = try Self.model(tx, path: path) {
                guard bound.identity == model else {
                    throw IndexError.modelMismatch(path: self.path, indexed: bound.identity, requested: model)
                }
            } else {
                try tx.setInfo("model", model)
                try tx.setInfo("dimension", String(dimension))
            }
            var replaced = false
            if let row = try tx.video(path: videoPath) {
                let same =
                    row.size == fingerprint.size && row.checksum == fingerprint.checksum && row.model == model
                    && row.fps == fps
                if same && row.complete {
                    // Rows captioned before captioners were recorded were captioned by the CLIP vocabulary.
                    let stored = row.captioned ? row.captioner ?? "clip-vocabulary" : nil
                    return captioner != nil && stored != captioner ? .caption(videoID: row.id) : .skip
                }
                if same {
                    let stored = try tx.chunkExtent(videoID: row.id)
                    return .resume(videoID: row.id, afterPTS: stored.last ?? -.infinity, storedFrames: stored.frames)
                }
                if row.complete { try tx.bumpRevision() }
                try tx.deleteVideo(id: row.id)
                replaced = true
            }
            let id = try tx.insertVideo(path: videoPath, fingerprint: fingerprint, model: model, fps: fps)
            return .fresh(videoID: id, replaced: replaced)
        }
    }

    // MARK: - Frames

    /// Commits `frames` (in pts order, all after the video's stored frames) and `captions` in one transaction.
    /// A chunk already stored (same video and first pts: a retried or resumed commit) is not stored twice.
    public func append(videoID: Int64, frames: [IndexedFrame], captions: [IndexedCaption] = []) throws {
        guard let first = frames.first, let last = frames.last else {
            if !captions.isEmpty { try write { tx in try Self.insert(captions, videoID: videoID, tx) } }
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
        try write { tx in
            if let dimension = try Self.model(tx, path: path)?.dimension, dimension != first.embedding.count {
                throw IndexError.dimensionMismatch(path: self.path, indexed: dimension, given: first.embedding.count)
            }
            try tx.insertChunk(
                videoID: videoID, firstPTS: first.pts, lastPTS: last.pts, frameCount: frames.count, pts: ptsBlob,
                embeddings: embeddingBlob)
            try Self.insert(captions, videoID: videoID, tx)
        }
    }

    private static func insert(_ captions: [IndexedCaption], videoID: Int64, _ tx: any IndexTransaction) throws {
        for caption in captions { try tx.insertCaption(videoID: videoID, caption) }
    }

    /// Marks the video complete (searchable) with its duration, storing `captions` when given (replacing any) with
    /// the `captioner` that wrote them; returns its stored frame count.
    @discardableResult
    public func complete(
        videoID: Int64, duration: Double?, captions: [IndexedCaption]? = nil, captioner: String = "clip-vocabulary"
    ) throws -> Int {
        try write { tx in
            let count = try tx.chunkExtent(videoID: videoID).frames
            try tx.completeVideo(id: videoID, frames: count, duration: duration)
            if let captions {
                try tx.deleteCaptions(videoID: videoID)
                try Self.insert(captions, videoID: videoID, tx)
                try tx.markCaptioned(id: videoID, captioner: captioner)
            }
            try tx.bumpRevision()
            return count
        }
    }

    /// Deletes a video and everything stored for it.
    public func remove(videoPath: String) throws {
        try write { tx in
            _ = try tx.deleteVideo(path: videoPath)
            try tx.bumpRevision()
        }
    }
}

extension VideoIndex {
    // MARK: - Maintenance

    /// SQLite: moves the write-ahead log into the main file (`PRAGMA wal_checkpoint(TRUNCATE)`) and returns the
    /// file's bytes. PostgreSQL: the database's size.
    @discardableResult
    public func checkpoint() throws -> Int64 {
        try store.checkpoint()
    }
}
