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
    /// The stored caption covering the best frame, when captions were indexed (a caption hit's own caption).
    public var caption: String?
    /// Why it matched: its frames (`frame`) or a stored caption's words or text similarity (nil: not said).
    public var match: Match?

    /// Why a moment matched the query.
    public enum Match: String, Sendable, Codable {
        /// Its frames' embeddings scored high against the query (`score` is the best frame's cosine).
        case frame
        /// Every content word of the text query occurs in its caption (`score` is the caption's text cosine).
        case captionWords = "caption_words"
        /// Its caption's text embedding is close to the text query's (`score` is that cosine).
        case captionSimilarity = "caption_similarity"
    }

    enum CodingKeys: String, CodingKey { case video, start, end, peak, score, frames, caption, match }

    /// A moment.
    public init(
        video: String, start: Double, end: Double, peak: Double, score: Double, frames: Int, caption: String? = nil,
        match: Match? = nil
    ) {
        self.video = video
        self.start = start
        self.end = end
        self.peak = peak
        self.score = score
        self.frames = frames
        self.caption = caption
        self.match = match
    }
}

extension Moment {
    /// The one result encoding (`ResultJSON`):
    /// `{"caption"?, "end", "frames", "match"?, "peak", "score", "start", "video"}`.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(video, forKey: .video)
        try c.encode(ResultJSON.number(start), forKey: .start)
        try c.encode(ResultJSON.number(end), forKey: .end)
        try c.encode(ResultJSON.number(peak), forKey: .peak)
        try c.encode(ResultJSON.number(score), forKey: .score)
        try c.encode(frames, forKey: .frames)
        try c.encodeIfPresent(caption, forKey: .caption)
        try c.encodeIfPresent(match, forKey: .match)
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
    /// A text search's captions whose text embedding has at least this cosine with the query's match it (those
    /// containing all its content words match anyway); `nil` leaves captions out (`search --frames-only`).
    public var captionMinSimilarity: Float?

    /// The default `captionMinSimilarity`: text-to-text cosines of CLIP sit far higher than image-to-text ones.
    public static let defaultCaptionMinSimilarity: Float = 0.9

    /// Options; the defaults suit CLIP ViT-B/32 cosine scores.
    public init(
        top: Int = 10, mergeMargin: Float = 0.02, minScore: Float? = nil,
        captionMinSimilarity: Float? = SearchOptions.defaultCaptionMinSimilarity
    ) {
        self.top = top
        self.mergeMargin = mergeMargin
        self.minScore = minScore
        self.captionMinSimilarity = captionMinSimilarity
    }
}
