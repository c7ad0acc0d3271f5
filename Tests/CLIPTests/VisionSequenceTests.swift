import CLIP
import Foundation
import TestSupport
import Testing

/// The full-sequence output of the image tower (what GIT consumes) and the locator's alternative file lists.
@Suite("CLIP vision last_hidden_state and required-file alternatives")
struct VisionSequenceTests {
    @Test("lastHiddenState's layers match the goldens and its class row is the pooled output")
    func lastHiddenState() throws {
        let weights = try CLIPWeights.load(directory: Fixtures.url("tiny-clip"))
        let encoder = CLIPVisionModel(weights: weights)
        let pixels = try Golden.tensor("tiny-clip.vision.pixel_values")
        var seen: [String: [Float]] = [:]
        let output = try pixels.values.withUnsafeBufferPointer {
            try encoder.lastHiddenState(pixelValues: $0, batch: 2) { seen[$0] = Array($1) }
        }
        let v = weights.config.vision
        #expect(output.shape == [2 * v.tokens, v.hiddenSize])
        let layer1 = try Golden.tensor("tiny-clip.vision.layer1").values
        #expect(Golden.maxAbsDifference(try #require(seen["layer1"]), layer1) <= 1e-4 * max(1, Golden.maxAbs(layer1)))
        // post_layernorm of each image's class token is CLIP's pooled output
        let pooled = try Golden.tensor("tiny-clip.vision.pooled").values
        let classRows = (0..<2).flatMap {
            Array(output.values[($0 * v.tokens * v.hiddenSize)..<(($0 * v.tokens + 1) * v.hiddenSize)])
        }
        #expect(Golden.maxAbsDifference(classRows, pooled) <= 1e-4 * max(1, Golden.maxAbs(pooled)))
        #expect(throws: CLIPInputError.self) {
            _ = try [Float](repeating: 0, count: 5).withUnsafeBufferPointer {
                try encoder.lastHiddenState(pixelValues: $0, batch: 1)
            }
        }
    }

    @Test("an entry a|b is satisfied by either file")
    func alternatives() throws {
        let directory = try Fixtures.temporaryDirectory()
        try Data("{}".utf8).write(to: directory.appendingPathComponent("config.json"))
        try Data("x".utf8).write(to: directory.appendingPathComponent("pytorch_model.bin"))
        #expect(
            HubCache.missingFiles(in: directory, requiredFiles: ["config.json", "model.safetensors|pytorch_model.bin"])
                .isEmpty)
        #expect(HubCache.missingFiles(in: directory, requiredFiles: ["vocab.txt", "a|b"]) == ["vocab.txt", "a|b"])
        #expect(throws: ModelLocator.NotFound.self) {
            _ = try ModelLocator.resolve(directory.path, requiredFiles: ["config.json", "vocab.txt"])
        }
        let resolved = try ModelLocator.resolve(directory.path, requiredFiles: ["config.json"])
        #expect(
            resolved.resolvingSymlinksInPath().standardizedFileURL.path
                == directory.resolvingSymlinksInPath().standardizedFileURL.path)
    }
}
