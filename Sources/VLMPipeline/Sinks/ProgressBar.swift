import Foundation
import VLMCore
import VLMGraph

/// A one-line progress bar on stderr for file runs: percent of the duration, frames/s and ETA.
///
/// Only shown when stderr is a terminal (`ProgressBar.make` returns nil otherwise); redraws at most 10 times a
/// second. `LineWriter` clears it before printing a result line on the same terminal.
public final class ProgressBar: Sendable {
    private struct State {
        var fraction = 0.0
        var frames = 0
        var lastDraw = 0.0
        var visible = false
    }

    private let duration: Double
    private let started = Date()
    private let state = Locked(State())

    /// A bar for a run over `duration` seconds of media, or nil when stderr is not a terminal or the duration is
    /// unknown.
    public static func make(duration: Double?) -> ProgressBar? {
        guard let duration, duration > 0, isatty(STDERR_FILENO) == 1 else { return nil }
        return ProgressBar(duration: duration)
    }

    init(duration: Double) {
        self.duration = duration
    }

    /// A frame at `pts` was finished.
    public func advance(to pts: Double) {
        let now = Date().timeIntervalSince(started)
        let shouldDraw = state.withLock { s -> Bool in
            s.frames += 1
            s.fraction = min(1, max(s.fraction, pts / duration))
            guard now - s.lastDraw >= 0.1 else { return false }
            s.lastDraw = now
            return true
        }
        if shouldDraw { redraw() }
    }

    /// Draws the bar again (after a result line).
    public func redraw() {
        let elapsed = Date().timeIntervalSince(started)
        let line = state.withLock { s -> String in
            s.visible = true
            let width = 24
            let filled = Int(s.fraction * Double(width))
            let bar = String(repeating: "█", count: filled) + String(repeating: " ", count: width - filled)
            let fps = elapsed > 0 ? Double(s.frames) / elapsed : 0
            let eta = s.fraction > 0.01 ? elapsed * (1 - s.fraction) / s.fraction : 0
            return String(
                format: "\r\u{1B}[K%3d%% |%@| %.1f frames/s ETA %@", Int(s.fraction * 100), bar, fps,
                s.fraction > 0.01 ? MediaTime.formatShort(eta) : "--")
        }
        FileHandle.standardError.write(Data(line.utf8))
    }

    /// Erases the bar.
    public func clear() {
        let wasVisible = state.withLock { s -> Bool in
            defer { s.visible = false }
            return s.visible
        }
        if wasVisible { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }
}

extension MediaTime {
    /// `m:ss` for ETAs.
    static func formatShort(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return String(format: "%d:%02d", s / 60, s % 60)
    }
}
