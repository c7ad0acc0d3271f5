import Foundation
import Logging
import VLMCore

/// A subtitle file format.
public enum SubtitleFormat: String, Sendable, CaseIterable {
    /// SubRip: numbered cues, `00:00:01,000 --> 00:00:03,500`.
    case srt
    /// WebVTT: `WEBVTT` header, `00:00:01.000 --> 00:00:03.500`.
    case vtt

    /// The format a file name implies (`.srt`, `.vtt`), if any.
    public init?(pathExtension: String) {
        self.init(rawValue: pathExtension.lowercased())
    }
}

/// A `ResultSink` that writes captions as a subtitle file players and ffmpeg accept.
///
/// The whole file is rewritten (to a temporary file, then renamed) whenever a caption is added or extended, so an
/// interrupted run always leaves a complete, valid file. Captions are few (at most one per `minInterval`), so this
/// costs little. With several streams each cue is prefixed with `[stream]`.
public final class SubtitleWriter: ResultSink {
    /// The file written.
    public let url: URL
    public let format: SubtitleFormat
    private let logger: Logger
    private let timeline = Locked(CaptionTimeline())
    private let lastFailure = Locked<String?>(nil)

    /// Why the last write of the file failed (a full disk, `/dev/full`), or nil when it holds every caption so far.
    /// Each write rewrites the whole file, so a later write that succeeds makes up for one that failed.
    public var failure: String? { lastFailure.withLock { $0 } }

    /// Creates the writer and writes an empty file right away, so an unwritable path fails at startup.
    public init(url: URL, format: SubtitleFormat, logger: Logger) throws {
        self.url = url
        self.format = format
        self.logger = logger
        do {
            try Self.write(SubtitleWriter.render([], format: format), to: url)
        } catch {
            throw CaptionError.unwritableSubtitles(path: url.path, reason: (error as NSError).localizedDescription)
        }
    }

    // MARK: - ResultSink

    public func consume(_ result: StreamResult) {
        guard case .caption(let caption) = result else { return }
        let text: String? = timeline.withLock { timeline in
            guard timeline.apply(caption) else { return nil }
            return Self.render(timeline.captions, format: format)
        }
        if let text { flush(text) }
    }

    public func finish() {
        flush(timeline.withLock { Self.render($0.captions, format: format) })
    }

    private func flush(_ text: String) {
        do {
            try Self.write(text, to: url)
            lastFailure.withLock { $0 = nil }
        } catch {
            let reason = (error as NSError).localizedDescription
            logger.warning("cannot write subtitles \(url.path): \(reason)")
            lastFailure.withLock { $0 = reason }
        }
    }

    private static func write(_ text: String, to url: URL) throws {
        // Atomic (a new file renamed over the old) only for regular files: renaming over `/dev/stdout` or a fifo
        // would replace the device node or pipe with a plain file.
        var info = stat()
        let special = stat(url.path, &info) == 0 && info.st_mode & S_IFMT != S_IFREG
        try Data(text.utf8).write(to: url, options: special ? [] : .atomic)
    }

    // MARK: - Rendering

    /// The file text for `captions` (in any order; cues are sorted by start time).
    public static func render(_ captions: [Caption], format: SubtitleFormat) -> String {
        let multiStream = Set(captions.map(\.stream)).count > 1
        let sorted = captions.sorted { ($0.startPTS, $0.stream) < ($1.startPTS, $1.stream) }
        var out = format == .vtt ? "WEBVTT\n\n" : ""
        for (index, caption) in sorted.enumerated() {
            let end = caption.endPTS > caption.startPTS ? caption.endPTS : caption.startPTS + 1
            var text = caption.text.replacingOccurrences(of: "\n", with: " ")
            if multiStream { text = "[\(caption.stream)] " + text }
            if format == .vtt {
                text = text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
                    .replacingOccurrences(of: "-->", with: "→")
            }
            out += "\(index + 1)\n"
            out += "\(timestamp(caption.startPTS, format: format)) --> \(timestamp(end, format: format))\n"
            out += "\(text)\n\n"
        }
        return out
    }

    /// `01:02:03,456` (SRT) or `01:02:03.456` (VTT).
    public static func timestamp(_ seconds: Double, format: SubtitleFormat) -> String {
        let millis = Int((max(0, seconds) * 1000).rounded())
        let separator = format == .srt ? "," : "."
        let clock = String(format: "%02d:%02d:%02d", millis / 3_600_000, millis / 60_000 % 60, millis / 1000 % 60)
        return clock + separator + String(format: "%03d", millis % 1000)
    }
}
