import VLMCore

/// A stretch of one video that matches a query: adjacent sampled frames merged into one interval.
public struct Moment: Sendable, Equatable, Codable {
    /// Path of the video.
    public var video: String
    /// Seconds: pts of the first matching frame.
    public var start: Double
    /// Seconds: end of the last matching frame's sampling interval (clamped to the duration).
    public var end: Double
    /// Seconds: pts of the best frame.
    public var peak: Double
    /// Cosine similarity of the best frame and the query.
    public var score: Double
    /// Sampled frames merged into the moment.
    public var frames: Int
    /// The stored caption covering the best frame, when captions were indexed.
    public var caption: String?

    enum CodingKeys: String, CodingKey { case video, start, end, peak, score, frames, caption }

    /// A moment.
    public init(
        video: String, start: Double, end: Double, peak: Double, score: Double, frames: Int, caption: String? = nil
    ) {
        self.video = video
        self.start = start
        self.end = end
        self.peak = peak
        self.score = score
        self.frames = frames
        self.caption = caption
    }
}

extension Moment {
    /// The one result encoding (`ResultJSON`): `{"caption"?, "end", "frames", "peak", "score", "start", "video"}`.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(video, forKey: .video)
        try c.encode(ResultJSON.number(start), forKey: .start)
        try c.encode(ResultJSON.number(end), forKey: .end)
        try c.encode(ResultJSON.number(peak), forKey: .peak)
        try c.encode(ResultJSON.number(score), forKey: .score)
        try c.encode(frames, forKey: .frames)
        try c.encodeIfPresent(caption, forKey: .caption)
    }
}

/// How search ranks and merges frames.
public struct SearchOptions: Sendable, Equatable {
    /// Moments to return.
    public var top: Int
    /// A neighbour joins a moment when its score is at least `peak − mergeMargin` (cosine units).
    public var mergeMargin: Float
    /// Frames scoring below this are never returned (cosine); `nil` for no floor.
    public var minScore: Float?

    /// Options; the defaults suit CLIP ViT-B/32 cosine scores.
    public init(top: Int = 10, mergeMargin: Float = 0.02, minScore: Float? = nil) {
        self.top = top
        self.mergeMargin = mergeMargin
        self.minScore = minScore
    }
}
