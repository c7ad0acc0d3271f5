import VLMCore

/// Zero-shot classification of each sampled frame over a fixed label set (`--labels "person,car,dog"`).
///
/// As in openai/CLIP's zero-shot ImageNet evaluation: each label is embedded with the prompt ensemble, and for the
/// whole-frame embedding `x` the probabilities are `softmax(s · ⟨x, e_label⟩)` over the labels at CLIP's logit
/// scale `s`. They sum to 1 over the label set, so they say which label fits best, not whether any is present
/// (that is what queries and their negatives are for).
///
/// For a sigmoid-trained model (SigLIP) each label's probability is the model's own `σ(s · ⟨x, e_label⟩ + b)`
/// with its `logit_bias` b: independent of the other labels (they need not sum to 1; several can be present, or
/// none).
public final class LabelClassifier: FrameAnalyzer {
    /// The labels, in the order given.
    public let labels: [String]
    private let embeddings: [Embedding]
    private let logitScale: Double
    private let logitBias: Double?
    /// How many labels each `FrameLabels` lists (best first); all of them when nil.
    public let top: Int?

    /// Embeds the labels now; throws on an empty or duplicate label, or when the encoder fails.
    public init(labels: [String], prompts: PromptEncoder, top: Int? = nil) throws {
        let cleaned = labels.map { $0.trimmingWhitespace() }
        guard !cleaned.isEmpty else {
            throw MatchError.invalidSetting(name: "--labels", reason: "no labels; give a comma-separated list")
        }
        if let empty = cleaned.firstIndex(where: \.isEmpty) {
            throw MatchError.invalidSetting(
                name: "--labels", reason: "label \(empty + 1) is empty; remove the extra comma")
        }
        if let dup = cleaned.first(where: { label in cleaned.filter { $0 == label }.count > 1 }) {
            throw MatchError.invalidSetting(
                name: "--labels", reason: "\"\(dup)\" is listed twice; list each label once")
        }
        if let top, top < 1 {
            throw MatchError.invalidSetting(name: "--labels-top", reason: "\(top) must be at least 1")
        }
        self.labels = cleaned
        self.embeddings = try prompts.embed(cleaned)
        self.logitScale = prompts.logitScale
        self.logitBias = prompts.logitBias
        self.top = top
    }

    /// The label probabilities for an embedding, in label order: a softmax that sums to 1 (CLIP), or each
    /// label's independent sigmoid probability (SigLIP).
    public func probabilities(for embedding: Embedding) -> [Double] {
        let logits = embeddings.map { logitScale * Double(embedding.similarity($0)) }
        guard let logitBias else { return softmax(logits) }
        return logits.map { sigmoid($0 + logitBias) }
    }

    /// The frame's labels, best first.
    public func classify(_ frame: EncodedFrame) -> FrameLabels? {
        // A frame whose embedding is not finite (broken weights) has no meaningful labels: skip it, never print NaN.
        guard let whole = frame.embeddings.first, whole.values.allSatisfy(\.isFinite) else { return nil }
        let ranked = zip(labels, probabilities(for: whole))
            .map { FrameLabels.Label(label: $0, probability: $1) }
            .enumerated()
            .sorted {
                $0.element.probability != $1.element.probability
                    ? $0.element.probability > $1.element.probability : $0.offset < $1.offset
            }
            .map(\.element)
        return FrameLabels(
            stream: frame.stream, pts: frame.time.seconds, labels: Array(ranked.prefix(top ?? ranked.count)))
    }

    /// One `labels` result per frame.
    public func analyze(_ frame: EncodedFrame) -> [StreamResult] {
        classify(frame).map { [.labels($0)] } ?? []
    }

    /// Labels keep no state across frames.
    public func finish(stream: String, at pts: Double) -> [StreamResult] { [] }
}
