import Foundation
import TestSupport
import Testing
import VLMCore

@testable import VLMVideo

/// Rotated and mirrored video comes out upright: a clip marked with a display matrix (or remuxed by ffmpeg with a
/// rotation) gives the same views, tiles, boxes, luma, preview and thumbnails as the same frames turned by ffmpeg
/// itself and stored upright (FFV1, lossless, so the only difference left is where the turn happens).
///
/// Tolerance: VLMVideo scales the stored picture and turns the small result, ffmpeg turns the YUV planes before
/// scaling (4:2:0 chroma is sited differently after a turn): the encoder views may differ by mean |Δ| ≤ 0.1 and
/// p99 ≤ 2 levels (0–255; measured ≤ 0.016 and 1 on plaza). A view that is not turned is ≥ 10 levels off.
@Suite struct RotationTests {
    /// The 2×2 display matrix of each orientation, and the ffmpeg filter that shows it (fftools' autorotation).
    static let cases: [(matrix: [Int32], orientation: VideoOrientation, filter: String)] = [
        ([0, 1, -1, 0], VideoOrientation(rotation: 90), "transpose=clock"),
        ([-1, 0, 0, -1], VideoOrientation(rotation: 180), "hflip,vflip"),
        ([0, -1, 1, 0], VideoOrientation(rotation: 270), "transpose=cclock"),
        ([-1, 0, 0, 1], VideoOrientation(rotation: 0, mirrored: true), "hflip"),
        ([1, 0, 0, -1], VideoOrientation(rotation: 180, mirrored: true), "vflip"),
        ([0, 1, 1, 0], VideoOrientation(rotation: 90, mirrored: true), "transpose=cclock_flip"),
        ([0, -1, -1, 0], VideoOrientation(rotation: 270, mirrored: true), "transpose=clock_flip"),
    ]

    static func options() -> VideoSourceOptions {
        var options = VideoSourceOptions()
        options.sampling = .every(1)
        options.tiles = TileGrid(columns: 2, rows: 2)
        options.previewWidth = 160
        return options
    }

    static func firstFrame(_ url: URL) throws -> (SampledFrame, StreamInfo) {
        let source = try VideoSource(.file(url.path), options: options())
        return (try #require(try source.next()), source.info)
    }

    /// Plaza's first frames turned by `filter` and stored losslessly upright.
    static func upright(_ filter: String, in dir: URL) throws -> URL {
        let out = dir.appendingPathComponent("upright.mkv")
        try ffmpeg(["-i", plaza.path, "-vf", filter, "-frames:v", "2", "-c:v", "ffv1", out.path])
        return out
    }

    /// Every view, the luma thumbnail and the preview of `got` match `want`'s within the stated tolerance.
    static func expectSame(_ got: SampledFrame, _ want: SampledFrame, _ label: String) {
        #expect(got.sourceWidth == want.sourceWidth && got.sourceHeight == want.sourceHeight, "\(label)")
        #expect(got.frame.views.count == want.frame.views.count, "\(label)")
        for (g, w) in zip(got.frame.views, want.frame.views) {
            #expect(g.box == w.box && g.image.width == w.image.width && g.image.height == w.image.height, "\(label)")
            let d = levelDifference(g.image.pixels, w.image.pixels)
            #expect(d.mean <= 0.1 && d.p99 <= 2, "\(label) view \(g.box): mean \(d.mean), p99 \(d.p99)")
        }
        let luma = levelDifference(got.frame.luma, want.frame.luma)
        #expect(got.frame.luma.count == want.frame.luma.count && luma.mean <= 0.5, "\(label) luma: \(luma)")
        let preview = levelDifference(got.preview?.pixels ?? [], want.preview?.pixels ?? [1])
        #expect(got.preview?.width == want.preview?.width && got.preview?.height == want.preview?.height)
        // The preview is scaled with swscale's plain bilinear path, which upsamples chroma horizontally at half
        // resolution; after a quarter turn that axis is the other one, so the preview gets a looser bound (measured
        // 1.02 mean, p99 11 for the quarter turns; 0 for the others).
        #expect(preview.mean <= 1.5 && preview.p99 <= 12, "\(label) preview: \(preview)")
    }

    @Test("each display matrix (rotations and mirrors) gives the views of the frame ffmpeg turns the same way")
    func displayMatrices() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (plain, _) = try Self.firstFrame(plaza)
        for (matrix, orientation, filter) in Self.cases {
            let marked = dir.appendingPathComponent("marked.mp4")
            try? FileManager.default.removeItem(at: marked)
            try FileManager.default.copyItem(at: plaza, to: marked)
            try setDisplayMatrix(marked, a: matrix[0], b: matrix[1], c: matrix[2], d: matrix[3])
            let (got, info) = try Self.firstFrame(marked)
            #expect(info.orientation == orientation, "\(filter)")
            let (want, uprightInfo) = try Self.firstFrame(try Self.upright(filter, in: dir))
            #expect(info.width == uprightInfo.width && info.height == uprightInfo.height, "\(filter)")
            Self.expectSame(got, want, filter)
            // Not turning would have been caught: the unturned view is far from the turned one.
            let unturned = levelDifference(plain.frame.views[0].image.pixels, want.frame.views[0].image.pixels)
            #expect(unturned.mean >= 10, "\(filter): unturned view only \(unturned.mean) levels off")
        }
    }

