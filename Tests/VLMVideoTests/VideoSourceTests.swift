import Foundation
import TestSupport
import Testing
import VLMCore

@testable import VLMVideo

@Suite("VideoSource on files")
struct VideoSourceTests {
    private func drain(_ source: VideoSource) throws -> [SampledFrame] {
        var frames: [SampledFrame] = []
        while let frame = try source.next() { frames.append(frame) }
        return frames
    }

    private func options(_ sampling: SamplingPolicy, size: Int = 64) -> VideoSourceOptions {
        var options = VideoSourceOptions()
        options.sampling = sampling
        options.imageSize = size
        return options
    }

    @Test("every frame's time is the container's presentation time (ffprobe)")
    func timesMatchFFprobe() throws {
        let expected = try probeFrames(megamind)
        let source = try VideoSource(.file(megamind.path), options: options(.every(1)))
        let frames = try drain(source)
        #expect(frames.count == expected.count)
        #expect(frames.count == 192)
        for (frame, reference) in zip(frames, expected) {
            #expect(abs(frame.frame.time.seconds - reference.time) < 1e-4)
            #expect(frame.isKeyframe == reference.key)
            #expect(frame.frame.time.wallClock == nil)
        }
        #expect(frames.map(\.frame.sequence) == Array(0..<frames.count))
    }

    @Test("stream info states codec, size, frame rate and duration")
    func streamInfo() throws {
        let info = try VideoSource(.file(plaza.path)).info
        #expect(info.codec == "h264")
        #expect(info.width == 768 && info.height == 576)
        #expect(abs((info.nominalFPS ?? 0) - 10) < 1e-6)
        #expect(abs((info.duration ?? 0) - 10) < 0.01)
        #expect(info.estimatedFrameCount == 100)
        #expect(!info.isLive && !info.hasAudio)
        #expect(try VideoSource(.file(megamind.path)).info.hasAudio)
    }

    @Test("fps sampling picks the first frame of each 1/N-second slot")
    func fpsSampling() throws {
        let all = try probeFrames(megamind).map(\.time)
        let frames = try drain(VideoSource(.file(megamind.path), options: options(.fps(2))))
        let times = frames.map(\.frame.time.seconds)
        #expect(times.count == 16)  // 8.008 s at 2 fps
        for (k, time) in times.enumerated() {
            let first = all.first { $0 >= Double(k) * 0.5 - 1e-3 }!
            #expect(abs(time - first) < 1e-4, "sample \(k)")
        }
    }

    @Test("every-N sampling takes decoded frames 0, N, 2N...")
    func everyNSampling() throws {
        let frames = try drain(VideoSource(.file(plaza.path), options: options(.every(7))))
        #expect(frames.map(\.frame.sequence) == Array(stride(from: 0, to: 100, by: 7)))
    }

