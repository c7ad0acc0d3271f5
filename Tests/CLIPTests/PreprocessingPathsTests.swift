import CLIP
import Foundation
import TestSupport
import Testing
import VLMCore
import VLMVideo

/// One preprocessing description (preprocessor_config.json) drives both image paths: a still image through
/// `CLIPImagePreprocessor` (PIL-exact resampling) and a video frame through VLMVideo's one swscale pass must come
/// out with the same geometry.
///
/// The still is the same decoded frame at full size (`FrameGrabber`, same YUV → RGB conversion as the views), so
/// the only difference left is the resampler: swscale's against PIL's. Tolerances: mean |Δ| ≤ 0.6 levels and
/// 99th percentile ≤ 6 levels (0–255), the figures docs/video.md states for the one-pass view on plaza. A view
/// with the wrong geometry (crop straight after a 224 resize, as the video path did before) is ≥ 5 levels off on
/// average, so these tests tell the two apart.
@Suite struct PreprocessingPathsTests {
    static let plaza = Fixtures.sampleVideo("plaza.mp4")

    static func description(_ name: String) throws -> ImagePreprocessing {
        try CLIPImagePreprocessor(configFile: Fixtures.url("preprocess/\(name)"))
    }

    /// The first frame of plaza as the video path's encoder view under `preprocessing`.
    static func videoView(_ preprocessing: ImagePreprocessing) throws -> RGBImage {
        var options = VideoSourceOptions()
        options.preprocessing = preprocessing
        options.sampling = .every(1)
        let source = try VideoSource(.file(plaza.path), options: options)
        return try #require(try source.next()).frame.views[0].image
    }

    /// The first frame of plaza as a full-size still.
    static func still() throws -> RGBImage {
        try FrameGrabber.frame(input: plaza, at: 0).image
    }

    /// Mean and 99th percentile of |a − b| over all values.
    static func difference(_ a: RGBImage, _ b: RGBImage) -> (mean: Double, p99: Int) {
        let d = zip(a.pixels, b.pixels).map { abs(Int($0) - Int($1)) }.sorted()
        let mean = Double(d.reduce(0, +)) / Double(max(1, d.count))
        return (mean, d.isEmpty ? 0 : d[d.count * 99 / 100])
    }

