/// A JPEG of one frame, for `--mqtt-thumbnails`.
public struct Thumbnail: Sendable, Equatable {
    /// Baseline JPEG bytes.
    public var jpeg: [UInt8]
    /// Pixel width of the JPEG.
    public var width: Int
    /// Pixel height of the JPEG.
    public var height: Int
    /// The presentation time of the frame shown.
    public var pts: Double

    /// A thumbnail of the frame at `pts`.
    public init(jpeg: [UInt8], width: Int, height: Int, pts: Double) {
        self.jpeg = jpeg
        self.width = width
        self.height = height
        self.pts = pts
    }
}

/// Supplies thumbnails of recent frames (the pipeline keeps a few and encodes them with VLMVideo's JPEGEncoder).
public protocol ThumbnailProviding: Sendable {
    /// A JPEG of `stream`'s frame at `pts` (or the nearest frame still held) of at most `maxBytes`, or nil.
    func thumbnail(stream: String, pts: Double, maxBytes: Int) -> Thumbnail?
}
