import CFFmpeg
import Foundation
import VLMCore

/// Single frames of a video file at a given time (for thumbnails of search hits and events).
public enum FrameGrabber {
    /// The first frame shown at or after `seconds` (the last frame if `seconds` is past the end), as RGB scaled
    /// to `width` pixels wide (aspect preserved, never upscaled); nil width keeps the full size. The picture is
    /// turned upright as the stream's display matrix or `rotate` tag says.
    public static func frame(input: URL, at seconds: Double, width: Int? = nil) throws(VideoError) -> RGBImageFrame {
        try FFmpegRuntime.install()
        let demuxer = try Demuxer(input: .file(input.path))
        guard let index = demuxer.bestStream(AVMEDIA_TYPE_VIDEO) else { throw .noVideoStream(input: input.path) }
        let stream = demuxer.stream(index)
        let decoder = try Decoder(stream: stream, threads: 2, keyframesOnly: false, input: input.path)
        let base = stream.pointee.time_base
        let origin = stream.pointee.start_time != cffmpeg_nopts_value() ? stream.pointee.start_time : 0
        let target = origin + Int64((max(0, seconds) / av_q2d(base)).rounded(.down))
        if seconds > 0 { _ = av_seek_frame(demuxer.formatContext, index, target, AVSEEK_FLAG_BACKWARD) }

        var packet: UnsafeMutablePointer<AVPacket>? = av_packet_alloc()
        var frame: UnsafeMutablePointer<AVFrame>? = av_frame_alloc()
        var kept: UnsafeMutablePointer<AVFrame>? = av_frame_alloc()
        defer {
            av_packet_free(&packet)
            av_frame_free(&frame)
            av_frame_free(&kept)
        }
        guard let packet, let frame, let kept else { throw .invalidRequest("out of memory") }
        var keptTime: Double?
        var draining = false
        decoding: while true {
            let received = decoder.receive(frame)
            if received >= 0 {
                let ts = frame.pointee.best_effort_timestamp
                let time = ts == cffmpeg_nopts_value() ? (keptTime ?? 0) : Double(ts - origin) * av_q2d(base)
                av_frame_unref(kept)
                av_frame_move_ref(kept, frame)
                keptTime = time
                if time >= seconds - 1e-6 { break decoding }
                continue
            }
            switch AVErrorCode(rawValue: received) {
            case .tryAgain where !draining:
                if demuxer.read(into: packet) != nil {
                    draining = true
                    _ = decoder.send(nil)
                    continue
                }
                if packet.pointee.stream_index == index { _ = decoder.send(packet) }
                av_packet_unref(packet)
            default:
                break decoding
            }
        }
        guard let keptTime else {
            throw .damaged(input: input.path, seconds: seconds, reason: "no frame could be decoded there")
        }
        // The displayed picture: the stored pixels turned by the stream's (or the frame's) orientation.
        let orientation =
            VideoOrientation.isStated(in: stream)
            ? VideoOrientation(stream: stream) : VideoOrientation(frame: kept) ?? .identity
        let (sourceWidth, sourceHeight) = orientation.displayedSize(
            width: Int(kept.pointee.width), height: Int(kept.pointee.height))
        let size =
            width.map { ViewLayout.previewSize(width: $0, frameWidth: sourceWidth, frameHeight: sourceHeight) }
            ?? (width: sourceWidth, height: sourceHeight)
        let stored = orientation.storedSize(width: size.width, height: size.height)
        let pixels = try FrameConverter().view(
            kept, scaledTo: stored.width, stored.height, orientation: orientation, format: AV_PIX_FMT_RGB24)
        return RGBImageFrame(
            image: RGBImage(width: size.width, height: size.height, pixels: pixels), seconds: keptTime)
    }
}

/// A grabbed frame and its presentation time.
public struct RGBImageFrame: Sendable {
    public var image: RGBImage
    /// Seconds from the start of the stream.
    public var seconds: Double
}

extension ClipExporter {
    /// A JPEG thumbnail (at most `maxBytes`) of the frame shown at `seconds`, `width` pixels wide.
    public static func thumbnail(
        input: URL, at seconds: Double, width: Int = 320, maxBytes: Int? = 64_000
    ) throws(VideoError) -> Data {
        let grabbed = try FrameGrabber.frame(input: input, at: seconds, width: width)
        return try JPEGEncoder.encode(grabbed.image, maxBytes: maxBytes)
    }
}