    @Test("shortest_edge 256 with a 224 crop: the still and the video frame get the same resize and window")
    func shortestEdgeDiffersFromCrop() throws {
        let pre = try Self.description("shortest256-crop224.json")
        #expect(pre.size == .shortestEdge(256) && pre.outputSize == (224, 224))
        // 768×576 → 341×256, window (58, 16) 224×224.
        let g = pre.geometry(width: 768, height: 576)
        #expect(
            g == .init(resizedWidth: 341, resizedHeight: 256, cropX: 58, cropY: 16, cropWidth: 224, cropHeight: 224))
        let still = try Self.still()
        let video = try Self.videoView(pre)
        let reference = pre.resizeAndCrop(still)
        #expect(video.width == 224 && video.height == 224 && reference.width == 224 && reference.height == 224)
        let same = Self.difference(video, reference)
        #expect(same.mean <= 0.6 && same.p99 <= 6, "video vs still: mean \(same.mean), p99 \(same.p99)")
        // The old assumption (shortest edge = crop) is a different picture.
        let wrong = Self.difference(try Self.videoView(.clip(side: 224)), reference)
        #expect(wrong.mean >= 5, "224-resize view vs 256-resize still: mean \(wrong.mean)")
    }

    @Test("tiles follow the description too: each tile region is resized and cropped like a still of it")
    func tilesFollowTheDescription() throws {
        let pre = try Self.description("shortest256-crop224.json")
        var options = VideoSourceOptions()
        options.preprocessing = pre
        options.sampling = .every(1)
        options.tiles = TileGrid(columns: 2, rows: 2)
        let frame = try #require(try VideoSource(.file(Self.plaza.path), options: options).next())
        let still = try Self.still()
        let regions = ViewLayout.tiles(TileGrid(columns: 2, rows: 2), width: still.width, height: still.height)
        #expect(frame.frame.views.count == 5)
        for (view, region) in zip(frame.frame.views.dropFirst(), regions) {
            var pixels: [UInt8] = []
            for y in region.y..<region.y + region.height {
                let start = (y * still.width + region.x) * 3
                pixels += still.pixels[start..<start + region.width * 3]
            }
            let tile = RGBImage(width: region.width, height: region.height, pixels: pixels)
            let reference = pre.resizeAndCrop(tile)
            #expect(view.image.width == 224 && view.image.height == 224 && reference.width == 224)
            let d = Self.difference(view.image, reference)  // measured ≤ 0.44, p99 ≤ 6
            #expect(d.mean <= 0.6 && d.p99 <= 6, "tile \(region): mean \(d.mean), p99 \(d.p99)")
        }
    }

    @Test("a direct bilinear resize to height × width without a crop (SigLIP's) works on both paths")
    func directResize() throws {
        let pre = try Self.description("direct224-bilinear.json")
        #expect(!pre.doCenterCrop && pre.resample == .bilinear && pre.size == .exact(height: 224, width: 224))
        #expect(pre.mean == [0.5, 0.5, 0.5] && pre.doConvertRGB)
        let still = try Self.still()
        let video = try Self.videoView(pre)
        let reference = pre.resizeAndCrop(still)
        #expect(video.width == 224 && video.height == 224 && reference.width == 224 && reference.height == 224)
        let same = Self.difference(video, reference)
        #expect(same.mean <= 0.6 && same.p99 <= 6, "video vs still: mean \(same.mean), p99 \(same.p99)")
        // A centre crop would keep only the middle 4:3 → 1:1 part: far from the squeezed whole frame.
        let wrong = Self.difference(try Self.videoView(.clip(side: 224)), reference)
        #expect(wrong.mean >= 5, "cropped view vs squeezed still: mean \(wrong.mean)")
    }

    /// tiny-clip copied into `dir` with preprocess/tiny-shortest40-crop32.json as its preprocessor_config.json.
    static func tinyClipShortest40Crop32(in dir: URL) throws -> CLIPModel {
        let model = dir.appendingPathComponent("tiny-clip")
        try FileManager.default.copyItem(at: Fixtures.url("tiny-clip"), to: model)
        let config = model.appendingPathComponent("preprocessor_config.json")
        try FileManager.default.removeItem(at: config)
        try FileManager.default.copyItem(at: Fixtures.url("preprocess/tiny-shortest40-crop32.json"), to: config)
        return try CLIPModel.load(directory: model)
    }

    @Test("tiny-clip with shortest_edge 40 and crop 32: the embedding of a video frame matches the still's")
    func embeddingsMatch() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let clip = try Self.tinyClipShortest40Crop32(in: dir)
        #expect(clip.preprocessing.size == .shortestEdge(40) && clip.preprocessing.outputSize == (32, 32))
        let video = try Self.videoView(clip.preprocessing)
        let embeddings = try clip.encode(images: [video, try Self.still()])
        let cosine = zip(embeddings[0].values, embeddings[1].values).map { $0 * $1 }.reduce(0, +)
        #expect(cosine >= 0.995, "cosine \(cosine)")
    }

    @Test("a still already at the crop size is still resized and cropped when shortest_edge says so")
    func stillAtCropSizeIsPreprocessed() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let clip = try Self.tinyClipShortest40Crop32(in: dir)
        // A 32×32 picture: transformers resizes it to 40×40 and crops the middle 32×32.
        var rng = SplitMix64(seed: 3)
        let pixels = (0..<(32 * 32 * 3)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        let still = RGBImage(width: 32, height: 32, pixels: pixels)
        let reference = try clip.vision.encode(pixelValues: clip.preprocessor.pixelValues(still), batch: 1)[0]
        let asStill = try clip.encode(stills: [still])[0]
        #expect(asStill.values == reference.values)
        // Taken as an encoder view (the video stage's frames), the same pixels are only normalised: another input.
        let asView = try clip.encode(images: [still])[0]
        #expect(asView.values != reference.values)
    }

    @Test("configs whose output size is not fixed are refused with a line naming the file")
    func variableOutputRefused() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("preprocessor_config.json")
        try Data(#"{"size": {"shortest_edge": 224}, "do_center_crop": false}"#.utf8).write(to: file)
        let error = try #require(throws: CLIPLoadError.self) { try CLIPImagePreprocessor(configFile: file) }
        #expect(error.description.contains("preprocessor_config.json") && error.description.contains("do_center_crop"))
        var options = VideoSourceOptions()
        options.preprocessing = ImagePreprocessing(
            size: .shortestEdge(224), cropHeight: 224, cropWidth: 224, doCenterCrop: false)
        #expect(throws: VideoError.self) { try VideoSource(.file(Self.plaza.path), options: options) }
    }
}
