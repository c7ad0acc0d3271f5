import Foundation
import TestSupport
import Testing
import VLMCore

@testable import CLIP

/// `CLIPImagePreprocessor` against transformers' CLIPImageProcessorPil
/// (scripts/golden/make_preprocess_goldens.py), on the same decoded RGB bytes.
///
/// Tolerance: Pillow's resampling is integer arithmetic, so a faithful port gives identical uint8 crops; we allow
/// at most 1 uint8 step per value (≤ 1/255/std ≈ 0.0152 after normalisation) and assert the normalised values to
/// 1e-5 wherever the uint8 crop agrees.
@Suite struct PreprocessTests {
    struct Golden: Decodable {
        struct Config: Decodable {
            var crop_width: Int
            var crop_height: Int
            var pixel_values: [Float]?
        }
        struct Image: Decodable {
            var file: String
            var width: Int
            var height: Int
            var configs: [String: Config]
        }
        var images: [Image]
    }

    static func golden() throws -> Golden {
        let data = try Data(contentsOf: Fixtures.url("images/preprocess_goldens.json"))
        return try JSONDecoder().decode(Golden.self, from: data)
    }

    static func rgb(_ name: String, width: Int, height: Int) throws -> RGBImage {
        let bytes = try Data(contentsOf: Fixtures.url("images/\(name)"))
        return RGBImage(width: width, height: height, pixels: [UInt8](bytes))
    }

    static func preprocessor(_ config: String) throws -> CLIPImagePreprocessor {
        config == "tiny"
            ? try CLIPImagePreprocessor(configFile: Fixtures.url("tiny-clip/preprocessor_config.json"))
            : CLIPImagePreprocessor.openAI
    }

    @Test(arguments: ["tiny", "openai"])
    func cropMatchesPillow(config: String) throws {
        let pre = try Self.preprocessor(config)
        for image in try Self.golden().images {
            let stem = (image.file as NSString).deletingPathExtension
            let input = try Self.rgb("\(stem).rgb", width: image.width, height: image.height)
            let expected = try #require(image.configs[config])
            let want = try Self.rgb(
                "\(stem).\(config).crop.rgb", width: expected.crop_width,
                height: expected.crop_height)
            let got = pre.resizeAndCrop(input)
            #expect(got.width == want.width && got.height == want.height)
            let diffs = zip(got.pixels, want.pixels).map { abs(Int($0) - Int($1)) }
            let maxDiff = diffs.max() ?? 0
            let differing = diffs.filter { $0 > 0 }.count
            #expect(maxDiff <= 1, "\(image.file) \(config): max \(maxDiff) steps")
            #expect(differing == 0, "\(image.file) \(config): \(differing) of \(diffs.count) values off by one")
        }
    }

    @Test func pixelValuesMatchTransformers() throws {
        let pre = try Self.preprocessor("tiny")
        for image in try Self.golden().images {
            let stem = (image.file as NSString).deletingPathExtension
            let input = try Self.rgb("\(stem).rgb", width: image.width, height: image.height)
            let want = try #require(image.configs["tiny"]?.pixel_values)
            let got = pre.pixelValues(input)
            #expect(got.count == want.count)
            let maxDiff = zip(got, want).map { abs($0 - $1) }.max() ?? .infinity
            #expect(maxDiff < 1e-5, "\(image.file): max |Δ| \(maxDiff)")
        }
    }

    /// Only the crop window of the resized picture is computed; it must be exactly the same pixels as resizing the
    /// whole picture and cropping it, for every filter, both orientations, upscaling, downscaling and padding.
    @Test(arguments: [ImagePreprocessing.Resample.bicubic, .bilinear, .nearest])
    func windowedResizeEqualsFullResizeThenCrop(filter: ImagePreprocessing.Resample) throws {
        var pre = try Self.preprocessor("tiny")
        pre.resample = filter
        var generator = SplitMix64(seed: 7)
        for (width, height) in [(40, 30), (30, 40), (7, 300), (300, 7), (1, 90), (90, 1), (20, 20), (5, 3), (33, 32)] {
            let pixels = (0..<width * height * 3).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let image = RGBImage(width: width, height: height, pixels: pixels)
            let g = pre.geometry(width: width, height: height)
            let full = PILResampler.resize(image, width: g.resizedWidth, height: g.resizedHeight, filter: filter)
            let want = CLIPImagePreprocessor.centerCrop(full, height: pre.cropHeight, width: pre.cropWidth)
            #expect(pre.resizeAndCrop(image) == want, "\(width)x\(height) \(filter)")
        }
    }

    /// Found by the image-file fuzz target: a 1-pixel-high picture resized to a 32 px shortest edge is 32 × 32 × its
    /// width; resizing all of it before the crop took seconds and hundreds of MB.
    @Test func extremeAspectRatioCostsOnlyTheCrop() throws {
        let pre = try Self.preprocessor("tiny")
        let image = RGBImage(width: 60_000, height: 1, pixels: [UInt8](repeating: 200, count: 60_000 * 3))
        let crop = pre.resizeAndCrop(image)
        #expect(crop.width == pre.cropWidth && crop.height == pre.cropHeight)
        #expect(crop.pixels.allSatisfy { $0 == 200 })
    }

    @Test func configFormsAndSizes() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let old = dir.appendingPathComponent("old.json")
        try Data(#"{"size": 224, "crop_size": 224, "resample": 3}"#.utf8).write(to: old)
        let pre = try CLIPImagePreprocessor(configFile: old)
        #expect(pre == CLIPImagePreprocessor.openAI)
        #expect(pre.targetSize(height: 480, width: 640) == (224, 298))
        #expect(pre.targetSize(height: 147, width: 101) == (326, 224))
        let exact = dir.appendingPathComponent("exact.json")
        try Data(#"{"size": {"height": 64, "width": 48}, "do_center_crop": false}"#.utf8).write(to: exact)
        let e = try CLIPImagePreprocessor(configFile: exact)
        #expect(e.pixelValues(RGBImage(width: 10, height: 7)).count == 3 * 64 * 48)
        let bad = dir.appendingPathComponent("bad.json")
        try Data(#"{"resample": 9}"#.utf8).write(to: bad)
        #expect(throws: CLIPLoadError.self) { try CLIPImagePreprocessor(configFile: bad) }
    }

    @Test func centreCropPadsSmallImagesWithBlack() {
        let white = RGBImage(width: 3, height: 2, pixels: [UInt8](repeating: 255, count: 18))
        let cropped = CLIPImagePreprocessor.centerCrop(white, height: 4, width: 5)
        // top pad ceil(2/2) = 1, left pad ceil(2/2) = 1.
        #expect(cropped.pixels[(0 * 5 + 1) * 3] == 0)
        #expect(cropped.pixels[(1 * 5 + 1) * 3] == 255)
        #expect(cropped.pixels[(1 * 5 + 0) * 3] == 0)
        #expect(cropped.pixels[(2 * 5 + 3) * 3] == 255)
        #expect(cropped.pixels[(2 * 5 + 4) * 3] == 0)
    }
}
