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

    /// A video record.
    public init(
        id: Int64, path: String, size: Int64, checksum: String, duration: Double?, model: String, fps: Double,
        frameCount: Int, complete: Bool, captioned: Bool = false
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
    }
}

/// Every searchable frame of an index in memory: a contiguous row-major `count × dimension` fp32 matrix (ready for
/// sgemv/sgemm), with each row's video and pts. Rows of one video are contiguous and in pts order, so "adjacent
/// frames" are adjacent rows.
public final class EmbeddingMatrix: Sendable {
    /// Embedding length (columns).
    public let dimension: Int
    /// `count × dimension` values, row-major.
    public let values: [Float]
    /// Presentation time of each row.
    public let pts: [Double]
    /// Index into `videos` of each row.
    public let videoOfRow: [Int32]
    /// The complete videos, in row order.
    public let videos: [IndexedVideo]
    /// Captions per video (same order as `videos`), sorted by start.
    public let captions: [[IndexedCaption]]
    /// The index revision this snapshot was read at.
    public let revision: Int
    /// Encoder identity of the embeddings.
    public let model: String

    /// Number of frames (rows).
    public var count: Int { pts.count }

    /// A matrix from its parts; `values.count == pts.count * dimension`.
    public init(
        dimension: Int, values: [Float], pts: [Double], videoOfRow: [Int32], videos: [IndexedVideo],
        captions: [[IndexedCaption]], revision: Int, model: String
    ) {
        precondition(values.count == pts.count * dimension && videoOfRow.count == pts.count, "EmbeddingMatrix shape")
        self.dimension = dimension
        self.values = values
        self.pts = pts
        self.videoOfRow = videoOfRow
        self.videos = videos
        self.captions = captions
        self.revision = revision
        self.model = model
    }

    /// Row `row` as an array (tests and debugging).
    public func row(_ row: Int) -> [Float] {
        Array(values[row * dimension..<(row + 1) * dimension])
    }
}
