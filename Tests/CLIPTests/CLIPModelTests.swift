import Foundation
import TestSupport
import Testing
import VLMCore
import VLMVideo

@testable import CLIP

/// The whole Swift path (tokenizer / preprocessor → towers → projection → L2 norm) against transformers'
/// CLIPModel.get_text_features / get_image_features on the tiny checkpoint
/// (scripts/golden/make_embedding_goldens.py).
///
/// Tolerances: text and PIL-decoded images go through identical inputs, so only float32 summation order differs:
/// max |Δ| ≤ 2e-4 per component of a unit vector. A PNG decoded by FFmpeg is bit-identical to PIL's decode, so the
/// same bound holds. A JPEG decoded by FFmpeg differs from libjpeg (PIL) in IDCT and chroma upsampling — up to 65
/// uint8 steps at sharp colour edges of this image, 2.4 on average (measured by make_preprocess_goldens.py) — so
/// there we require cosine similarity ≥ 0.99 with the golden embedding instead.
@Suite struct CLIPModelTests {
    struct Golden: Decodable {
        struct Texts: Decodable {
            var texts: [String]
            var embeddings: [[Float]]
        }
        struct Images: Decodable {
            var files: [String]
            var embeddings: [[Float]]
        }
        var text: Texts
        var images: Images
        var logit_scale: Float
    }

    static let model: CLIPModel? = try? CLIPModel.load(directory: Fixtures.url("tiny-clip"))

    static func golden() throws -> Golden {
        try JSONDecoder().decode(Golden.self, from: Data(contentsOf: Fixtures.url("tiny-clip-embeddings.json")))
    }

    static func maxDiff(_ a: Embedding, _ b: [Float]) -> Float {
        zip(a.values, b).map { abs($0 - $1) }.max() ?? .infinity
    }

    static func cosine(_ a: Embedding, _ b: [Float]) -> Float { a.dot(Embedding(b)) }

    /// The PIL-decoded RGB bytes committed next to each image.
    static func pilDecoded(_ file: String) throws -> RGBImage {
        let goldens = try JSONDecoder().decode(
            PreprocessTests.Golden.self, from: Data(contentsOf: Fixtures.url("images/preprocess_goldens.json")))
        let entry = try #require(goldens.images.first { $0.file == file })
        let stem = (file as NSString).deletingPathExtension
        return try PreprocessTests.rgb("\(stem).rgb", width: entry.width, height: entry.height)
    }

    @Test func textEmbeddingsMatchTransformers() throws {
        let model = try #require(Self.model)
        let golden = try Self.golden()
        let got = try model.encode(texts: golden.text.texts)
        #expect(got.count == golden.text.embeddings.count)
        for (i, (g, want)) in zip(got, golden.text.embeddings).enumerated() {
            #expect(
                Self.maxDiff(g, want) < 2e-4, "text \(i) \(golden.text.texts[i].prefix(20)): \(Self.maxDiff(g, want))")
        }
        #expect(abs(model.logitScale - golden.logit_scale) < 1e-3)
        #expect(model.embeddingSize == 32 && model.imageSize == 32)
    }

    @Test func imageEmbeddingsMatchTransformersOnPILDecodedPixels() throws {
        let model = try #require(Self.model)
        let golden = try Self.golden()
        let images = try golden.images.files.map { try Self.pilDecoded($0) }
        let got = try model.encode(images: images)
        for (i, want) in golden.images.embeddings.enumerated() {
            #expect(Self.maxDiff(got[i], want) < 2e-4, "\(golden.images.files[i]): \(Self.maxDiff(got[i], want))")
        }
        // An image the video stage already scaled and cropped is only normalised: same embedding.
        let cropped = model.preprocessor.resizeAndCrop(images[0])
        let again = try model.encode(images: [cropped])
        #expect(Self.maxDiff(again[0], golden.images.embeddings[0]) < 2e-4)
    }

    @Test func imageEmbeddingsThroughFFmpegDecoding() throws {
        let model = try #require(Self.model)
        let golden = try Self.golden()
        for (file, want) in zip(golden.images.files, golden.images.embeddings) {
            let decoded = try ImageFile.decode(Fixtures.url("images/\(file)"))
            let got = try model.encode(images: [decoded])[0]
            if file.hasSuffix(".png") {
                #expect(decoded == (try Self.pilDecoded(file)))
                #expect(Self.maxDiff(got, want) < 2e-4)
            } else {
                #expect(Self.cosine(got, want) >= 0.99, "\(file): cosine \(Self.cosine(got, want))")
            }
        }
    }

    @Test func identityIsStableAndContentBased() throws {
        let model = try #require(Self.model)
        #expect(model.modelIdentity.hasPrefix("clip-vit-p8-32-w64-e32:"))
        let copy = try Fixtures.temporaryDirectory("clip-copy")
        defer { try? FileManager.default.removeItem(at: copy) }
        for file in HubCache.requiredFiles {
            try FileManager.default.copyItem(
                at: Fixtures.url("tiny-clip/\(file)"), to: copy.appendingPathComponent(file))
        }
        #expect(try CLIPModel.identity(of: copy, config: model.weights.config) == model.modelIdentity)
        var config = try String(contentsOf: copy.appendingPathComponent("config.json"), encoding: .utf8)
        config = config.replacingOccurrences(
            of: "\"logit_scale_init_value\": 2.6592", with: "\"logit_scale_init_value\": 2.6593")
        try config.write(to: copy.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        #expect(try CLIPModel.identity(of: copy, config: model.weights.config) != model.modelIdentity)
    }

    @Test func truncatedWeightsNameTheFile() throws {
        let copy = try Fixtures.temporaryDirectory("clip-trunc")
        defer { try? FileManager.default.removeItem(at: copy) }
        for file in HubCache.requiredFiles {
            try FileManager.default.copyItem(
                at: Fixtures.url("tiny-clip/\(file)"), to: copy.appendingPathComponent(file))
        }
        let weights = copy.appendingPathComponent("model.safetensors")
        let data = try Data(contentsOf: weights)
        try data.prefix(data.count / 2).write(to: weights)
        #expect {
            _ = try CLIPModel.load(directory: copy)
        } throws: { error in
            error is UserFacingError && "\(error)".contains("model.safetensors") && !"\(error)".contains("\n")
        }
    }
}
