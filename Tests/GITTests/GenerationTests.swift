import Foundation
import GIT
import TestSupport
import Testing

/// Ids from greedy and beam search against transformers' generate() on the same inputs.
@Suite("GIT generation matches generate()")
struct GenerationTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var model: String
        var kind: String  // caption | prompted
        var testDescription: String { "\(model) \(kind)" }
    }

    static let cases = GITGolden.models.flatMap {
        [Case(model: $0, kind: "caption"), Case(model: $0, kind: "prompted")]
    }

    @Test("greedy and beam ids are identical", arguments: cases)
    func ids(_ test: Case) throws {
        let checkpoint = try GITCheckpoint.load(directory: Fixtures.url(test.model))
        let model = checkpoint.model
        let (pixels, batch) = try GITGolden.pixels(test.model, size: model.config.vision.imageSize)
        let prompt: [Int32] =
            test.kind == "prompted"
            ? try #require((GITGolden.manifest["\(test.model).prompt"] as? [String: Any])?["ids"] as? [Int]).map(
                Int32.init)
            : [Int32(model.config.bosTokenID)]
        let runs = try #require(GITGolden.manifest["\(test.model).\(test.kind).generate"] as? [[String: Any]])
        for run in runs {
            var settings = checkpoint.generation
            settings.numBeams = run["num_beams"] as? Int ?? 1
            settings.maxNewTokens = run["max_new_tokens"] as? Int
            if let penalty = run["length_penalty"] as? Double { settings.lengthPenalty = Float(penalty) }
            switch run["early_stopping"] {
            case let flag as Bool: settings.earlyStopping = flag ? .always : .heuristic
            case let word as String where word == "never": settings.earlyStopping = .never
            default: break
            }
            let sequences = try #require(run["sequences"] as? [[Int]])
            let ours = try pixels.withUnsafeBufferPointer {
                try model.generate(pixelValues: $0, images: batch, prompt: prompt, settings: settings)
            }
            for (row, sequence) in sequences.enumerated() {
                // transformers pads finished rows; the generated ids end at the first [SEP].
                var expected = Array(sequence.dropFirst(prompt.count))
                if let end = expected.firstIndex(of: settings.eosTokenID) { expected = Array(expected[...end]) }
                #expect(
                    ours[row].map(Int.init) == expected,
                    "\(test.model) \(test.kind) beams=\(settings.numBeams) lp=\(settings.lengthPenalty) row \(row)")
            }
        }
    }
}
