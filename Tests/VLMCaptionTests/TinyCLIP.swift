import Foundation
import TestSupport
import VLMCore

// TEMPORARY until CLIP's text model is on main: a deterministic random-feature encoder (order-aware bag of
// tokens). Replaced by the real tiny CLIP text encoder from Tests/Fixtures/tiny-clip.
struct DevTextEncoder: TextEncoding {
    var embeddingSize: Int { 32 }
    var modelIdentity: String { "dev-encoder" }
    var logitScale: Float { 100 }

    func encode(texts: [String]) throws -> [Embedding] {
        texts.map { text in
            var v = [Float](repeating: 0, count: 32)
            for (position, word) in text.split(separator: " ").enumerated() {
                var h: UInt64 = 1469598103934665603 &+ UInt64(position) &* 31
                for b in word.utf8 { h = (h ^ UInt64(b)) &* 1099511628211 }
                for i in 0..<32 {
                    h = h &* 6364136223846793005 &+ 1442695040888963407
                    v[i] += Float(Int64(bitPattern: h) >> 11) / Float(1 << 52)
                }
            }
            return Embedding(v).normalized()
        }
    }
}

enum TinyCLIP {
    /// The real tiny random-weight CLIP text encoder.
    static func textEncoder() throws -> any TextEncoding {
        DevTextEncoder()
    }
}
