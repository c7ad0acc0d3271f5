import CLIP
import Foundation
import TestSupport
import VLMCore

/// The real tiny random-weight CLIP text tower from Tests/Fixtures/tiny-clip, as a `TextEncoding`
/// (tokenizer + `CLIPTextModel`).
struct TinyCLIPTextEncoder: TextEncoding {
    let tokenizer: CLIPTokenizer
    let model: CLIPTextModel

    var embeddingSize: Int { model.embeddingSize }
    var modelIdentity: String { "tiny-clip-fixture" }
    var logitScale: Float { model.logitScale }

    func encode(texts: [String]) throws -> [Embedding] {
        try model.encode(tokenIDs: tokenizer.encode(texts))
    }
}

enum TinyCLIP {
    /// Loaded once for the whole test run.
    private static let shared: Result<TinyCLIPTextEncoder, any Error> = Result {
        let directory = Fixtures.url("tiny-clip")
        return TinyCLIPTextEncoder(
            tokenizer: try CLIPTokenizer(directory: directory),
            model: CLIPTextModel(weights: try CLIPWeights.load(directory: directory)))
    }

    /// The real tiny random-weight CLIP text encoder.
    static func textEncoder() throws -> any TextEncoding {
        try shared.get()
    }
}
