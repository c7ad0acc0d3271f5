import Foundation
import TestSupport
import Testing
import VLMCore

@testable import CLIP

/// Loading SigLIP checkpoints: configuration, preprocessing, identity, and bad input (one line naming the file).
@Suite("SigLIP loading and bad input")
struct SigLIPLoadingTests {
    static let golden = Fixtures.url("tiny-siglip-golden")

    /// The message of the error `body` throws, which must be a one-line user-facing error.
    static func message(_ body: () throws -> Void) throws -> String {
        do {
            try body()
        } catch let error as any UserFacingError {
            #expect(!error.description.contains("\n"))
            return error.description
        }
        Issue.record("no error thrown")
        return ""
    }

    @Test("config.json: SigLIP defaults, sizes and the family")
    func config() throws {
        let config = try CLIPConfig.load(from: Fixtures.url("tiny-siglip/config.json"))
        #expect(config.family == .siglip)
        #expect(config.vision.tokens == 16)  // (32/8)², no class token
        #expect(config.vision.hiddenAct == .geluTanh && config.text.hiddenAct == .geluTanh)
        #expect(config.vision.layerNormEps == 1e-6)
        #expect(config.embeddingSize == 64)
        #expect(config.text.maxPositionEmbeddings == 64)
        // An absent model_type is CLIP, as before.
        #expect(try CLIPConfig.load(from: Fixtures.url("tiny-clip/config.json")).family == .clip)
        // A bare SigLIP config takes SiglipConfig()'s defaults (google/siglip-base-patch16-224).
        let bare = try JSONDecoder().decode(CLIPConfig.self, from: Data(#"{"model_type": "siglip"}"#.utf8))
        #expect(bare == CLIPConfig.siglipBase)
        #expect(bare.vision.tokens == 196 && bare.embeddingSize == 768)
    }

    @Test("identity names the family, so an index or cache never mixes CLIP and SigLIP")
    func identity() throws {
        let siglip = try CLIPModel.load(directory: Fixtures.url("tiny-siglip"))
        #expect(siglip.modelIdentity.hasPrefix("siglip-vit-p8-32-w64-e64:"))
        #expect(siglip.embeddingSize == 64)
        let clip = try CLIPModel.load(directory: Fixtures.url("tiny-clip"))
        #expect(clip.modelIdentity.hasPrefix("clip-vit-"))
        #expect(clip.logitBias == nil)
    }

    @Test("stills: a direct bicubic resize to the square size, no crop, as SiglipImageProcessor")
    func preprocessing() throws {
        let model = try CLIPModel.load(directory: Fixtures.url("tiny-siglip"))
        #expect(!model.preprocessor.doCenterCrop)
        let images = try #require(Golden.manifest(in: Self.golden)["tiny-siglip.preprocess.images"] as? [[String: Any]])
        #expect(images.count == 2)
        for entry in images {
            let stem = try #require(entry["stem"] as? String)
            let (width, height) = (try #require(entry["width"] as? Int), try #require(entry["height"] as? Int))
            let bytes = try Data(contentsOf: Fixtures.url("images/\(stem).rgb"))
            let image = RGBImage(width: width, height: height, pixels: [UInt8](bytes))
            let want = try Golden.tensor("tiny-siglip.preprocess.\(stem)", in: Self.golden)
            #expect(want.shape == [3, 32, 32])
            let got = model.preprocessor.pixelValues(image)
            // PIL-exact resampling: identical bytes, so float rounding only (one uint8 step would be 2/255).
            let error = Golden.maxAbsDifference(got, want.values)
            #expect(error <= 1e-5, "\(stem): max |Δ| \(error)")
        }
    }

    @Test("unknown model_type: one line naming config.json")
    func unknownModelType() throws {
        let directory = try Fixtures.copy("tiny-siglip")
        let url = directory.appendingPathComponent("config.json")
        for type in ["blip", "siglip2"] {
            let text = try String(contentsOf: url, encoding: .utf8)
                .replacingOccurrences(of: #""model_type": "siglip","#, with: #""model_type": "\#(type)","#)
            try text.write(to: url, atomically: true, encoding: .utf8)
            let message = try Self.message { _ = try CLIPModel.load(directory: directory) }
            #expect(message.hasPrefix("config.json: "))
            #expect(message.contains("\"\(type)\" is not supported"))
            try FileManager.default.removeItem(at: url)
            try FileManager.default.copyItem(at: Fixtures.url("tiny-siglip/config.json"), to: url)
        }
    }

    @Test("a tokenizer file that is not a SentencePiece model: one line naming it")
    func corruptTokenizer() throws {
        for (model, file) in [("tiny-siglip", "spiece.model"), ("tiny-siglip2", "tokenizer.model")] {
            let directory = try Fixtures.copy(model)
            let url = directory.appendingPathComponent(file)
            try Data("this is not a model\n".utf8).write(to: url)
            let message = try Self.message { _ = try CLIPModel.load(directory: directory) }
            #expect(message.hasPrefix(url.path + ": "), "\(message)")
            #expect(message.contains("not a SentencePiece model"))
            try FileManager.default.removeItem(at: url)
            let missing = try Self.message { _ = try CLIPModel.load(directory: directory) }
            #expect(missing.contains("spiece.model") && missing.contains("not found"))
        }
    }

    @Test("a pooling head missing from the weights: one line naming model.safetensors")
    func missingPoolingHead() throws {
        let directory = try Fixtures.copy("tiny-siglip")
        let url = directory.appendingPathComponent("model.safetensors")
        try SafetensorsSurgery.remove(prefix: "vision_model.head.", in: url)
        let message = try Self.message { _ = try CLIPModel.load(directory: directory) }
        #expect(message.hasPrefix("model.safetensors: "))
        #expect(message.contains("pooling head"))
        #expect(message.contains("vision_model.head."))
    }
}

/// Rewrites a safetensors file without some tensors (header rebuilt, data offsets renumbered).
enum SafetensorsSurgery {
    static func remove(prefix: String, in url: URL) throws {
        let data = try Data(contentsOf: url)
        let headerLength = data.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        let header = try #require(
            try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + headerLength))) as? [String: Any])
        var kept: [String: Any] = [:]
        var body = Data()
        for (key, value) in header.sorted(by: { $0.key < $1.key }) {
            guard !key.hasPrefix(prefix) else { continue }
            guard var entry = value as? [String: Any], let offsets = entry["data_offsets"] as? [Int] else {
                kept[key] = value  // __metadata__
                continue
            }
            let start = body.count
            body.append(data.subdata(in: (8 + headerLength + offsets[0])..<(8 + headerLength + offsets[1])))
            entry["data_offsets"] = [start, body.count]
            kept[key] = entry
        }
        var json = try JSONSerialization.data(withJSONObject: kept)
        while json.count % 8 != 0 { json.append(0x20) }
        var out = Data((0..<8).map { UInt8((json.count >> (8 * $0)) & 0xFF) })
        out.append(json)
        out.append(body)
        try out.write(to: url)
    }
}

/// `--model` resolution for SigLIP directories: the tokenizer files follow the family.
@Suite("SigLIP model directories")
struct SigLIPLocatorTests {
    @Test func siglipDirectoriesResolveAndNameTheirMissingTokenizer() throws {
        #expect(try ModelLocator.resolve(Fixtures.url("tiny-siglip").path) == Fixtures.url("tiny-siglip"))
        #expect(try ModelLocator.resolve(Fixtures.url("tiny-siglip2").path) == Fixtures.url("tiny-siglip2"))
        #expect(HubCache.missingFiles(in: Fixtures.url("tiny-siglip")).isEmpty)
        let directory = try Fixtures.copy("tiny-siglip")
        try FileManager.default.removeItem(at: directory.appendingPathComponent("spiece.model"))
        #expect(HubCache.missingFiles(in: directory) == ["spiece.model or tokenizer.model"])
        // CLIP still needs its BPE files.
        #expect(HubCache.missingFiles(in: Fixtures.url("tiny-clip-gelu")).contains("vocab.json"))
    }
}
