/// Decides whether a sampled frame needs the encoder or can reuse the last embedding, from its small grey
/// thumbnail (``VLMCore/Frame/luma``). Pure and cheap (a 32×32 comparison is ~1 µs).
///
/// A frame counts as changed when, against the thumbnail of the last *encoded* frame, either the mean absolute
/// difference exceeds ``Configuration/meanThreshold`` (global changes: cuts, lighting, camera motion) or more than
/// ``Configuration/changedFraction`` of the pixels moved by more than ``Configuration/pixelThreshold`` (local
/// changes: a person walking into a fixed view). Comparing with the last encoded frame, not the previous one,
/// stops slow drifts from slipping through. ``Configuration/maxReuseInterval`` refreshes the embedding anyway.
public struct SceneChangeGate: Sendable {
    /// Thresholds of the gate.
    public struct Configuration: Sendable, Hashable {
        /// Mean |Δ luma| (0–255 levels) over the thumbnail above which the frame is new.
        public var meanThreshold: Double
        /// A thumbnail pixel whose luma moved by more than this counts as changed.
        public var pixelThreshold: Int
        /// The frame is new when more than this fraction of its thumbnail pixels changed.
        public var changedFraction: Double
        /// Seconds after which the frame is encoded even if unchanged (nil: never forced).
        public var maxReuseInterval: Double?

        public init(
            meanThreshold: Double = 4, pixelThreshold: Int = 20, changedFraction: Double = 0.01,
            maxReuseInterval: Double? = 5
        ) {
            self.meanThreshold = meanThreshold
            self.pixelThreshold = pixelThreshold
            self.changedFraction = changedFraction
            self.maxReuseInterval = maxReuseInterval
        }
    }

    /// The gate's verdict for one frame.
    public enum Decision: Sendable, Hashable {
        /// Run the encoder; `reason` says why.
        case encode(Reason)
        /// Reuse the last embedding.
        case reuse
    }

    /// Why a frame is encoded.
    public enum Reason: String, Sendable, Hashable {
        case first, changed, refresh, noThumbnail
    }

    /// How two thumbnails differ.
    public struct Difference: Sendable, Hashable {
        /// Mean absolute luma difference in 0–255 levels.
        public var meanAbsolute: Double
        /// Fraction of pixels that moved by more than the pixel threshold.
        public var changedFraction: Double
    }

    public var configuration: Configuration
    private var reference: [UInt8] = []
    private var referenceTime: Double = 0
    /// Frames encoded and reused so far.
    public private(set) var encodedCount = 0
    public private(set) var reusedCount = 0

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    /// The fraction of frames reused so far (0 when none seen).
    public var reuseFraction: Double {
        let total = encodedCount + reusedCount
        return total == 0 ? 0 : Double(reusedCount) / Double(total)
    }

    /// Judges the frame with thumbnail `luma` at `seconds`; an `.encode` makes it the new reference.
    public mutating func decide(luma: [UInt8], at seconds: Double) -> Decision {
        let decision = judge(luma: luma, at: seconds)
        switch decision {
        case .encode:
            encodedCount += 1
            reference = luma
            referenceTime = seconds
        case .reuse:
            reusedCount += 1
        }
        return decision
    }

    /// Forgets the reference, so the next frame is encoded (after a reconnect or a query change).
    public mutating func reset() {
        reference = []
    }

    private func judge(luma: [UInt8], at seconds: Double) -> Decision {
        guard !luma.isEmpty else { return .encode(.noThumbnail) }
        guard reference.count == luma.count else { return .encode(.first) }
        if let interval = configuration.maxReuseInterval, abs(seconds - referenceTime) >= interval {
            return .encode(.refresh)
        }
        let difference = SceneChangeGate.difference(reference, luma, pixelThreshold: configuration.pixelThreshold)
        if difference.meanAbsolute > configuration.meanThreshold
            || difference.changedFraction > configuration.changedFraction
        {
            return .encode(.changed)
        }
        return .reuse
    }

    /// Compares two thumbnails of the same size.
    public static func difference(_ a: [UInt8], _ b: [UInt8], pixelThreshold: Int) -> Difference {
        precondition(a.count == b.count && !a.isEmpty, "thumbnails differ in size")
        var sum = 0
        var changed = 0
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                for i in 0..<a.count {
                    let d = abs(Int(a[i]) - Int(b[i]))
                    sum += d
                    if d > pixelThreshold { changed += 1 }
                }
            }
        }
        return Difference(
            meanAbsolute: Double(sum) / Double(a.count), changedFraction: Double(changed) / Double(a.count))
    }
}
