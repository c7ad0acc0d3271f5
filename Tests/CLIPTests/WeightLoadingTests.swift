import CLIP
import Foundation
import TestSupport
import Testing

/// Broken checkpoints: each gives one `CLIPLoadError` line naming the file and the problem, never a crash.
@Suite("Weight loading")
struct WeightLoadingTests {
    /// A copy of tiny-clip's config.json and model.safetensors in a temporary directory, with the safetensors bytes
    /// passed through `edit`.
    static func brokenCheckpoint(config: ((inout [String: Any]) -> Void)? = nil, edit: (inout Data) -> Void = { _ in })
        throws -> URL
    {
        let source = Fixtures.url("tiny-clip")
        let directory = try Fixtures.temporaryDirectory("clip-weights")
        var configJSON =
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: source.appendingPathComponent("config.json"))) as! [String: Any]
        config?(&configJSON)
        try JSONSerialization.data(withJSONObject: configJSON).write(
            to: directory.appendingPathComponent("config.json"))
        var weights = try Data(contentsOf: source.appendingPathComponent("model.safetensors"))
        edit(&weights)
        try weights.write(to: directory.appendingPathComponent("model.safetensors"))
        return directory
    }

    static func loadError(_ directory: URL) throws -> String {
        let error = try #require(throws: CLIPLoadError.self) { try CLIPWeights.load(directory: directory) }
        #expect(!error.description.contains("\n"))
        return error.description
    }

    @Test("tiny-clip loads: F32 borrowed from the mapping, F16 token embedding converted")
    func loads() throws {
        let weights = try CLIPWeights.load(directory: Fixtures.url("tiny-clip"))
        #expect(weights.vision.layers[0].qProjWeight.isBorrowed)
        #expect(!weights.text.tokenEmbedding.isBorrowed)
        #expect(weights.text.tokenEmbedding.shape == [49408, 32])
        #expect(weights.vision.patchEmbedding.shape == [64, 3, 8, 8])
        let gelu = try CLIPWeights.load(directory: Fixtures.url("tiny-clip-gelu"))
        #expect(!gelu.vision.layers[0].qProjWeight.isBorrowed)  // BF16, converted
    }

    @Test("truncated file")
    func truncated() throws {
        let directory = try Self.brokenCheckpoint(edit: { $0 = $0.prefix($0.count - 1000) })
        let message = try Self.loadError(directory)
        #expect(message.hasPrefix("model.safetensors:"), "\(message)")
        #expect(message.contains("truncated"), "\(message)")
    }

    @Test("header length larger than the file")
    func badHeaderLength() throws {
        let directory = try Self.brokenCheckpoint(edit: { data in
            data.replaceSubrange(0..<8, with: withUnsafeBytes(of: UInt64(1 << 40).littleEndian) { Data($0) })
        })
        #expect(try Self.loadError(directory).contains("header length"))
    }

    @Test("not safetensors at all")
    func garbage() throws {
        let directory = try Self.brokenCheckpoint(edit: { $0 = Data(repeating: 0x41, count: 4096) })
        #expect(try Self.loadError(directory).hasPrefix("model.safetensors:"))
    }

    @Test("header JSON cut short")
    func badJSON() throws {
        let directory = try Self.brokenCheckpoint(edit: { data in
            data.replaceSubrange(8..<9, with: Data("x".utf8))  // the header's opening brace
        })
        #expect(try Self.loadError(directory).contains("JSON"))
    }

    @Test("config.json says a different width than the tensors")
    func shapeMismatch() throws {
        let directory = try Self.brokenCheckpoint(config: { config in
            var vision = config["vision_config"] as! [String: Any]
            vision["intermediate_size"] = 128
            config["vision_config"] = vision
        })
        let message = try Self.loadError(directory)
        #expect(
            message
                == "model.safetensors: tensor vision_model.encoder.layers.0.mlp.fc1.weight has shape [256, 64], "
                + "config.json implies [128, 64]"
        )
    }

    @Test("config.json declares fewer layers than the file holds")
    func layerMismatch() throws {
        let directory = try Self.brokenCheckpoint(config: { config in
            var text = config["text_config"] as! [String: Any]
            text["num_hidden_layers"] = 1
            config["text_config"] = text
        })
        #expect(try Self.loadError(directory).contains("declares 1 layers"))
    }

    @Test("missing files name what is missing")
    func missingFiles() throws {
        let empty = try Fixtures.temporaryDirectory("clip-empty")
        #expect(try Self.loadError(empty).contains("config.json"))
        let directory = try Self.brokenCheckpoint()
        try FileManager.default.removeItem(at: directory.appendingPathComponent("model.safetensors"))
        #expect(try Self.loadError(directory).contains("model.safetensors"))
    }

    @Test("wrong input sizes are refused, not crashed on")
    func badInputs() throws {
        let weights = try CLIPWeights.load(directory: Fixtures.url("tiny-clip"))
        let vision = CLIPVisionModel(weights: weights)
        #expect(throws: CLIPInputError.self) { try vision.encode(pixelValues: [1, 2, 3], batch: 1) }
        let text = CLIPTextModel(weights: weights)
        #expect(throws: CLIPInputError.self) { try text.encode(tokenIDs: [[49406, 49408]]) }
        #expect(throws: CLIPInputError.self) { try text.encode(tokenIDs: [Array(repeating: 1, count: 78)]) }
        #expect(throws: CLIPInputError.self) { try text.encode(tokenIDs: [[]]) }
        #expect(try text.encode(tokenIDs: []).isEmpty)
    }

    @Test("random weights of ViT-B/32's shape build and encode")
    func randomVitShape() async throws {
        var config = CLIPConfig.vitB32
        config.vision.numHiddenLayers = 1
        config.text.numHiddenLayers = 1
        config.text.vocabSize = 1000
        let weights = try CLIPWeights.random(config: config)
        let encoder = CLIPVisionModel(weights: weights)
        let embedding = try encoder.encode(pixelValues: [Float](repeating: 0.1, count: 3 * 224 * 224), batch: 1)
        #expect(embedding.count == 1 && embedding[0].count == 512)
        #expect(abs(embedding[0].dot(embedding[0]) - 1) < 1e-4)

        // Concurrent callers (pipeline encoder workers) share the weights, each with its own scratch, and get the
        // same answers; these GEMMs are large enough to take the split, multi-worker path.
        let pixels = (0..<(2 * 3 * 224 * 224)).map { Float(sin(Double($0) * 0.01)) }
        let serial = try encoder.encode(pixelValues: pixels, batch: 2)
        let concurrent = (0..<2).map { _ in
            Task.detached { try encoder.encode(pixelValues: pixels, batch: 2) }
        }
        for task in concurrent {
            let result = try await task.value
            #expect(Golden.maxAbsDifference(result.flatMap(\.values), serial.flatMap(\.values)) <= 1e-6)
        }
    }
}
