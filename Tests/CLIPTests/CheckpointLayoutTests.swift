import Foundation
import TestSupport
import Testing

@testable import CLIP

/// CLIP checkpoints that are not openai's ViT-B/32, each as a tiny random checkpoint in its release's layout
/// (scripts/golden/make_tiny_clip_layouts.py): LAION/OpenCLIP converted (gelu, own projection size, legacy
/// `*_config_dict` blocks, F16), TinyCLIP (narrow towers of different widths and depths, patch 16) and
/// clip-vit-large-patch14-336 (patch 14 at 336 px). Tolerance as GoldenParityTests: every activation within
/// 1e-4 × max(1, max |reference|).
@Suite("CLIP checkpoint layouts match transformers")
struct CheckpointLayoutTests {
    static let layouts = ["tiny-clip-laion", "tiny-clip-tinyclip", "tiny-clip-l14-336"]
    static let golden = Fixtures.url("tiny-clip-layouts-golden")

    static func tolerance(_ reference: [Float]) -> Float { 1e-4 * max(1, Golden.maxAbs(reference)) }

    /// The generator's input: x[b, c, y, x'] = sin(0.37·x' + 0.23·(c + 1)·y + seed + b), computed in double.
    static func pixels(batch: Int, size: Int, seed: Double) -> [Float] {
        var out: [Float] = []
        for b in 0..<batch {
            for c in 0..<3 {
                for y in 0..<size {
                    for x in 0..<size {
                        out.append(Float(sin(0.37 * Double(x) + 0.23 * Double(c + 1) * Double(y) + seed + Double(b))))
                    }
                }
            }
        }
        return out
    }

    @Test("every activation, both towers", arguments: layouts)
    func parity(layout: String) throws {
        let weights = try CLIPWeights.load(directory: Fixtures.url(layout))
        let manifest = try Golden.manifest(in: Self.golden)
        let input = try #require(manifest["\(layout).pixels"] as? [String: Any])
        let (batch, size) = (try #require(input["batch"] as? Int), try #require(input["size"] as? Int))
        #expect(size == weights.config.vision.imageSize)
        let pixels = Self.pixels(batch: batch, size: size, seed: try #require(input["seed"] as? Double))
        let vision = CLIPVisionModel(weights: weights)
        var seen: [String: [Float]] = [:]
        let embeddings = try pixels.withUnsafeBufferPointer {
            try vision.encode(pixelValues: $0, batch: batch) { name, values in seen[name] = Array(values) }
        }
        let names =
            ["embeddings", "pre_layernorm"] + (0..<weights.config.vision.numHiddenLayers).map { "layer\($0)" }
            + ["pooled", "projected", "image_embeds"]
        for name in names {
            let reference = try Golden.tensor("\(layout).vision.\(name)", in: Self.golden)
            let error = Golden.maxAbsDifference(try #require(seen[name], "\(name)"), reference.values)
            #expect(error <= Self.tolerance(reference.values), "\(layout) vision \(name): max abs error \(error)")
            if ProcessInfo.processInfo.environment["GOLDEN_REPORT"] != nil {
                print("parity \(layout) vision \(name) max_abs_err=\(error) scale=\(Golden.maxAbs(reference.values))")
            }
        }
        let final = try Golden.tensor("\(layout).vision.image_embeds", in: Self.golden).values
        let pruned = try vision.encode(pixelValues: pixels, batch: batch)
        #expect(Golden.maxAbsDifference(pruned.flatMap(\.values), final) <= 1e-5)
        #expect(Golden.maxAbsDifference(embeddings.flatMap(\.values), final) <= 1e-5)

        let text = CLIPTextModel(weights: weights)
        let cases = try #require(manifest["\(layout).text.cases"] as? [[String: Any]])
        for (n, entry) in cases.enumerated() {
            let ids = try #require(entry["ids"] as? [Int]).map(Int32.init)
            var observed: [String: [Float]] = [:]
            _ = try text.encode(tokenIDs: [ids]) { name, values in observed[name] = Array(values) }
            for name in ["last_hidden_state", "pooled", "text_embeds"] {
                let reference = try Golden.tensor("\(layout).text.case\(n).\(name)", in: Self.golden)
                let error = Golden.maxAbsDifference(try #require(observed[name]), reference.values)
                #expect(error <= Self.tolerance(reference.values), "\(layout) text case \(n) \(name): \(error)")
                if ProcessInfo.processInfo.environment["GOLDEN_REPORT"] != nil {
                    print("parity \(layout) text case\(n) \(name) max_abs_err=\(error)")
                }
            }
        }
        let scale = try #require(manifest["\(layout).logit_scale"] as? Double)
        #expect(abs(Double(weights.logitScale) - scale) < 1e-4 * scale)
    }

    @Test("each layout's shape is read from config.json")
    func shapes() throws {
        let laion = try CLIPConfig.load(from: Fixtures.url("tiny-clip-laion/config.json"))
        #expect(laion.vision.hiddenAct == .gelu && laion.projectionDim == 48 && laion.text.eosTokenID == 2)
        let tiny = try CLIPConfig.load(from: Fixtures.url("tiny-clip-tinyclip/config.json"))
        #expect(tiny.vision.hiddenSize == 48 && tiny.text.hiddenSize == 24 && tiny.vision.patchSize == 16)
        let large = try CLIPConfig.load(from: Fixtures.url("tiny-clip-l14-336/config.json"))
        #expect(large.vision.patchSize == 14 && large.vision.imageSize == 336 && large.vision.tokens == 577)
    }
}
