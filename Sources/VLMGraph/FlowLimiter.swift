import Foundation
import VLMCore

/// Caps the frames between the limiter and the end of the encoder (MediaPipe's `FlowLimiterCalculator`).
///
/// A live source that finds every slot taken loses its frame at once (`tryAcquire`), so a slow model never builds
/// a backlog and results stay fresh; a file source waits for a slot (`acquire`), so nothing is lost. The encoder
/// calls `release()` for each frame it finishes, which is the loop-back edge of MediaPipe's limiter.
public final class FlowLimiter: Sendable {
    private struct State {
        var inFlight = 0
        var admitted = 0
        var refused = 0
    }

    /// Most frames in flight at once.
    public let maxInFlight: Int
    private let state = Locked(State())

    /// A limiter with `maxInFlight` slots (at least 1).
    public init(maxInFlight: Int) {
        self.maxInFlight = max(1, maxInFlight)
    }

    /// Takes a slot if one is free now; false (the frame is dropped and counted) otherwise.
    public func tryAcquire() -> Bool {
        let limit = maxInFlight
        return state.withLock { s in
            guard s.inFlight < limit else {
                s.refused += 1
                return false
            }
            s.inFlight += 1
            s.admitted += 1
            return true
        }
    }

    /// Waits for a free slot and takes it. The encoder releases every slot it was given, even while the graph
    /// drains, so a waiting file source always gets one.
    public func acquire() {
        let limit = maxInFlight
        state.wait(
            for: { $0.inFlight < limit },
            then: { s, _ in
                s.inFlight += 1
                s.admitted += 1
            })
    }

    /// Returns `count` slots.
    public func release(_ count: Int = 1) {
        state.update { $0.inFlight = max(0, $0.inFlight - count) }
    }

    /// Frames in flight now.
    public var inFlight: Int { state.withLock { $0.inFlight } }
    /// Frames admitted so far.
    public var admitted: Int { state.withLock { $0.admitted } }
    /// Frames refused by `tryAcquire` so far.
    public var refused: Int { state.withLock { $0.refused } }
}
