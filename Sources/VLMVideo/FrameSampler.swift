/// Decides, frame by frame, which decoded frames are sampled under a ``SamplingPolicy``. Pure and cheap.
///
/// `.fps(N)` splits presentation time into slots of 1/N s and samples the first frame of each new slot, so it is
/// exact for constant frame rates, robust to variable ones, and never samples more than N frames a second. If
/// time jumps backwards (a live stream restarted), slots start over.
public struct FrameSampler: Sendable {
    public let policy: SamplingPolicy
    private var lastSlot: Int64?
    private var decodedCount = 0

    public init(policy: SamplingPolicy) {
        self.policy = policy
    }

    /// Whether the next decoded frame, at `seconds` (presentation time), is sampled.
    public mutating func shouldSample(seconds: Double, isKeyframe: Bool) -> Bool {
        defer { decodedCount += 1 }
        switch policy {
        case .every(let n):
            return decodedCount % max(1, n) == 0
        case .keyframes:
            return isKeyframe
        case .fps(let fps):
            guard fps > 0, seconds.isFinite else { return true }
            // A millisecond of slack so 0.49999 (rounding in the time base) counts as slot 1 at 2 fps. A slot
            // that does not fit Int64 (fps 1e308, or a time near the end of the Int64 range) means every frame
            // gets its own slot: sample it, never trap.
            guard let slot = Int64(exactly: ((seconds + 1e-3) * fps).rounded(.down)),
                let window = Int64(exactly: fps.rounded(.up)), window <= Int64.max / 4
            else { return true }
            if let last = lastSlot, slot <= last, slot >= last &- window * 2 {
                return false
            }
            lastSlot = slot
            return true
        }
    }
}
