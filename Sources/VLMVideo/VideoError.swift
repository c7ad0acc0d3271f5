import CFFmpeg
import VLMCore

/// What went wrong with a video, image or export, as one line for the person at the terminal.
///
/// Every case names the input it is about; `description` says what to do where there is something to do.
public enum VideoError: UserFacingError, Equatable {
    /// The input could not be opened (missing file, refused connection, unknown format...).
    case cannotOpen(input: String, reason: String)
    /// The input opened but has no video stream.
    case noVideoStream(input: String)
    /// The video stream's codec has no decoder in this FFmpeg build.
    case unsupportedCodec(input: String, codec: String)
    /// The data became unreadable at `seconds` (corrupt or truncated); frames before it were delivered.
    case damaged(input: String, seconds: Double, reason: String)
    /// An image file could not be decoded.
    case badImage(input: String, reason: String)
    /// Encoding (JPEG) or muxing (clip export) failed.
    case cannotWrite(output: String, reason: String)
    /// The arguments make no sense (a time range that is empty, a size that is zero...).
    case invalidRequest(String)
    /// FFmpeg's libraries, which are loaded when first needed, could not be loaded.
    case ffmpegUnavailable(reason: String)

    public var description: String {
        switch self {
        case .cannotOpen(let input, let reason):
            return "cannot open video '\(input)': \(reason)"
        case .noVideoStream(let input):
            return "'\(input)' has no video stream; give a video file, stream URL or camera device"
        case .unsupportedCodec(let input, let codec):
            return "'\(input)' uses codec '\(codec)', which this FFmpeg build cannot decode; "
                + "transcode it (e.g. ffmpeg -i IN -c:v libx264 OUT.mp4) or install a fuller FFmpeg"
        case .damaged(let input, let seconds, let reason):
            return "'\(input)' is damaged or truncated at \(MediaTime.format(seconds)) (\(reason)); "
                + "frames before that point were processed"
        case .badImage(let input, let reason):
            return "cannot read image '\(input)': \(reason)"
        case .cannotWrite(let output, let reason):
            return "cannot write '\(output)': \(reason)"
        case .invalidRequest(let message):
            return message
        case .ffmpegUnavailable(let reason):
            // Debian names the packages by the sonames' major versions, those of the headers vlm-stream was built with.
            return "cannot load FFmpeg's libraries (\(reason)); install them: apt-get install "
                + "libavformat\(LIBAVFORMAT_VERSION_MAJOR) libavcodec\(LIBAVCODEC_VERSION_MAJOR) "
                + "libswscale\(LIBSWSCALE_VERSION_MAJOR)"
        }
    }
}
