import Foundation
import VLMCore

/// The one progress line of the command line tool, on standard error: file runs (`run`), indexing and model
/// downloads all draw through it.
///
/// ```
/// plaza.mp4 [██████████              ]  42% 00:04.200 / 00:10.000  31.4 frames/s  ETA 0:06
/// model.safetensors [████████████            ]  50% 75.3/150.6 MB
/// ```
///
/// It draws only when enabled (by default: when standard error is a terminal), at most 10 times a second unless
/// asked to draw now. The runner owns it and hands it to the `LineWriter` that prints results on the same
/// terminal, which clears it before each line and draws it again after.
public final class ProgressBar: Sendable {
    private struct State {
        var label = ""
        var fraction: Double?
        var detail = ""
        var lastDraw = Date.distantPast
        var visible = false
    }

    /// Whether anything is drawn.
    public let isEnabled: Bool
    private let output: FileHandle
    private let state = Locked(State())

    /// A bar on `output`, drawn when `enabled`.
    public init(enabled: Bool = isatty(STDERR_FILENO) == 1, output: FileHandle = .standardError) {
        self.isEnabled = enabled
        self.output = output
    }

    /// Shows `label`, the bar at `fraction` (0…1; none when nil) and `detail`. Draws when the last draw is 100 ms
    /// old, or now when `force`.
    public func update(label: String, fraction: Double?, detail: String, force: Bool = false) {
        guard isEnabled else { return }
        let line = state.withLock { s -> String? in
            s.label = label
            s.fraction = fraction.map { min(1, max(0, $0)) }
            s.detail = detail
            guard force || Date().timeIntervalSince(s.lastDraw) >= 0.1 else { return nil }
            return draw(&s)
        }
        if let line { write(line) }
    }

    /// Draws the last state again (after a result line).
    public func redraw() {
        guard isEnabled else { return }
        let line = state.withLock { s -> String? in s.label.isEmpty && s.detail.isEmpty ? nil : draw(&s) }
        if let line { write(line) }
    }

    /// Erases the line.
    public func clear() {
        let wasVisible = state.withLock { s -> Bool in
            defer { s.visible = false }
            return s.visible
        }
        if wasVisible { write("\r\u{1B}[K") }
    }

    /// Leaves the line on screen and moves below it (a finished download keeps its line).
    public func keepLine() {
        let wasVisible = state.withLock { s -> Bool in
            defer { s = State() }
            return s.visible
        }
        if wasVisible { write("\n") }
    }

    private func draw(_ s: inout State) -> String {
        s.lastDraw = Date()
        s.visible = true
        var line = "\r\u{1B}[K" + s.label
        if let fraction = s.fraction {
            let width = 24
            let filled = Int(fraction * Double(width))
            line +=
                (s.label.isEmpty ? "" : " ") + "[" + String(repeating: "█", count: filled)
                + String(repeating: " ", count: width - filled) + "]" + String(format: " %3d%%", Int(fraction * 100))
        }
        if !s.detail.isEmpty { line += " " + s.detail }
        return line
    }

    private func write(_ text: String) {
        output.write(Data(text.utf8))
    }
}

/// Frames finished over a known (or unknown) duration of media, drawn on a `ProgressBar`: position, frames/s and
/// the time left. `run` keeps one for all its files, `index` one per video.
public final class FrameProgress: Sendable {
    private struct State {
        var frames = 0
        var position = 0.0
    }

    private let bar: ProgressBar
    private let label: String
    private let duration: Double?
    private let started = Date()
    private let state = Locked(State())

    /// Progress of `duration` seconds of media (nil: unknown) named `label` on `bar`.
    public init(bar: ProgressBar, label: String = "", duration: Double?) {
        self.bar = bar
        self.label = label
        self.duration = duration.flatMap { $0 > 0 ? $0 : nil }
    }

    /// A frame at `pts` was finished (`frames` of them so far when the caller counts, else one more).
    public func advance(to pts: Double, frames: Int? = nil) {
        guard bar.isEnabled else { return }
        let (count, position) = state.withLock { s -> (Int, Double) in
            s.frames = frames ?? s.frames + 1
            s.position = max(s.position, pts)
            return (s.frames, s.position)
        }
        let elapsed = Date().timeIntervalSince(started)
        var detail = MediaTime.format(position)
        var fraction: Double?
        if let duration {
            let f = min(1, position / duration)
            fraction = f
            detail += " / " + MediaTime.format(duration)
            if elapsed > 0.5 { detail += String(format: "  %.1f frames/s", Double(count) / elapsed) }
            detail += "  ETA " + (f > 0.01 ? MediaTime.formatShort(elapsed * (1 - f) / f) : "--")
        } else if elapsed > 0.5 {
            detail += String(format: "  %.1f frames/s", Double(count) / elapsed)
        }
        bar.update(label: label, fraction: fraction, detail: detail)
    }
}

extension MediaTime {
    /// `m:ss` for ETAs.
    static func formatShort(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return String(format: "%d:%02d", s / 60, s % 60)
    }
}
