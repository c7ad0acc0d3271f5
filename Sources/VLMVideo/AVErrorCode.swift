import CFFmpeg

/// A libav* status code (a negative `AVERROR(...)` value), in the style of swift-system's `Errno`.
///
/// `tryAgain` and `endOfFile` are control flow in the send/receive decoding API, not failures; the other values
/// are failures that the module turns into a ``VideoError`` naming the input.
struct AVErrorCode: RawRepresentable, Hashable, Sendable, Error, CustomStringConvertible {
    var rawValue: Int32

    init(rawValue: Int32) {
        self.rawValue = rawValue
    }

    /// `AVERROR(EAGAIN)`: output is not available in this state; feed more input (or read output) first.
    static let tryAgain = AVErrorCode(rawValue: cffmpeg_averror_eagain())
    /// `AVERROR_EOF`: the end of the input or a fully drained decoder.
    static let endOfFile = AVErrorCode(rawValue: cffmpeg_averror_eof())
    /// `AVERROR_EXIT`: a blocking call was interrupted by our interrupt callback (cancel or timeout).
    static let exit = AVErrorCode(rawValue: cffmpeg_averror_exit())
    /// `AVERROR_INVALIDDATA`: the bytes are not what the demuxer or decoder expects (corrupt or truncated).
    static let invalidData = AVErrorCode(rawValue: cffmpeg_averror_invaliddata())
    /// `AVERROR_DECODER_NOT_FOUND`: this FFmpeg build has no decoder for the codec.
    static let decoderNotFound = AVErrorCode(rawValue: cffmpeg_averror_decoder_not_found())
    /// `AVERROR(ENOENT)`: no such file.
    static let noSuchFile = AVErrorCode(rawValue: cffmpeg_averror_enoent())
    /// `AVERROR(ENOMEM)` (ENOMEM is 12 on Linux and macOS): what the MP4 demuxer returns for a corrupt `moov` whose
    /// sizes ask for absurd allocations, so for a file it means damage far more often than a short machine.
    static let outOfMemory = AVErrorCode(rawValue: -12)
    /// `AVERROR(EINVAL)` (EINVAL is 22 on Linux and macOS): among others, what a decoder returns for a picture larger
    /// than its `max_pixels`.
    static let invalidArgument = AVErrorCode(rawValue: -22)
    /// `AVERROR(ETIMEDOUT)`: a network operation timed out.
    static let timedOut = AVErrorCode(rawValue: cffmpeg_averror_etimedout())

    /// The message `av_strerror` gives for this code ("No such file or directory", "Invalid data found ...").
    var description: String {
        var buffer = [CChar](repeating: 0, count: 256)
        av_strerror(rawValue, &buffer, buffer.count)
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
