import Foundation

/// A presentation time: seconds from the start of the stream, as the container states it (never a frame counter),
/// plus the wall-clock moment the frame was captured or received for live sources.
public struct MediaTime: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// Seconds from the stream's first presentation timestamp.
    public var seconds: Double
    /// Wall-clock time of capture/arrival; `nil` for files.
    public var wallClock: Date?

    public init(seconds: Double, wallClock: Date? = nil) {
        self.seconds = seconds
        self.wallClock = wallClock
    }

    public static func < (lhs: MediaTime, rhs: MediaTime) -> Bool { lhs.seconds < rhs.seconds }

    /// `h:mm:ss.mmm` for humans.
    public var description: String { MediaTime.format(seconds) }

    /// Formats seconds as `h:mm:ss.mmm` (or `mm:ss.mmm` under an hour).
    public static func format(_ seconds: Double) -> String {
        let totalMillis = Int((max(0, seconds) * 1000).rounded())
        let h = totalMillis / 3_600_000
        let m = totalMillis / 60_000 % 60
        let s = totalMillis / 1000 % 60
        let ms = totalMillis % 1000
        return h > 0
            ? String(format: "%d:%02d:%02d.%03d", h, m, s, ms)
            : String(format: "%02d:%02d.%03d", m, s, ms)
    }
}
