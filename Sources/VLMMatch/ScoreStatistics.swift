import VLMCore

/// What one query scored on one stream over a run: how many frames, the peak and where, and the median, in
/// constant memory (a live stream runs for weeks). The median is read from a histogram of 1000 bins over the
/// calibrated score's 0...1, so it is exact to ±0.0005.
public struct ScoreStatistics: Sendable, Codable, Equatable {
    static let bins = 1000

    /// Frames scored.
    public private(set) var frames = 0
    /// Highest calibrated score.
    public private(set) var peak = 0.0
    /// Time of the first frame with the highest score.
    public private(set) var peakPTS = 0.0
    private var histogram: [Int32] = []

    /// No frames yet.
    public init() {}

    /// Counts one frame's score.
    public mutating func add(_ score: Double, at pts: Double) {
        guard score.isFinite else { return }
        if frames == 0 || score > peak {
            peak = score
            peakPTS = pts
        }
        frames += 1
        if histogram.isEmpty { histogram = Array(repeating: 0, count: Self.bins) }
        let bin = min(Self.bins - 1, max(0, Int(score * Double(Self.bins))))
        histogram[bin] += 1
    }

    /// The median score (the centre of the bin holding the middle frame); nil before the first frame.
    public var median: Double? {
        guard frames > 0 else { return nil }
        let middle = (frames + 1) / 2
        var seen = 0
        for (bin, count) in histogram.enumerated() {
            seen += Int(count)
            if seen >= middle { return (Double(bin) + 0.5) / Double(Self.bins) }
        }
        return nil
    }

    enum CodingKeys: String, CodingKey {
        case frames, peak
        case peakPTS = "peak_pts"
        case median
    }

    /// `{"frames":20,"peak":0.55,"peak_pts":3.0,"median":0.41}`.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(frames, forKey: .frames)
        try c.encode(peak, forKey: .peak)
        try c.encode(peakPTS, forKey: .peakPTS)
        try c.encodeIfPresent(median, forKey: .median)
    }

    /// Reads the summary fields back (without the histogram: the median is kept as decoded).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        frames = try c.decode(Int.self, forKey: .frames)
        peak = try c.decode(Double.self, forKey: .peak)
        peakPTS = try c.decode(Double.self, forKey: .peakPTS)
        if let median = try c.decodeIfPresent(Double.self, forKey: .median), frames > 0 {
            histogram = Array(repeating: 0, count: Self.bins)
            histogram[min(Self.bins - 1, max(0, Int(median * Double(Self.bins))))] = Int32(clamping: frames)
        }
    }
}
