import CFFmpeg
import Foundation

/// What FFmpeg's interrupt callback consults during blocking I/O: a cancel flag and an optional deadline.
///
/// libavformat calls the callback from the thread doing the I/O, while ``cancel()`` comes from any thread; the
/// lock makes that safe (uncontended, it costs tens of nanoseconds per poll).
final class InterruptState: @unchecked Sendable {
    private let condition = NSCondition()
    private var cancelled = false
    private var deadline: ContinuousClock.Instant?

    /// Interrupts any blocked FFmpeg call and every later one, and wakes a backoff sleep.
    func cancel() {
        condition.lock()
        cancelled = true
        condition.broadcast()
        condition.unlock()
    }

    var isCancelled: Bool {
        condition.lock()
        defer { condition.unlock() }
        return cancelled
    }

    /// Blocking calls made after this give up (AVERROR_EXIT) once `seconds` have passed; nil: no deadline.
    func arm(timeout seconds: Double?) {
        condition.lock()
        deadline = seconds.map { ContinuousClock.now + .milliseconds(Int64($0 * 1000)) }
        condition.unlock()
    }

    /// True when FFmpeg should abandon the current blocking call.
    var shouldInterrupt: Bool {
        condition.lock()
        defer { condition.unlock() }
        if cancelled { return true }
        if let deadline, ContinuousClock.now >= deadline { return true }
        return false
    }

    /// Whether the last interruption was a timeout rather than a cancel.
    var deadlinePassed: Bool {
        condition.lock()
        defer { condition.unlock() }
        guard let deadline else { return false }
        return ContinuousClock.now >= deadline
    }

    /// Sleeps up to `seconds`, returning early (false) if cancelled.
    func sleep(seconds: Double) -> Bool {
        let until = Date().addingTimeInterval(seconds)
        condition.lock()
        defer { condition.unlock() }
        while !cancelled {
            if !condition.wait(until: until) { break }
        }
        return !cancelled
    }

    /// The callback struct to put in `AVFormatContext.interrupt_callback`; `self` must outlive the context.
    var callback: AVIOInterruptCB {
        AVIOInterruptCB(
            callback: { opaque in
                guard let opaque else { return 0 }
                let state = Unmanaged<InterruptState>.fromOpaque(opaque).takeUnretainedValue()
                return state.shouldInterrupt ? 1 : 0
            },
            opaque: Unmanaged.passUnretained(self).toOpaque()
        )
    }
}
