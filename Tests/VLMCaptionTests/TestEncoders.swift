import Foundation
import VLMCore

@testable import VLMCaption

/// Wraps a real text encoder and counts what passes through it (calls and texts); optionally reports another
/// identity, as a different model's weights would.
final class CountingTextEncoder: TextEncoding {
    let base: any TextEncoding
    let identityOverride: String?
    private let counts = Locked((calls: 0, texts: 0))

    init(_ base: any TextEncoding, identity: String? = nil) {
        self.base = base
        self.identityOverride = identity
    }

    var embeddingSize: Int { base.embeddingSize }
    var modelIdentity: String { identityOverride ?? base.modelIdentity }
    var logitScale: Float { base.logitScale }
    var calls: Int { counts.withLock { $0.calls } }
    var texts: Int { counts.withLock { $0.texts } }

    func encode(texts: [String]) throws -> [Embedding] {
        counts.withLock {
            $0.calls += 1
            $0.texts += texts.count
        }
        return try base.encode(texts: texts)
    }
}

/// A small vocabulary whose every sentence can be enumerated (4 × (1+3) × (1+3) × (1+2) = 192 sentences).
let smallVocabularyYAML = """
    prompt: "a photo of {sentence}."
    length_prior: 0
    slots:
      - name: subject
        required: true
        options:
          - {text: a person, kind: person}
          - {text: two people, kind: person}
          - {text: a car, kind: vehicle}
          - {text: a dog, kind: animal}
      - name: action
        options:
          - {text: walking, for: [person, animal]}
          - {text: standing, for: [person, animal]}
          - {text: driving, for: [vehicle]}
      - name: place
        options: [in a plaza, on a street, indoors]
      - name: condition
        options: [at night, in the rain]
    """
