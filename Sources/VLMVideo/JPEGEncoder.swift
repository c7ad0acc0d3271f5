import CFFmpeg
import Foundation
import VLMCore

/// JPEG encoding with libavcodec's `mjpeg` encoder (baseline JPEG, 4:2:0 full-range `yuvj420p`).
public enum JPEGEncoder {
    /// Quantiser scales tried in order (2 is best quality, 31 worst) while looking for a size that fits.
    static let qualityLadder: [Int32] = [3, 4, 5, 7, 9, 12, 16, 21, 26, 31]

    /// Encodes `image` as JPEG; with `maxBytes`, lowers quality (then halves the size) until the data fits.
    ///
    /// Throws ``VideoError/cannotWrite(output:reason:)`` if even a 16-pixel-wide version is too large, and
    /// ``VideoError/invalidRequest(_:)`` for an empty image.
    public static func encode(_ image: RGBImage, maxBytes: Int? = nil) throws(VideoError) -> Data {
        try FFmpegRuntime.install()
        guard image.width > 0, image.height > 0 else { throw .invalidRequest("cannot JPEG-encode an empty image") }
        var current = image
        while true {
            for q in qualityLadder {
                let data = try encode(current, qscale: q)
                if data.count <= maxBytes ?? Int.max { return data }
            }
            guard current.width >= 32, current.height >= 32 else {
                throw .cannotWrite(
                    output: "JPEG",
                    reason: "cannot fit a \(image.width)x\(image.height) image in "
                        + "\(maxBytes ?? 0) bytes; raise the size limit")
            }
            current = try resize(current, width: current.width / 2, height: current.height / 2)
        }
    }

    /// One encode at quantiser scale `qscale` (2...31).
    static func encode(_ image: RGBImage, qscale: Int32) throws(VideoError) -> Data {
        guard let codec = avcodec_find_encoder(AV_CODEC_ID_MJPEG) else {
            throw .cannotWrite(output: "JPEG", reason: "this FFmpeg build has no mjpeg encoder")
        }
        var context: UnsafeMutablePointer<AVCodecContext>? = avcodec_alloc_context3(codec)
        var frame: UnsafeMutablePointer<AVFrame>? = av_frame_alloc()
        var packet: UnsafeMutablePointer<AVPacket>? = av_packet_alloc()
        defer {
            avcodec_free_context(&context)
            av_frame_free(&frame)
            av_packet_free(&packet)
        }
        guard let ctx = context, let frame, let packet else {
            throw .cannotWrite(output: "JPEG", reason: "out of memory")
        }
        ctx.pointee.width = Int32(image.width)
        ctx.pointee.height = Int32(image.height)
        ctx.pointee.pix_fmt = AV_PIX_FMT_YUVJ420P
        ctx.pointee.time_base = AVRational(num: 1, den: 25)
        ctx.pointee.flags |= AV_CODEC_FLAG_QSCALE
        ctx.pointee.global_quality = FF_QP2LAMBDA * qscale
        guard avcodec_open2(ctx, codec, nil) >= 0 else {
            throw .cannotWrite(
                output: "JPEG", reason: "cannot open the mjpeg encoder for \(image.width)x\(image.height)")
        }
        frame.pointee.width = ctx.pointee.width
        frame.pointee.height = ctx.pointee.height
        frame.pointee.format = AV_PIX_FMT_YUVJ420P.rawValue
        frame.pointee.quality = ctx.pointee.global_quality
        frame.pointee.pts = 0
        guard av_frame_get_buffer(frame, 0) >= 0 else { throw .cannotWrite(output: "JPEG", reason: "out of memory") }
        try RGBFrames.scale(image, into: frame)
        guard avcodec_send_frame(ctx, frame) >= 0, avcodec_send_frame(ctx, nil) >= 0,
            avcodec_receive_packet(ctx, packet) >= 0
        else {
            throw .cannotWrite(output: "JPEG", reason: "the mjpeg encoder failed")
        }
        return Data(bytes: packet.pointee.data, count: Int(packet.pointee.size))
    }

    /// `image` resampled to `width`×`height` (area averaging), for shrinking thumbnails.
    static func resize(_ image: RGBImage, width: Int, height: Int) throws(VideoError) -> RGBImage {
        let frame = try RGBFrames.wrap(image)
        defer {
            var f: UnsafeMutablePointer<AVFrame>? = frame
            av_frame_free(&f)
        }
        let pixels = try FrameConverter().convert(frame, to: width, height, format: AV_PIX_FMT_RGB24, flags: SWS_AREA)
        return RGBImage(width: width, height: height, pixels: pixels)
    }
}

/// Moving ``RGBImage`` pixels in and out of `AVFrame`s.
enum RGBFrames {
    /// A new RGB24 `AVFrame` holding a copy of `image` (free with `av_frame_free`).
    static func wrap(_ image: RGBImage) throws(VideoError) -> UnsafeMutablePointer<AVFrame> {
        guard let frame = av_frame_alloc() else { throw .invalidRequest("out of memory") }
        frame.pointee.width = Int32(image.width)
        frame.pointee.height = Int32(image.height)
        frame.pointee.format = AV_PIX_FMT_RGB24.rawValue
        guard av_frame_get_buffer(frame, 0) >= 0 else {
            var f: UnsafeMutablePointer<AVFrame>? = frame
            av_frame_free(&f)
            throw .invalidRequest("out of memory")
        }
        let rowBytes = image.width * 3
        let stride = Int(frame.pointee.linesize.0)
        image.pixels.withUnsafeBufferPointer { source in
            for row in 0..<image.height {
                (frame.pointee.data.0! + row * stride).update(
                    from: source.baseAddress! + row * rowBytes, count: rowBytes)
            }
        }
        return frame
    }

    /// Converts `image` into the already allocated `frame` (its own size and pixel format) with swscale.
    static func scale(_ image: RGBImage, into frame: UnsafeMutablePointer<AVFrame>) throws(VideoError) {
        let format = AVPixelFormat(rawValue: frame.pointee.format)
        guard
            let context = sws_getContext(
                Int32(image.width), Int32(image.height), AV_PIX_FMT_RGB24, frame.pointee.width, frame.pointee.height,
                format, SWS_BICUBIC | SWS_ACCURATE_RND, nil, nil, nil)
        else { throw .invalidRequest("swscale cannot convert RGB to \(frame.pointee.format)") }
        defer { sws_freeContext(context) }
        image.pixels.withUnsafeBufferPointer { source in
            var sourceData: [UnsafePointer<UInt8>?] = [source.baseAddress, nil, nil, nil]
            var sourceStride: [Int32] = [Int32(image.width * 3), 0, 0, 0]
            withUnsafePointer(to: &frame.pointee.data) { data in
                data.withMemoryRebound(to: UnsafeMutablePointer<UInt8>?.self, capacity: 8) { dst in
                    withUnsafePointer(to: &frame.pointee.linesize) { linesize in
                        linesize.withMemoryRebound(to: Int32.self, capacity: 8) { dstStride in
                            _ = sws_scale(context, &sourceData, &sourceStride, 0, Int32(image.height), dst, dstStride)
                        }
                    }
                }
            }
        }
    }
}
