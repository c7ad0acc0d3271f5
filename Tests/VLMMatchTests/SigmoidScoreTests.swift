import Foundation
import TestSupport
import Testing
import VLMCore

@testable import CLIP
@testable import VLMMatch

/// Scores and labels for sigmoid-trained models (SigLIP): the model's own probability σ(s·c + b).
@Suite struct SigmoidScoreTests {
    static let keywords = ["chair", "dog", "cat", "car", "room", "street", "floor", "wall", "sky", "background"]

    @Test func scoreIsTheModelsProbabilityByDefault() {
        let calibrator = ScoreCalibrator(logitScale: 10, logitBias: -2.5)
        #expect(!calibrator.references)
        let expected = 1 / (1 + exp(-(10 * 0.3 - 2.5)))
        // Negatives and the baseline do not move it.
        for (negatives, baseline) in [([], nil), ([0.9, 0.1], 0.5), ([0.29], 0.31 as Double?)] {
            let score = calibrator.score(cosine: 0.3, negatives: negatives, baseline: baseline)
            #expect(abs(score - expected) < 1e-12)
        }
        #expect(calibrator.score(cosine: .nan, negatives: [], baseline: nil) == 0)
        // Extreme logits stay in 0...1 without NaN.
        let hot = ScoreCalibrator(logitScale: 1e6, logitBias: 0)
        #expect(hot.score(cosine: 1, negatives: [], baseline: nil) == 1)
        #expect(hot.score(cosine: -1, negatives: [], baseline: nil) == 0)
        // CLIP (no bias) always uses its references.
        #expect(ScoreCalibrator(logitScale: 100, references: false).references)
    }

    @Test func referencesDiscountTheProbability() {
        let calibrator = ScoreCalibrator(logitScale: 10, logitBias: -2.5, references: true)
        let probability = 1 / (1 + exp(-(10 * 0.3 - 2.5)))
        let relative = exp(3.0) / (exp(3.0) + exp(2.0) + exp(2.5))
        let score = calibrator.score(cosine: 0.3, negatives: [0.2], baseline: 0.25)
        #expect(abs(score - probability * relative) < 1e-12)
        // At its baseline a query gets at most half the model's probability.
        #expect(calibrator.score(cosine: 0.3, negatives: [], baseline: 0.3) <= probability / 2 + 1e-12)
    }

    @Test func matcherWithASigmoidModelScoresItsProbabilityAndSkipsNegatives() throws {
        let encoder = AxisTextEncoder(keywords: Self.keywords, logitScale: 10, logitBias: -5)
        var settings = MatchSettings()
        settings.emitScores = true
        settings.minDuration = 0
        let matcher = try QueryMatcher(encoder: encoder, settings: settings, queries: ["dog"])
        // Only the query's templates were encoded, not the 8 negatives'.
        #expect(encoder.sentencesEncoded == settings.prompts.templates.count)
        let frame = EncodedFrame.test(pts: 0, views: [encoder.image(["dog": 1])])
        let query = try matcher.prompts.embed("dog")
        let cosine = Double(frame.embeddings[0].similarity(query))
        let scores = matcher.analyze(frame).compactMap { if case .score(let s) = $0 { s } else { nil } }
        let score = try #require(scores.first)
        #expect(abs(score.score - 1 / (1 + exp(-(10 * cosine - 5)))) < 1e-9)
        // With references on, the negatives are embedded and the score does not exceed the probability.
        settings.sigmoidReferences = true
        let referenced = try QueryMatcher(encoder: encoder, settings: settings, queries: ["dog"])
        let other = referenced.analyze(frame).compactMap { if case .score(let s) = $0 { s } else { nil } }
        #expect(try #require(other.first).score <= score.score + 1e-12)
    }

    @Test func labelsAreIndependentProbabilitiesForSigLIP() throws {
        let model = try CLIPModel.load(directory: Fixtures.url("tiny-siglip"))
        let prompts = PromptEncoder(encoder: model, templates: ["{}"])
        let labels = ["a dog", "a cat", "a red car"]
        let classifier = try LabelClassifier(labels: labels, prompts: prompts)
        let image = try model.encode(images: [
            RGBImage(width: 32, height: 32, pixels: .init(repeating: 128, count: 3072))
        ])[0]
        let probabilities = classifier.probabilities(for: image)
        let bias = Double(try #require(model.logitBias))
        for (label, p) in zip(labels, probabilities) {
            let text = try model.encode(texts: [label])[0]
            let expected = 1 / (1 + exp(-(Double(model.logitScale) * Double(image.similarity(text)) + bias)))
            #expect(abs(p - expected) < 1e-6)
        }
        // Not a softmax: they do not sum to 1.
        #expect(abs(probabilities.reduce(0, +) - 1) > 1e-3)
    }
}
