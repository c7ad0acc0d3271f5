/// The prompt templates every query, negative and label is wrapped in, and the negative (background) phrases
/// each query is contrasted against.
///
/// CLIP was trained on captions, so a bare word ("dog") embeds worse than a sentence ("a photo of a dog."). As in
/// the CLIP paper's prompt ensembling, a phrase is embedded once per template and the normalised embeddings are
/// averaged and renormalised (`PromptEncoder`). Negatives go through the same templates, so whatever a template
/// adds to every sentence cancels in the softmax.
public struct PromptSet: Sendable, Equatable, Codable {
    /// Sentence templates; `{}` is replaced by the phrase. At least one.
    public var templates: [String]
    /// Background phrases a query must beat ("an empty room", "the sky"). At least one.
    public var negatives: [String]

    /// A prompt set; call `validate()` before use.
    public init(templates: [String], negatives: [String]) {
        self.templates = templates
        self.negatives = negatives
    }

    /// The built-in set (also committed as Configs/prompts.yaml): video-flavoured templates picked from the CLIP
    /// paper's ImageNet ensemble, and scene-level negatives that rarely contain a robot's target objects.
    public static let standard = PromptSet(
        templates: [
            "a photo of {}.",
            "a video frame showing {}.",
            "a blurry photo of {}.",
            "a low resolution photo of {}.",
            "a cropped photo of {}.",
            "a photo of the small {}.",
            "a photo of the large {}.",
            "a security camera image of {}.",
        ],
        negatives: [
            "an empty room",
            "an empty street",
            "the floor",
            "a wall",
            "the sky",
            "a blurry background",
            "an everyday scene",
            "something",
        ]
    )

    /// Throws `MatchError.invalidSetting` unless there is a template, each has a `{}`, and there is a negative.
    public func validate() throws {
        guard !templates.isEmpty else {
            throw MatchError.invalidSetting(name: "templates", reason: "no prompt templates; give at least one")
        }
        if let bad = templates.first(where: { !$0.contains("{}") }) {
            throw MatchError.invalidSetting(
                name: "templates", reason: "template \"\(bad)\" has no {} where the query goes; add one")
        }
        guard !negatives.isEmpty else {
            throw MatchError.invalidSetting(
                name: "negatives", reason: "no negative prompts; scores are calibrated against them, give at least one")
        }
        if negatives.contains(where: { $0.trimmingWhitespace().isEmpty }) {
            throw MatchError.invalidSetting(name: "negatives", reason: "an empty negative prompt; remove it")
        }
    }
}

extension String {
    /// The string without leading and trailing spaces and newlines.
    func trimmingWhitespace() -> String {
        var scalars = Substring(self)
        while let first = scalars.first, first.isWhitespace { scalars.removeFirst() }
        while let last = scalars.last, last.isWhitespace { scalars.removeLast() }
        return String(scalars)
    }
}
