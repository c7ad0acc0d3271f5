import Foundation
import GIT
import TestSupport
import Testing

/// Every activation of the Swift GIT forward pass against transformers' (scripts/golden/make_tiny_git.py).
/// Tolerance: max |ours − reference| ≤ 1e-4 × max(1, max |reference|) for each named activation.
@Suite("GIT golden parity with transformers")
struct GITParityTests {
    @Test("activations match: vision, projection, every decoder layer, logits", arguments: GITGolden.models)
    func activations(model name: String) throws {
        let checkpoint = try GITCheckpoint.load(directory: Fixtures.url(name))
        let model = checkpoint.model
        let c = model.config
        let (pixels, batch) = try GITGolden.pixels(name, size: c.vision.imageSize)
        var seen: [String: [Float]] = [:]
        let observe: GITModel.Observer = { seen[$0] = Array($1) }
        let context = try pixels.withUnsafeBufferPointer {
            try model.encodeImages(pixelValues: $0, images: batch, observer: observe)
        }
        let prompt = try #require((GITGolden.manifest["\(name).prompt"] as? [String: Any])?["ids"] as? [Int])
        let cache = GITTextCache(imageOf: Array(0..<batch), capacity: prompt.count, config: c)
        let tokens = (0..<batch).flatMap { _ in prompt.map(Int32.init) }
        _ = try model.decode(tokens: tokens, context: context, cache: cache, observer: observe)

        func check(_ label: String, _ ours: [Float], _ reference: [Float]) {
            let error = GITGolden.maxAbsDifference(ours, reference)
            #expect(error <= GITGolden.tolerance(reference), "\(name) \(label): max abs error \(error)")
            if GITGolden.report {
                print("parity \(name) \(label) max_abs_err=\(error) scale=\(GITGolden.maxAbs(reference))")
            }
        }
        let (frames, n, dv, d) = (c.frames, c.vision.tokens, c.vision.hiddenSize, c.hiddenSize)
        // vision.last_hidden_state is (B·F·N, Dv) with frames contiguous per input; the golden is per frame.
        let vision = try #require(seen["vision.last_hidden_state"])
        for f in 0..<frames {
            var ours: [Float] = []
            for b in 0..<batch {
                let block = (b * frames + f) * n * dv
                ours += vision[block..<(block + n * dv)]
            }
            check("vision.frame\(f)", ours, try GITGolden.tensor("\(name).vision.frame\(f)").values)
        }
        check("projected", try #require(seen["projected"]), try GITGolden.tensor("\(name).projected").values)
        check(
            "text_embeddings", try #require(seen["text_embeddings"]),
            try GITGolden.tensor("\(name).text_embeddings").values)
        let imageRows = frames * n
        for i in 0..<c.numHiddenLayers {
            // transformers' hidden state i is (B, image tokens + text tokens, D): ours in two parts.
            let image = try #require(seen["image.layer\(i)"])
            let text = try #require(seen["text.layer\(i)"])
            let t = prompt.count
            var ours: [Float] = []
            for b in 0..<batch {
                ours += image[(b * imageRows * d)..<((b + 1) * imageRows * d)]
                ours += text[(b * t * d)..<((b + 1) * t * d)]
            }
            check("layer\(i)", ours, try GITGolden.tensor("\(name).layer\(i)").values)
        }
        check("logits", try #require(seen["logits"]), try GITGolden.tensor("\(name).logits").values)
    }
}

/// Unobserved, the last decoder layer computes only the image keys and values: the logits must not change.
@Suite("GIT image side without observer")
struct PrunedImageSideTests {
    @Test("the pruned last layer gives the observed path's logits", arguments: GITGolden.models)
    func prunedLastLayer(model name: String) throws {
        let model = try GITCheckpoint.load(directory: Fixtures.url(name)).model
        let (pixels, batch) = try GITGolden.pixels(name, size: model.config.vision.imageSize)
        func logits(observed: Bool) throws -> [Float] {
            let context = try pixels.withUnsafeBufferPointer {
                try model.encodeImages(pixelValues: $0, images: batch, observer: observed ? { _, _ in } : nil)
            }
            let cache = GITTextCache(imageOf: Array(0..<batch), capacity: 2, config: model.config)
            return try model.decode(tokens: Array(repeating: 101, count: batch), context: context, cache: cache).values
        }
        let full = try logits(observed: true)
        #expect(GITGolden.maxAbsDifference(try logits(observed: false), full) <= 1e-6 * max(1, GITGolden.maxAbs(full)))
    }
}
