import CFFmpeg
import Foundation
import VLMCore

/// Still images (JPEG, PNG, WebP, BMP, GIF, TIFF, PPM/PGM) as full-resolution RGB.
///
/// The format is told by the file's first bytes, and FFmpeg gets that image demuxer only: never a probe, which would
/// read a text playlist sent as a picture as HLS and open the local files it lists, or take any video's first frame.
///
/// Like PIL's `Image.open(...).convert("RGB")` in the CLIP reference, EXIF orientation is not applied and alpha
/// is dropped; CLIP preprocessing (resize, crop, normalise) is the caller's job.
public enum ImageFile {
    /// Largest picture accepted from the network (web uploads, MQTT image queries): 4096 × 4096 pixels, 48 MiB of
    /// RGB, checked on the header before decoding. A few hundred bytes of WebP or PNG can declare 16383 × 16383
    /// pixels, which would take 800 MB and seconds to decode and resize.
    public static let untrustedMaxPixels = 4096 * 4096

    /// Decodes the first picture of `url` into packed RGB24 at its own size.
    ///
    /// Throws ``VideoError/badImage(input:reason:)`` naming the file for a missing, unreadable, truncated or
    /// non-image file, and for a picture of more than `maxPixels` pixels (checked on its header, before decoding).
    public static func decode(_ url: URL, maxPixels: Int? = nil) throws(VideoError) -> RGBImage {
        try decode(url, name: url.path, maxPixels: maxPixels)
    }

    /// Decodes an image held in memory (an upload, a control message) from a private temporary file; errors name
    /// it `name`.
    public static func decode(bytes: [UInt8], name: String, maxPixels: Int? = nil) throws(VideoError) -> RGBImage {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("vlm-image-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: file) }
        guard
            FileManager.default.createFile(
                atPath: file.path, contents: Data(bytes), attributes: [.posixPermissions: 0o600])
        else {
            throw .badImage(
                input: name, reason: "could not write a temporary file in \(file.deletingLastPathComponent().path)")
        }
        return try decode(file, name: name, maxPixels: maxPixels)
    }

    private static func decode(_ url: URL, name: String, maxPixels: Int?) throws(VideoError) -> RGBImage {
        try FFmpegRuntime.install()
        let path = url.path
        let input = name
        guard FileManager.default.fileExists(atPath: path) else {
            throw .badImage(input: input, reason: "no such file; check the path")
        }
        guard let format = imageDemuxer(path) else {
            throw .badImage(input: input, reason: "not a JPEG, PNG, WebP, BMP, GIF, TIFF or PPM picture")
        }
        let demuxer: Demuxer
        do {
            demuxer = try Demuxer(
                input: .file(path), formatName: format, maxPixels: maxPixels ?? VideoSourceOptions().maxFramePixels)
        } catch {
            throw .badImage(input: input, reason: "not an image FFmpeg recognises")
        }
        guard let index = demuxer.bestStream(AVMEDIA_TYPE_VIDEO) else {
            throw .badImage(input: input, reason: "no picture in the file")
        }
        if let maxPixels {
            let header = demuxer.stream(index).pointee.codecpar.pointee
            try checkSize(Int(header.width), Int(header.height), maxPixels: maxPixels, input: input)
        }
        let decoder: Decoder
        do {
            decoder = try Decoder(
                stream: demuxer.stream(index), threads: 1, keyframesOnly: false, strict: true, maxPixels: maxPixels,
                input: path)
        } catch .cannotOpen(_, let reason) {
            throw .badImage(input: input, reason: reason)
        } catch {
            throw .badImage(input: input, reason: "\(error)")
        }
        let packet = av_packet_alloc()!
        var frame: UnsafeMutablePointer<AVFrame>? = av_frame_alloc()!
        defer {
            var p: UnsafeMutablePointer<AVPacket>? = packet
            av_packet_free(&p)
            av_frame_free(&frame)
        }
        // Feed packets until one picture comes out; at the end, drain.
        var sawPacket = false
        var failure = "no picture could be decoded"
        while true {
            let received = decoder.receive(frame!)
            if received >= 0 { break }
            guard AVErrorCode(rawValue: received) == .tryAgain else {
                throw .badImage(input: input, reason: sawPacket ? "truncated or corrupt (\(failure))" : failure)
            }
            if let end = demuxer.read(into: packet) {
                if end != .endOfFile { failure = end.description }
                _ = decoder.send(nil)
                continue
            }
            defer { av_packet_unref(packet) }
            guard packet.pointee.stream_index == index else { continue }
            sawPacket = true
            let sent = decoder.send(packet)
            if sent < 0 { failure = AVErrorCode(rawValue: sent).description }
            if let maxPixels, AVErrorCode(rawValue: sent) == .invalidArgument {
                // The header gave no size (it is read while decoding), and the decoder refused the picture's.
                throw .badImage(input: input, reason: "more than \(maxPixels) pixels; send a smaller picture")
            }
        }
        // The mjpeg decoder conceals a truncated file with grey; the flag tells us.
        if frame!.pointee.decode_error_flags != 0 || frame!.pointee.flags & AV_FRAME_FLAG_CORRUPT != 0 {
            throw .badImage(input: input, reason: "truncated or corrupt image data")
        }
        let width = Int(frame!.pointee.width)
        let height = Int(frame!.pointee.height)
        guard width > 0, height > 0 else { throw .badImage(input: input, reason: "empty picture") }
        if let maxPixels { try checkSize(width, height, maxPixels: maxPixels, input: input) }
        let pixels = try FrameConverter().convert(frame!, to: width, height, format: AV_PIX_FMT_RGB24)
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    /// FFmpeg's demuxer for the picture format that the file's signature names, or nil for anything else.
    static func imageDemuxer(_ path: String) -> String? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        let head = [UInt8]((try? handle.read(upToCount: 12)) ?? Data())
        func starts(_ signature: String) -> Bool { head.starts(with: Array(signature.utf8)) }
        if head.starts(with: [0xFF, 0xD8, 0xFF]) { return "jpeg_pipe" }
        if head.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return "png_pipe" }
        if starts("RIFF"), head.count == 12, Array(head[8..<12]) == Array("WEBP".utf8) { return "webp_pipe" }
        if starts("GIF87a") || starts("GIF89a") { return "gif" }
        if starts("BM") { return "bmp_pipe" }
        if head.starts(with: [0x49, 0x49, 0x2A, 0x00]) || head.starts(with: [0x4D, 0x4D, 0x00, 0x2A]) {
            return "tiff_pipe"
        }
        if starts("P6") { return "ppm_pipe" }
        if starts("P5") { return "pgm_pipe" }
        return nil
    }

    private static func checkSize(_ width: Int, _ height: Int, maxPixels: Int, input: String) throws(VideoError) {
        let (pixels, overflow) = width.multipliedReportingOverflow(by: height)
        guard !overflow, pixels <= maxPixels else {
            throw .badImage(
                input: input, reason: "\(width)x\(height) is more than \(maxPixels) pixels; send a smaller picture")
        }
    }
}
