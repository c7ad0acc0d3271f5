import CFFmpeg
import Foundation

/// An output `AVFormatContext` for stream copy: container chosen from the file extension.
final class Muxer {
    let output: URL
    private var context: UnsafeMutablePointer<AVFormatContext>?
    private var headerWritten = false
    private var finished = false

    /// `avformat_alloc_output_context2` guessing the container from `output`'s extension, and `avio_open`.
    init(output: URL) throws(VideoError) {
        self.output = output
        var ctx: UnsafeMutablePointer<AVFormatContext>? = nil
        guard avformat_alloc_output_context2(&ctx, nil, nil, output.path) >= 0, let ctx else {
            throw .cannotWrite(output: output.path, reason: "unknown container for this extension; use .mp4 or .mkv")
        }
        context = ctx
        if ctx.pointee.oformat.pointee.flags & AVFMT_NOFILE == 0 {
            let opened = avio_open(&ctx.pointee.pb, output.path, AVIO_FLAG_WRITE)
            guard opened >= 0 else {
                throw .cannotWrite(output: output.path, reason: AVErrorCode(rawValue: opened).description)
            }
        }
    }

    deinit {
        if let ctx = context {
            if headerWritten && !finished { av_write_trailer(ctx) }
            if ctx.pointee.oformat.pointee.flags & AVFMT_NOFILE == 0 { avio_closep(&ctx.pointee.pb) }
            avformat_free_context(ctx)
        }
    }

    /// Whether the container can hold `stream`'s codec (`avformat_query_codec`).
    func accepts(_ stream: UnsafeMutablePointer<AVStream>) -> Bool {
        avformat_query_codec(context!.pointee.oformat, stream.pointee.codecpar.pointee.codec_id, FF_COMPLIANCE_NORMAL)
            == 1
    }

    /// Adds an output stream with `stream`'s codec parameters (codec tag cleared so the muxer picks its own) and
    /// orientation.
    func addStream(copying stream: UnsafeMutablePointer<AVStream>) throws(VideoError) -> Int32 {
        guard let out = avformat_new_stream(context, nil) else {
            throw .cannotWrite(output: output.path, reason: "cannot add a stream")
        }
        guard avcodec_parameters_copy(out.pointee.codecpar, stream.pointee.codecpar) >= 0 else {
            throw .cannotWrite(output: output.path, reason: "cannot copy codec parameters")
        }
        out.pointee.codecpar.pointee.codec_tag = 0
        out.pointee.time_base = stream.pointee.time_base
        // Keep the display matrix (a phone clip stays upright) and the legacy `rotate` tag.
        var size = 0
        if let matrix = av_stream_get_side_data(stream, AV_PKT_DATA_DISPLAYMATRIX, &size), size > 0,
            let copy = av_stream_new_side_data(out, AV_PKT_DATA_DISPLAYMATRIX, size)
        {
            copy.update(from: matrix, count: size)
        }
        if let rotate = av_dict_get(stream.pointee.metadata, "rotate", nil, 0) {
            av_dict_set(&out.pointee.metadata, "rotate", rotate.pointee.value, 0)
        }
        return out.pointee.index
    }

    /// `avformat_write_header` (MP4/MOV get `+faststart`, so the clip plays while downloading).
    func writeHeader() throws(VideoError) {
        var options: OpaquePointer? = nil
        defer { av_dict_free(&options) }
        let name = String(cString: context!.pointee.oformat.pointee.name)
        if name == "mp4" || name == "mov" { av_dict_set(&options, "movflags", "+faststart", 0) }
        let ret = avformat_write_header(context, &options)
        guard ret >= 0 else {
            throw .cannotWrite(output: output.path, reason: AVErrorCode(rawValue: ret).description)
        }
        headerWritten = true
    }

    /// Rescales `packet`'s times from `base` to the output stream's time base and interleaves it.
    func write(_ packet: UnsafeMutablePointer<AVPacket>, from base: AVRational, to index: Int32) throws(VideoError) {
        let out = context!.pointee.streams[Int(index)]!
        packet.pointee.stream_index = index
        av_packet_rescale_ts(packet, base, out.pointee.time_base)
        packet.pointee.pos = -1
        let ret = av_interleaved_write_frame(context, packet)
        guard ret >= 0 else {
            throw .cannotWrite(output: output.path, reason: AVErrorCode(rawValue: ret).description)
        }
    }

    /// `av_write_trailer`.
    func finish() throws(VideoError) {
        finished = true
        let ret = av_write_trailer(context)
        guard ret >= 0 else {
            throw .cannotWrite(output: output.path, reason: AVErrorCode(rawValue: ret).description)
        }
    }
}
