import CLIP
import Foundation
import TestSupport
import Testing

@testable import CLIP

/// Every activation of the Swift forward passes against transformers' (scripts/golden/make_tiny_clip.py).
/// Tolerance: max |ours − reference| ≤ 1e-4 × max(1, max |reference|) for each named activation.
@Suite("Golden parity with transformers")
struct GoldenParityTests {
    static let models = ["tiny-clip", "tiny-clip-gelu"]

    static func tolerance(_ reference: [Float]) -> Float { 1e-4 * max(1, Golden.maxAbs(reference)) }

    @Test("vision activations match", arguments: models)
    func vision(model: String) throws {
        let weights = try CLIPWeights.load(directory: Fixtures.url(model))
        let encoder = CLIPVisionModel(weights: weights)
        let pixels = try Golden.tensor("\(model).vision.pixel_values")
        var seen: [String: [Float]] = [:]
        let embeddings = try pixels.values.withUnsafeBufferPointer {
            try encoder.encode(pixelValues: $0, batch: pixels.shape[0]) { name, values in seen[name] = Array(values) }
        }
        let names =
            ["embeddings", "pre_layernorm"] + (0..<weights.config.vision.numHiddenLayers).map { "layer\($0)" }
            + ["pooled", "projected", "image_embeds"]
        for name in names {
            let reference = try Golden.tensor("\(model).vision.\(name)")
            let ours = try #require(seen[name], "no activation \(name)")
            let error = Golden.maxAbsDifference(ours, reference.values)
            #expect(error <= Self.tolerance(reference.values), "\(model) vision \(name): max abs error \(error)")
            if ProcessInfo.processInfo.environment["GOLDEN_REPORT"] != nil {
                print("parity \(model) vision \(name) max_abs_err=\(error) scale=\(Golden.maxAbs(reference.values))")
            }
        }
        let final = try Golden.tensor("\(model).vision.image_embeds").values
        #expect(Golden.maxAbsDifference(embeddings.flatMap(\.values), final) <= 1e-5)
        // Unobserved, the last block runs for the class token alone (EncoderBlock.forwardPooled): same embeddings.
        let pruned = try encoder.encode(pixelValues: pixels.values, batch: pixels.shape[0])
        #expect(Golden.maxAbsDifference(pruned.flatMap(\.values), final) <= 1e-5)
    }

    @Test("text activations match", arguments: models)
    func text(model: String) throws {
        let weights = try CLIPWeights.load(directory: Fixtures.url(model))
        let encoder = CLIPTextModel(weights: weights)
        let cases = try #require(Golden.manifest()["\(model).text.cases"] as? [[String: Any]])
        let ids = cases.map { ($0["ids"] as! [Int]).map(Int32.init) }
        for (n, sequence) in ids.enumerated() {
            var seen: [String: [Float]] = [:]
            _ = try encoder.encode(tokenIDs: [sequence]) { name, values in seen[name] = Array(values) }
            for name in ["last_hidden_state", "pooled", "text_embeds"] {
                let reference = try Golden.tensor("\(model).text.case\(n).\(name)")
                let error = Golden.maxAbsDifference(try #require(seen[name]), reference.values)
                #expect(error <= Self.tolerance(reference.values), "\(model) text case \(n) \(name): error \(error)")
                if ProcessInfo.processInfo.environment["GOLDEN_REPORT"] != nil {
                    print("parity \(model) text case\(n) \(name) max_abs_err=\(error)")
                }
            }
        }
        // All cases in one padded batch, unobserved (the last block runs for each end token alone), give the
        // reference embeddings.
        let batched = try encoder.encode(tokenIDs: ids)
        for (n, embedding) in batched.enumerated() {
            let reference = try Golden.tensor("\(model).text.case\(n).text_embeds").values
            #expect(Golden.maxAbsDifference(embedding.values, reference) <= 1e-4, "batched case \(n)")
        }
        let scale = try #require(Golden.manifest()["\(model).logit_scale"] as? Double)
        #expect(abs(Double(encoder.logitScale) - scale) < 1e-4 * scale)
    }

    @Test("batch of one equals its row in a batch of two")
    func batchIndependence() throws {
        let encoder = CLIPVisionModel(weights: try CLIPWeights.load(directory: Fixtures.url("tiny-clip")))
        let pixels = try Golden.tensor("tiny-clip.vision.pixel_values").values
        let both = try encoder.encode(pixelValues: pixels, batch: 2)
        let second = try encoder.encode(pixelValues: Array(pixels[(pixels.count / 2)...]), batch: 1)
        #expect(Golden.maxAbsDifference(both[1].values, second[0].values) <= 1e-6)
    }
}
