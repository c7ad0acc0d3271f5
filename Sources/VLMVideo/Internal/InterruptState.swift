import CFFmpeg
import Foundation
import VLMCore

/// What FFmpeg's interrupt callback consults during blocking I/O: a cancel flag and an optional deadline.
///
/// libavformat calls the callback from the thread doing the I/O, while ``cancel()`` comes from any thread; the
/// lock makes that safe (uncontended, it costs tens of nanoseconds per poll). `Locked`'s condition variable wakes a
/// backoff `sleep` on cancel.
final class InterruptState: Sendable {
    private struct Flags {
        var cancelled = false
        var deadline: ContinuousClock.Instant?
    }

    private let flags = Locked(Flags())

    /// Interrupts any blocked FFmpeg call and every later one, and wakes a backoff sleep.
    func cancel() {
        flags.update { $0.cancelled = true }
    }

    var isCancelled: Bool { flags.withLock { $0.cancelled } }

    /// Blocking calls made after this give up (AVERROR_EXIT) once `seconds` have passed; nil: no deadline.
    func arm(timeout seconds: Double?) {
        flags.withLock { $0.deadline = seconds.map { ContinuousClock.now + .milliseconds(Int64($0 * 1000)) } }
    }

    /// True when FFmpeg should abandon the current blocking call.
    var shouldInterrupt: Bool {
        flags.withLock { f in
            if f.cancelled { return true }
            if let deadline = f.deadline, ContinuousClock.now >= deadline { return true }
            return false
        }
    }

    /// Whether the last interruption was a timeout rather than a cancel.
    var deadlinePassed: Bool {
        flags.withLock { f in
            guard let deadline = f.deadline else { return false }
            return ContinuousClock.now >= deadline
        }
    }

    /// Sleeps up to `seconds`, returning early (false) if cancelled.
    func sleep(seconds: Double) -> Bool {
        flags.wait(until: Date().addingTimeInterval(seconds), for: \.cancelled) { f, _ in !f.cancelled }
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
