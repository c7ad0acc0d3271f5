import CFFmpeg
import CFFmpegLoader
import Logging

/// FFmpeg's libraries and process-wide settings, loaded and made once before anything is opened: the libraries are
/// loaded (`cffmpeg_load`; vlm-stream does not link them), its own `av_log` messages go to swift-log (label
/// `ffmpeg`) instead of raw stderr, and its largest single allocation is capped at ``maxAllocation``.
///
/// FFmpeg's own errors become `debug` and warnings `trace`: what matters reaches the user as one ``VideoError``
/// line or our own `info` logs (undecodable packets, reconnects); the raw lines help when debugging.
enum FFmpegRuntime {
    static let logger = Logger(label: "ffmpeg")

    /// The most bytes FFmpeg may allocate in one block (`av_max_alloc`; FFmpeg's default is `INT_MAX`, 2 GiB).
    ///
    /// Demuxers size their tables from counts the file declares: a 2 KB fragmented MP4 whose `trun` declares 84 M
    /// samples made the MOV demuxer allocate 2.1 GB for its index and reach 2.7 GB resident before it failed. With
    /// the cap the allocation fails, the demuxer returns ENOMEM, and the file is refused as damaged.
    ///
    /// 256 MiB is the fuzz targets' limit for one allocation. It holds every plane of a planar frame of
    /// ``VideoSourceOptions``' default `maxFramePixels`, 8192 × 8192, up to 16 bits (128 MiB a plane); a packed
    /// picture of up to about 67 MP at 3 bytes a pixel (RGB), 67 MP less two rows at 4 (RGBA: PNG, lossless WebP
    /// with alpha), 44 MP at 6 and 33 MP at 8 (16-bit RGBA); and a stream's index of up to 10 M samples (24 bytes
    /// each, grown by 1/16: 90 hours at 30 frames per second). A stream whose pictures need a larger plane is refused
    /// when its decoder is opened (``Decoder/planeBytes(_:)``). A hostile file can still make a demuxer reserve up to
    /// the cap: the MP4 above declaring 10.5 M samples peaks at 400 MB resident.
    static let maxAllocation = 256 << 20

    /// nil once FFmpeg is loaded and set up; otherwise why it could not be loaded.
    private static let loadFailure: String? = {
        guard cffmpeg_load() == 0 else { return String(cString: cffmpeg_load_error()) }
        av_max_alloc(maxAllocation)
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
                FFmpegRuntime.logger.debug("\(text)")
            } else {
                FFmpegRuntime.logger.trace("\(text)")
            }
        }
        return nil
    }()

    /// Loads FFmpeg and makes the settings, once per process; every part of VLMVideo that opens, decodes or encodes
    /// calls it first. Throws ``VideoError/ffmpegUnavailable(reason:)`` when the libraries cannot be loaded.
    static func install() throws(VideoError) {
        if let loadFailure { throw .ffmpegUnavailable(reason: loadFailure) }
    }
}
