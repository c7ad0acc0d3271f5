import CLIP
import Foundation
import GIT
import TestSupport
import Testing

/// GIT at int8 (image tower blocks, decoder linears and vocabulary head quantized at load) against fp32 on the same
/// checkpoint.
/// Tolerance: the prompt's logits' relative error ‖P − G‖ / ‖G − mean(G)‖ ≤ 0.05 (the CLIP embeddings' bar), and the
/// most likely next token equal at every prompt position.
@Suite("GIT int8")
struct GITInt8Tests {
    @Test("int8 logits close to fp32, same argmax", arguments: GITGolden.models)
    func logitsClose(model name: String) throws {
        let fp32 = try GITCheckpoint.load(directory: Fixtures.url(name)).model
        let int8 = try GITCheckpoint.load(directory: Fixtures.url(name), precision: .int8).model
        #expect(fp32.weights.precision == .fp32)
        #expect(int8.weights.precision == .int8 && int8.weights.vision.precision == .int8)
        #expect(fp32.weights.outputInt8 == nil && int8.weights.outputInt8 != nil, "the vocabulary head runs int8 too")
        let (pixels, batch) = try GITGolden.pixels(name, size: fp32.config.vision.imageSize)
        let prompt = try #require((GITGolden.manifest["\(name).prompt"] as? [String: Any])?["ids"] as? [Int])
        func logits(_ model: GITModel) throws -> [Float] {
            let context = try pixels.withUnsafeBufferPointer { try model.encodeImages(pixelValues: $0, images: batch) }
            let cache = GITTextCache(imageOf: Array(0..<batch), capacity: prompt.count, config: model.config)
            let tokens = (0..<batch).flatMap { _ in prompt.map(Int32.init) }
            return try model.decode(tokens: tokens, context: context, cache: cache).values
        }
        let g = try logits(fp32)
        let p = try logits(int8)
        #expect(g != p)
        let mean = g.reduce(0, +) / Float(g.count)
        let error = zip(p, g).map { ($0 - $1) * ($0 - $1) }.reduce(0, +).squareRoot()
        let spread = g.map { ($0 - mean) * ($0 - mean) }.reduce(0, +).squareRoot()
        #expect(error / spread <= 0.05, "\(name): relative error \(error / spread)")
        let vocabulary = fp32.config.vocabSize
        for row in 0..<(g.count / vocabulary) {
            let slice = { (v: [Float]) in v[(row * vocabulary)..<((row + 1) * vocabulary)] }
            #expect(slice(g).indices.max { g[$0] < g[$1] } == slice(p).indices.max { p[$0] < p[$1] }, "row \(row)")
        }
    }
}