    @Test(
        "a clip remuxed with ffmpeg's rotate flag gives the views of the frames ffmpeg's autorotation shows",
        arguments: [90, 180, 270])
    func remuxedWithRotation(degrees: Int) throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        // FFmpeg 5.1 has no -display_rotation; its rotate tag override writes the display matrix on stream copy.
        let rotated = dir.appendingPathComponent("rotated.mp4")
        try ffmpeg(["-i", plaza.path, "-c", "copy", "-metadata:s:v", "rotate=\(degrees)", rotated.path])
        // ffmpeg turns the frames itself (autorotation, on by default) and stores them upright.
        let shown = dir.appendingPathComponent("shown.mkv")
        try ffmpeg(["-i", rotated.path, "-frames:v", "2", "-c:v", "ffv1", shown.path])
        let (got, info) = try Self.firstFrame(rotated)
        let (want, shownInfo) = try Self.firstFrame(shown)
        #expect(!info.orientation.isIdentity && shownInfo.orientation.isIdentity)
        #expect(info.width == shownInfo.width && info.height == shownInfo.height)
        #expect(info.summary.contains("rotated"), "\(info.summary)")
        Self.expectSame(got, want, "rotate=\(degrees)")
        // Thumbnails follow the rotation too.
        let grabbed = try FrameGrabber.frame(input: rotated, at: 0, width: 160)
        let reference = try FrameGrabber.frame(input: shown, at: 0, width: 160)
        #expect(grabbed.image.width == reference.image.width && grabbed.image.height == reference.image.height)
        let d = levelDifference(grabbed.image.pixels, reference.image.pixels)
        #expect(d.mean <= 0.5 && d.p99 <= 4, "thumbnail: \(d)")
        // An exported clip keeps the flag.
        let clip = dir.appendingPathComponent("clip.mp4")
        try ClipExporter.export(input: rotated, from: 0, to: 1, output: clip)
        #expect(try VideoSource(.file(clip.path)).info.orientation == info.orientation)
    }

    @Test("an H.264 stream whose frames carry a display-orientation SEI (no container flag) is turned per frame")
    func frameDisplayMatrix() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        // MPEG-TS states no orientation; the SEI makes the decoder attach a display matrix to every frame, the
        // same matrix as `-metadata:s:v rotate=90` writes into an MP4 (a quarter turn counter-clockwise).
        let stream = dir.appendingPathComponent("sei.ts")
        try ffmpeg([
            "-i", plaza.path, "-c", "copy", "-bsf:v", "h264_metadata=display_orientation=insert:rotate=90", "-f",
            "mpegts", stream.path,
        ])
        let source = try VideoSource(.file(stream.path), options: Self.options())
        #expect(source.info.orientation.isIdentity)  // nothing known before the first frame
        let got = try #require(try source.next())
        #expect(source.info.orientation == VideoOrientation(rotation: 270))
        #expect(source.info.width == 576 && source.info.height == 768)
        let (want, _) = try Self.firstFrame(try Self.upright("transpose=cclock", in: dir))
        Self.expectSame(got, want, "SEI")
    }

    @Test("display matrices and rotate tags decide the orientation as ffmpeg's autorotation does")
    func decisions() {
        for (matrix, orientation, filter) in Self.cases {
            let m = [matrix[0] * 65536, matrix[1] * 65536, 0, matrix[2] * 65536, matrix[3] * 65536, 0, 0, 0, 1 << 30]
            #expect(VideoOrientation(displayMatrix: m) == orientation, "\(filter)")
        }
        #expect(VideoOrientation(displayMatrix: [65536, 0, 0, 0, 65536, 0, 0, 0, 1 << 30]) == .identity)
        // 45°: not a turn swscale can make.
        #expect(VideoOrientation(displayMatrix: [46341, 46341, 0, -46341, 46341, 0, 0, 0, 1 << 30]) == nil)
        #expect(VideoOrientation(displayMatrix: [0, 0, 0, 0, 0, 0, 0, 0, 0]) == nil)
        #expect(VideoOrientation(rotateTag: "90") == VideoOrientation(rotation: 90))
        #expect(VideoOrientation(rotateTag: "-90") == VideoOrientation(rotation: 270))
        #expect(VideoOrientation(rotateTag: "0") == nil && VideoOrientation(rotateTag: "sideways") == nil)
        #expect(VideoOrientation(rotateTag: "450") == VideoOrientation(rotation: 90))
        // Finite, and beyond any Int: refused, not a trap.
        #expect(VideoOrientation(rotateTag: "1e300") == nil && VideoOrientation(rotateTag: "-1e300") == nil)
        #expect(VideoOrientation(rotateTag: "inf") == nil && VideoOrientation(rotateTag: "nan") == nil)
        #expect(VideoOrientation(rotation: 90).description == "rotated 90° clockwise")
    }

    @Test("turning a small picture: each orientation puts the stored corners where a player shows them")
    func pixelMapping() {
        // Stored 3×2, one grey level per pixel: 0 1 2 / 3 4 5.
        let stored: [UInt8] = [0, 1, 2, 3, 4, 5]
        func shown(_ o: VideoOrientation) -> [UInt8] {
            let (w, h) = o.displayedSize(width: 3, height: 2)
            return stored.withUnsafeBufferPointer {
                o.window(
                    PixelRegion(x: 0, y: 0, width: w, height: h), of: $0, storedWidth: 3, storedHeight: 2, channels: 1)
            }
        }
        #expect(shown(.identity) == [0, 1, 2, 3, 4, 5])
        #expect(shown(VideoOrientation(rotation: 90)) == [3, 0, 4, 1, 5, 2])
        #expect(shown(VideoOrientation(rotation: 180)) == [5, 4, 3, 2, 1, 0])
        #expect(shown(VideoOrientation(rotation: 270)) == [2, 5, 1, 4, 0, 3])
        #expect(shown(VideoOrientation(rotation: 0, mirrored: true)) == [2, 1, 0, 5, 4, 3])
        #expect(shown(VideoOrientation(rotation: 90, mirrored: true)) == [0, 3, 1, 4, 2, 5])
        // A window reaching outside is black there.
        let padded = stored.withUnsafeBufferPointer {
            VideoOrientation.identity.window(
                PixelRegion(x: -1, y: 0, width: 2, height: 1), of: $0, storedWidth: 3, storedHeight: 2, channels: 1)
        }
        #expect(padded == [0, 0])
        #expect(
            VideoOrientation(rotation: 90).storedRegion(
                PixelRegion(x: 0, y: 0, width: 1, height: 3), width: 2, height: 3)
                == PixelRegion(x: 0, y: 1, width: 3, height: 1))
    }
}