    @Test("keyframe sampling returns exactly the keyframes")
    func keyframes() throws {
        let expected = try probeFrames(megamind).filter(\.key).map(\.time)
        let source = try VideoSource(.file(megamind.path), options: options(.keyframes))
        let frames = try drain(source)
        #expect(frames.count == expected.count)
        for (frame, time) in zip(frames, expected) { #expect(abs(frame.frame.time.seconds - time) < 1e-4) }
        #expect(source.decodedFrameCount == expected.count)  // non-key frames were never decoded
    }

    @Test("views: centre square then tiles, each S×S, with their boxes; luma and preview sizes")
    func viewsAndTiles() throws {
        var options = options(.every(50), size: 96)
        options.tiles = TileGrid(columns: 2, rows: 2)
        options.lumaSize = 16
        options.previewWidth = 320
        let frames = try drain(VideoSource(.file(plaza.path), options: options))
        #expect(frames.count == 2)
        let frame = try #require(frames.first)
        #expect(frame.frame.views.count == 5)
        #expect(frame.frame.views.allSatisfy { $0.image.width == 96 && $0.image.height == 96 })
        #expect(frame.frame.views[0].box == .full)
        // 768x576 in 2x2: cells 384x288, tiles are 384-pixel squares.
        let boxes = frame.frame.views.dropFirst().map(\.box)
        #expect(boxes[0] == Box(x: 0, y: 0, width: 0.5, height: 384.0 / 576))
        #expect(boxes[3] == Box(x: 0.5, y: 192.0 / 576, width: 0.5, height: 384.0 / 576))
        #expect(frame.frame.luma.count == 16 * 16)
        #expect(frame.preview?.width == 320 && frame.preview?.height == 240)
        // The views are real pictures, not blank buffers.
        let pixels = frame.frame.views[0].image.pixels
        #expect(Set(pixels).count > 50)
    }

    /// The first frame of `url` (768×576) as ffmpeg's one-pass scale with the encoder views' flags and a centre crop
    /// computes it, RGB24. ffmpeg's scale filter takes the frame's own matrix and range.
    private func ffmpegCentreView(_ url: URL) throws -> [UInt8] {
        let flags = "bicubic+accurate_rnd+full_chroma_int+full_chroma_inp"
        return try runToolBytes(
            "ffmpeg",
            [
                "-v", "error", "-i", url.path, "-vf", "scale=298:224:flags=\(flags),crop=224:224:37:0", "-frames:v",
                "1",
                "-f", "rawvideo", "-pix_fmt", "rgb24", "-",
            ])
    }

    @Test("the 224 view is CLIP's resize-shortest-side + centre-crop, as ffmpeg's own scale+crop computes it")
    func centreViewMatchesFFmpeg() throws {
        let expected = try ffmpegCentreView(plaza)
        let frame = try #require(try VideoSource(.file(plaza.path)).next())
        let view = frame.frame.views[0].image
        #expect(view.width == 224 && view.height == 224 && expected.count == view.pixels.count)
        var total = 0
        var worst = 0
        for (a, b) in zip(view.pixels, expected) {
            let d = abs(Int(a) - Int(b))
            total += d
            worst = max(worst, d)
        }
        #expect(Double(total) / Double(expected.count) < 0.5)
        #expect(worst <= 8)
    }

    /// The encoder views of YUV pictures are scaled in 16-bit 4:4:4 YUV and then converted to RGB; each layout, range
    /// and matrix must give ffmpeg's one-pass picture. Measured mean |Δ| ≤ 0.008 levels and p99 0 for the five YUV
    /// ones; reading a range or matrix wrongly costs 1.9 (BT.601 for BT.709) to 7.6 (limited for full range) mean, p99
    /// 7–17. Grey pictures take one pass; untagged they are full range, as swscale and ffmpeg take them (limited cost
    /// 6.7 levels), and a limited tag is honoured. RGB and palette pictures have neither matrix nor range.
    @Test(
        "YUV, grey and RGB pictures of other layouts, ranges and matrices give the 224 view ffmpeg computes",
        arguments: [
            ("yuvj420p", "avi", ["-c:v", "mjpeg", "-q:v", "2"]),  // full range, BT.601
            ("yuv420p10le", "mkv", ["-c:v", "libx264", "-colorspace", "bt709"]),  // 10 bits, BT.709
            ("yuv444p", "mkv", ["-c:v", "libx264", "-color_range", "pc", "-x264-params", "fullrange=on"]),
            ("nv12", "nut", ["-c:v", "rawvideo"]),  // semi-planar
            ("yuyv422", "nut", ["-c:v", "rawvideo"]),  // packed
            ("gray", "nut", ["-c:v", "rawvideo"]),  // grey: full range when untagged
            ("gray", "mkv", ["-c:v", "ffv1", "-color_range", "tv"]),  // grey tagged limited
            ("gray16le", "nut", ["-c:v", "rawvideo"]),  // 16-bit grey (thermal cameras), untagged
            ("bgr0", "nut", ["-c:v", "rawvideo"]),  // RGB: no matrix, no range
            ("rgb48le", "nut", ["-c:v", "rawvideo"]),
            ("pal8", "nut", ["-c:v", "rawvideo"]),
        ])
    func yuvLayoutsMatchFFmpeg(format: String, container: String, codec: [String]) throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let clip = dir.appendingPathComponent("clip.\(container)")
        try ffmpeg(["-i", plaza.path, "-frames:v", "2", "-pix_fmt", format] + codec + [clip.path])
        let expected = try ffmpegCentreView(clip)
        let view = try #require(try VideoSource(.file(clip.path)).next()).frame.views[0].image
        #expect(view.width == 224 && view.height == 224 && expected.count == view.pixels.count)
        let d = levelDifference(view.pixels, expected)
        #expect(d.mean <= 0.05 && d.p99 <= 1, "\(format): \(d)")
    }
}
