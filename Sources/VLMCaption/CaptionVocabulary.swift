import Foundation
import VLMCore
import Yams

/// The words captions are made of: ordered slots (subject, action, place, condition...), each a list of phrases,
/// plus the templates that turn a filled-in sentence into the text CLIP scores and the text users read.
///
/// Sentences are built by filling slots in order; an optional slot may be skipped, and every prefix is itself a
/// sentence ("a person", "a person walking", "a person walking in a plaza"). A phrase may carry a `kind`
/// ("person", "vehicle"...) and later phrases may list the kinds they fit (`for`), which keeps "a car walking"
/// out of the search. See Configs/captions.yaml for the commented default.
public struct CaptionVocabulary: Sendable, Equatable {
    /// One phrase of a slot.
    public struct Phrase: Sendable, Equatable {
        /// The words, e.g. "crossing the street".
        public var text: String
        /// Tags the sentence from here on (usually set by subjects), e.g. "people".
        public var kind: String?
        /// The kinds this phrase fits; `nil` fits every sentence.
        public var fits: [String]?

        public init(text: String, kind: String? = nil, fits: [String]? = nil) {
            self.text = text
            self.kind = kind
            self.fits = fits
        }

        /// Whether this phrase may follow a sentence tagged `kind`.
        public func fits(kind: String?) -> Bool {
            guard let fits else { return true }
            guard let kind else { return false }
            return fits.contains(kind)
        }
    }

    /// A position in the sentence.
    public struct Slot: Sendable, Equatable {
        public var name: String
        /// A required slot is never skipped (the subject).
        public var required: Bool
        public var phrases: [Phrase]

        public init(name: String, required: Bool = false, phrases: [Phrase]) {
            self.name = name
            self.required = required
            self.phrases = phrases
        }
    }

    /// What the text encoder sees; `{sentence}` is replaced by the sentence ("a photo of {sentence}.").
    public var prompt: String
    /// What users see; `{sentence}` is replaced by the sentence.
    public var display: String
    /// Upper-case the first letter of the displayed caption.
    public var capitalize: Bool
    /// Added to a sentence's cosine for each filled slot: a small push towards fuller sentences.
    public var lengthPrior: Double
    /// Slots in sentence order.
    public var slots: [Slot]

    public init(
        prompt: String = "a photo of {sentence}.", display: String = "{sentence}", capitalize: Bool = true,
        lengthPrior: Double = 0, slots: [Slot]
    ) {
        self.prompt = prompt
        self.display = display
        self.capitalize = capitalize
        self.lengthPrior = lengthPrior
        self.slots = slots
    }

    // MARK: - Templates

    /// The text the encoder scores for `sentence`.
    public func promptText(for sentence: String) -> String {
        prompt.replacingOccurrences(of: "{sentence}", with: sentence)
    }

    /// The caption users read for `sentence`.
    public func displayText(for sentence: String) -> String {
        var text = display.replacingOccurrences(of: "{sentence}", with: sentence)
        if capitalize, let first = text.first {
            text = first.uppercased() + text.dropFirst()
        }
        return text
    }

    // MARK: - Loading

    /// The vocabulary shipped with vlm-stream (identical to Configs/captions.yaml).
    public static var builtIn: CaptionVocabulary {
        // The built-in text is checked by the test suite, so this cannot fail at run time.
        // swiftlint:disable:next force_try
        try! parse(yaml: builtInYAML, source: "built-in captions.yaml")
    }

    /// Loads a vocabulary file.
    public static func load(from url: URL) throws -> CaptionVocabulary {
        let text: String
        do {
            text = try TextFile.read(url)
        } catch {
            throw CaptionError.unreadableVocabulary(path: url.path, reason: error.description)
        }
        return try parse(yaml: text, source: url.path)
    }

    /// Parses and validates vocabulary YAML; `source` names it in errors.
    public static func parse(yaml: String, source: String) throws -> CaptionVocabulary {
        let file: VocabularyFile
        do {
            file = try YAMLDecoder().decode(VocabularyFile.self, from: yaml)
        } catch let error as DecodingError {
            throw CaptionError.malformedVocabulary(path: source, detail: error.shortDescription)
        } catch {
            let detail = "\(error)".split(whereSeparator: \.isNewline).joined(separator: " ")
            throw CaptionError.malformedVocabulary(path: source, detail: detail)
        }
        let vocabulary = CaptionVocabulary(
            prompt: file.prompt ?? "a photo of {sentence}.",
            display: file.display ?? "{sentence}",
            capitalize: file.capitalize ?? true,
            lengthPrior: file.lengthPrior ?? 0,
            slots: file.slots.map { slot in
                Slot(
                    name: slot.name, required: slot.required ?? false,
                    phrases: slot.options.map { Phrase(text: $0.text, kind: $0.kind, fits: $0.fits) })
            })
        try vocabulary.validate(source: source)
        return vocabulary
    }

    /// Checks that the vocabulary can make sentences.
    public func validate(source: String) throws {
        func invalid(_ detail: String) -> CaptionError { .invalidVocabulary(path: source, detail: detail) }
        guard prompt.contains("{sentence}") else { throw invalid("`prompt` must contain {sentence}") }
        guard display.contains("{sentence}") else { throw invalid("`display` must contain {sentence}") }
        guard let first = slots.first else { throw invalid("`slots` is empty") }
        guard first.required else { throw invalid("the first slot (`\(first.name)`) must be `required: true`") }
        for slot in slots {
            guard !slot.phrases.isEmpty else { throw invalid("slot `\(slot.name)` has no options") }
            if let empty = slot.phrases.firstIndex(where: { $0.text.trimmingCharacters(in: .whitespaces).isEmpty }) {
                throw invalid("slot `\(slot.name)` option \(empty + 1) has empty text")
            }
        }
    }
}

// MARK: - File shape

/// The YAML layout of a vocabulary file.
private struct VocabularyFile: Decodable {
    struct SlotEntry: Decodable {
        var name: String
        var required: Bool?
        var options: [OptionEntry]
    }

    /// A phrase: either a plain string or `{text, kind, for}`.
    struct OptionEntry: Decodable {
        var text: String
        var kind: String?
        var fits: [String]?

        enum CodingKeys: String, CodingKey {
            case text, kind
            case fits = "for"
        }

        init(from decoder: Decoder) throws {
            if let text = try? decoder.singleValueContainer().decode(String.self) {
                self.text = text
                return
            }
            let container = try decoder.container(keyedBy: CodingKeys.self)
            text = try container.decode(String.self, forKey: .text)
            kind = try container.decodeIfPresent(String.self, forKey: .kind)
            fits = try container.decodeIfPresent([String].self, forKey: .fits)
        }
    }

    var prompt: String?
    var display: String?
    var capitalize: Bool?
    var lengthPrior: Double?
    var slots: [SlotEntry]

    enum CodingKeys: String, CodingKey {
        case prompt, display, capitalize, slots
        case lengthPrior = "length_prior"
    }
}

extension DecodingError {
    /// "slots[2].options: expected a list" style summary.
    var shortDescription: String {
        func path(_ keys: [CodingKey]) -> String {
            let joined = keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            return joined.hasPrefix(".") ? String(joined.dropFirst()) : (joined.isEmpty ? "top level" : joined)
        }
        switch self {
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            return "\(path(context.codingPath)): \(context.debugDescription)"
        case .keyNotFound(let key, let context):
            return "\(path(context.codingPath + [key])): missing"
        @unknown default:
            return "\(self)"
        }
    }
}
