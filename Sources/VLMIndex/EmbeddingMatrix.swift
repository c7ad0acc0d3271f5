/// A stored video as search sees it.
public struct IndexedVideo: Sendable, Equatable, Codable {
    public var id: Int64
    /// Absolute path as given to `vlm-stream index`.
    public var path: String
    public var size: Int64
    /// `VideoFingerprint.checksum`.
    public var checksum: String
    /// Seconds; `nil` when the container did not say.
    public var duration: Double?
    /// Encoder identity the frames were embedded with.
    public var model: String
    /// Sampling rate in frames per second (0: every decoded frame).
    public var fps: Double
    /// Frames stored.
    public var frameCount: Int
    /// True once every frame was committed.
    public var complete: Bool
    /// True when captions were stored.
    public var captioned: Bool
    /// Which captioner wrote them (`CaptionOptions.captionerIdentity`: `git <model>`, `endpoint <model> at <url>`,
    /// `clip-vocabulary`); nil when none was recorded (captions stored before it was).
    public var captioner: String?

    /// A video record.
    public init(
        id: Int64, path: String, size: Int64, checksum: String, duration: Double?, model: String, fps: Double,
        frameCount: Int, complete: Bool, captioned: Bool = false, captioner: String? = nil
    ) {
        self.id = id
        self.path = path
        self.size = size
        self.checksum = checksum
        self.duration = duration
        self.model = model
        self.fps = fps
        self.frameCount = frameCount
        self.complete = complete
        self.captioned = captioned
        self.captioner = captioner
    }
}

/// Every searchable frame of an index: a contiguous row-major `count × dimension` matrix of the stored fp16 values (in
/// memory, or mapped from a local copy of a PostgreSQL index), with each row's video and pts.
///
/// Rows of one video are linked in pts order (`previous`/`next`), so "adjacent frames" are found the same way whether
/// a video's rows are contiguous (an index read in (video, pts) order) or interleaved (a local copy appended in
/// commit order). A row whose video is not searchable (`videoOfRow` -1: incomplete, replaced or a duplicate in a
/// local copy) is never a result.
public final class EmbeddingMatrix: Sendable {
    /// Embedding length (columns).
    public let dimension: Int
    let storage: MatrixStorage
    /// Presentation time of each row.
    public let pts: [Double]
    /// Index into `videos` of each row; -1 for a row that is not searchable.
    public let videoOfRow: [Int32]
    /// The row before / after each row in its video's pts order (-1 at the video's ends and for unsearchable rows).
    let previous: [Int32]
    let next: [Int32]
    /// Each row's position in (video, pts) order, which breaks ties between equal scores (nil: the row order is that
    /// order already), so equal frames rank the same whether rows are stored in that order or in commit order.
    let rank: [Int32]?
    /// Rows that are searchable.
    public let searchableCount: Int
    /// The complete videos, in row order.
    public let videos: [IndexedVideo]
    /// Captions per video (same order as `videos`), sorted by start.
    public let captions: [[IndexedCaption]]
    /// The index revision this snapshot was read at.
    public let revision: Int
    /// Encoder identity of the embeddings.
    public let model: String

    /// Number of rows (including unsearchable rows of a local copy).
    public var count: Int { pts.count }

    /// A matrix from its parts; `halves.count == pts.count * dimension` (fp16 bit patterns, the stored form), rows of
    /// one video contiguous and in pts order.
    public convenience init(
        dimension: Int, halves: [UInt16], pts: [Double], videoOfRow: [Int32], videos: [IndexedVideo],
        captions: [[IndexedCaption]], revision: Int, model: String
    ) {
        precondition(halves.count == pts.count * dimension && videoOfRow.count == pts.count, "EmbeddingMatrix shape")
        let n = pts.count
        var previous = [Int32](repeating: -1, count: n)
        var next = [Int32](repeating: -1, count: n)
        for row in 1..<max(n, 1) where videoOfRow[row] == videoOfRow[row - 1] && videoOfRow[row] >= 0 {
            previous[row] = Int32(row - 1)
            next[row - 1] = Int32(row)
        }
        self.init(
            dimension: dimension, storage: MatrixStorage(halves), pts: pts, videoOfRow: videoOfRow,
            previous: previous, next: next, rank: nil, videos: videos, captions: captions, revision: revision,
            model: model)
    }

    /// A matrix of fp32 `values`, stored as fp16 as the index stores them (round to nearest even).
    public convenience init(
        dimension: Int, values: [Float], pts: [Double], videoOfRow: [Int32], videos: [IndexedVideo],
        captions: [[IndexedCaption]], revision: Int, model: String
    ) {
        self.init(
            dimension: dimension, halves: values.map(Half.bits), pts: pts, videoOfRow: videoOfRow, videos: videos,
            captions: captions, revision: revision, model: model)
    }

    /// A matrix over `storage` with explicit pts-order links (a local copy's interleaved rows).
    init(
        dimension: Int, storage: MatrixStorage, pts: [Double], videoOfRow: [Int32], previous: [Int32], next: [Int32],
        rank: [Int32]?, videos: [IndexedVideo], captions: [[IndexedCaption]], revision: Int, model: String
    ) {
        precondition(
            storage.count == pts.count * dimension && videoOfRow.count == pts.count && previous.count == pts.count
                && next.count == pts.count, "EmbeddingMatrix shape")
        self.dimension = dimension
        self.storage = storage
        self.pts = pts
        self.videoOfRow = videoOfRow
        self.previous = previous
        self.next = next
        self.rank = rank
        self.searchableCount = videoOfRow.reduce(0) { $0 + ($1 >= 0 ? 1 : 0) }
        self.videos = videos
        self.captions = captions
        self.revision = revision
        self.model = model
    }

    /// Runs `body` over the `count × dimension` fp16 bit patterns, row-major.
    func withHalves<R>(_ body: (UnsafeBufferPointer<UInt16>) throws -> R) rethrows -> R {
        try storage.withUnsafeBufferPointer(body)
    }

    /// Row `row`, widened to fp32 (exact).
    public func row(_ row: Int) -> [Float] {
        withHalves { all in
            [Float](unsafeUninitializedCapacity: dimension) { out, initialized in
                Half.widen(UnsafeBufferPointer(rebasing: all[row * dimension..<(row + 1) * dimension]), into: out)
                initialized = dimension
            }
        }
    }
}
