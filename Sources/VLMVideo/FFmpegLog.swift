import CFFmpeg
import Logging

/// Routes FFmpeg's own `av_log` messages into swift-log (label `ffmpeg`) instead of raw stderr.
///
/// FFmpeg's own errors become `debug` and warnings `trace`: what matters reaches the user as one ``VideoError``
/// line or our own `info` logs (undecodable packets, reconnects); the raw lines help when debugging.
enum FFmpegLog {
    static let logger = Logger(label: "ffmpeg")

    private static let installed: Void = {
        av_log_set_level(AV_LOG_WARNING)
        av_log_set_callback { avcl, level, format, arguments in
            guard level <= AV_LOG_WARNING, let format, let arguments else { return }
            var line = [CChar](repeating: 0, count: 1024)
            var printPrefix: Int32 = 1
            av_log_format_line2(avcl, level, format, arguments, &line, Int32(line.count), &printPrefix)
            let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            guard !text.isEmpty else { return }
            if level <= AV_LOG_ERROR {
                FFmpegLog.logger.debug("\(text)")
            } else {
                FFmpegLog.logger.trace("\(text)")
            }
        }
    }()

    /// Installs the callback once per process.
    static func install() {
        _ = installed
    }
}
