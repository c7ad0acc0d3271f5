import CFFmpeg
import Foundation

/// An open `AVCodecContext` decoding one stream with the send/receive API; freed on deinit.
final class Decoder {
    private(set) var context: UnsafeMutablePointer<AVCodecContext>?

    /// Finds and opens the decoder for `stream` (`avcodec_find_decoder`, `avcodec_parameters_to_context`,
    /// `avcodec_open2`). With `keyframesOnly`, the decoder skips everything else (`skip_frame = AVDISCARD_NONKEY`).
    /// With `strict`, bitstream damage is an error (`err_detect = explode`) instead of being concealed. A picture of
    /// far more than `maxPixels` pixels is refused by the decoder before it is allocated (`max_pixels`, at
    /// `codedPixelLimit(maxPixels)`). A stream whose pictures, as its parameters declare them, need a plane larger
    /// than FFmpeg may allocate (``FFmpegRuntime/maxAllocation``) is refused here: it would decode to nothing.
    init(
        stream: UnsafeMutablePointer<AVStream>, threads: Int, keyframesOnly: Bool, strict: Bool = false,
        maxPixels: Int? = nil, input: String
    ) throws(VideoError) {
        let parameters = stream.pointee.codecpar!
        guard let codec = avcodec_find_decoder(parameters.pointee.codec_id) else {
            throw .unsupportedCodec(input: input, codec: String(cString: avcodec_get_name(parameters.pointee.codec_id)))
        }
        if let bytes = Decoder.planeBytes(parameters.pointee), bytes > FFmpegRuntime.maxAllocation {
            let format = av_get_pix_fmt_name(AVPixelFormat(parameters.pointee.format)).map(String.init(cString:))
            let mib = String(format: "%.1f", Double(bytes) / Double(1 << 20))
            throw .cannotOpen(
                input: input,
                reason: "its \(parameters.pointee.width)×\(parameters.pointee.height) \(format ?? "?") pictures need "
                    + "\(mib) MiB each, more than the \(FFmpegRuntime.maxAllocation >> 20) MiB FFmpeg may allocate in "
                    + "one block; convert it to a smaller size or fewer bytes per pixel")
        }
        guard let ctx = avcodec_alloc_context3(codec) else { throw .cannotOpen(input: input, reason: "out of memory") }
        context = ctx
        if avcodec_parameters_to_context(ctx, parameters) < 0 {
            throw .cannotOpen(input: input, reason: "bad codec parameters")
        }
        ctx.pointee.pkt_timebase = stream.pointee.time_base
        ctx.pointee.thread_count = Int32(max(1, threads))
        if keyframesOnly { ctx.pointee.skip_frame = AVDISCARD_NONKEY }
        if let maxPixels { ctx.pointee.max_pixels = Int64(Decoder.codedPixelLimit(maxPixels)) }
        if strict { ctx.pointee.err_recognition |= AV_EF_EXPLODE | AV_EF_BUFFER | AV_EF_CRCCHECK }
        let opened = avcodec_open2(ctx, codec, nil)
        if opened < 0 {
            throw .cannotOpen(input: input, reason: "cannot open decoder: \(AVErrorCode(rawValue: opened))")
        }
    }

    deinit {
        avcodec_free_context(&context)
    }

    /// The `max_pixels` for pictures of at most `pixels` pixels: decoders check their coded size, padded to 16–128
    /// pixels a side (a 120 × 80 JPEG is 128 × 80 to the decoder), so twice the pixels and 64 K more. It stops the
    /// absurd sizes a damaged header declares; the exact limit is the caller's to check.
    static func codedPixelLimit(_ pixels: Int) -> Int {
        pixels >= Int(Int32.max) / 2 ? Int(Int32.max) : 2 * max(1, pixels) + (1 << 16)
    }

    /// The bytes of the largest buffer a decoder allocates for one picture in the stream's declared pixel format and
    /// size (a packed format's only plane, a planar one's first), with room for two alignment rows and its padding;
    /// nil when the parameters do not say.
    static func planeBytes(_ parameters: AVCodecParameters) -> Int? {
        guard parameters.format >= 0, parameters.width > 0, parameters.height > 0 else { return nil }
        var linesizes: (Int32, Int32, Int32, Int32) = (0, 0, 0, 0)
        let filled = withUnsafeMutableBytes(of: &linesizes) { raw in
            av_image_fill_linesizes(
                raw.baseAddress!.assumingMemoryBound(to: Int32.self), AVPixelFormat(parameters.format),
                parameters.width)
        }
        guard filled >= 0 else { return nil }
        let widest = max(linesizes.0, linesizes.1, linesizes.2, linesizes.3)
        return Int(widest) * (Int(parameters.height) + 2) + 4096
    }

    /// `avcodec_send_packet`; nil packet starts draining. Returns 0 or a negative AVERROR.
    func send(_ packet: UnsafeMutablePointer<AVPacket>?) -> Int32 {
        avcodec_send_packet(context, packet)
    }

    /// `avcodec_receive_frame`; 0, `AVERROR(EAGAIN)` (needs input), `AVERROR_EOF` (drained) or an error.
    func receive(_ frame: UnsafeMutablePointer<AVFrame>) -> Int32 {
        avcodec_receive_frame(context, frame)
    }

    /// `avcodec_flush_buffers`: forget buffered frames (after a seek or reconnect).
    func flush() {
        avcodec_flush_buffers(context)
    }

    /// The codec's short name (`h264`, `mjpeg`...).
    var codecName: String {
        String(cString: avcodec_get_name(context!.pointee.codec_id))
    }
}
