import TestSupport
import Testing
import VLMCore
import VLMMatch

/// Tiles pick the best view and report its box; zero-shot labels are a proper, ordered distribution.
@Suite struct TilesAndLabelsTests {
    static let keywords = ["dog", "cat", "car", "room", "street", "floor", "wall", "sky"]

    @Test func bestTileWinsAndItsBoxIsReported() throws {
        let encoder = AxisTextEncoder(keywords: Self.keywords)
        var settings = MatchSettings()
        settings.emitScores = true
        settings.baselineWindow = 0
        let matcher = try QueryMatcher(encoder: encoder, settings: settings, queries: ["dog"])
        // A small dog in the lower right tile of a 2×2 grid: weak in the whole frame, strong in its tile.
        let floor = encoder.image(["floor": 1])
        let views = [
            encoder.image(["floor": 1, "dog": 0.25]), floor, floor, floor, encoder.image(["dog": 1, "floor": 0.3]),
        ]
        var results: [StreamResult] = []
        for i in 0..<6 { results += matcher.analyze(.test(pts: Double(i) * 0.5, views: views)) }
        results += matcher.finish(stream: "cam", at: 3)
        let frame = EncodedFrame.test(pts: 0, views: views)
        let corner = frame.boxes[4]
        #expect(corner == Box(x: 0.5, y: 0.5, width: 0.5, height: 0.5))
        let scores = results.scores
        #expect(scores.count == 6 && scores.allSatisfy { $0.box == corner })
        let q = try matcher.prompts.embed("dog")
        #expect(abs(scores[0].cosine - Double(views[4].dot(q))) < 1e-9)
        let events = results.events
        #expect(events.map(\.type) == [.start, .end])
        #expect(events.allSatisfy { $0.box == corner })

        // The same frame without tiles: the whole-frame score is lower and no box is given.
        let whole = try QueryMatcher(encoder: encoder, settings: settings, queries: ["dog"])
        let plain = try #require(whole.analyze(.test(pts: 0, views: [views[0]])).scores.first)
        #expect(plain.box == nil)
        #expect(plain.score < scores[0].score)
    }

    @Test func labelProbabilitiesSumToOneAndAreOrdered() throws {
        let encoder = AxisTextEncoder(keywords: Self.keywords)
        let prompts = PromptEncoder(encoder: encoder, templates: PromptSet.standard.templates)
        let classifier = try LabelClassifier(labels: ["car", " dog ", "cat"], prompts: prompts)
        #expect(classifier.labels == ["car", "dog", "cat"])
        let image = encoder.image(["dog": 1, "cat": 0.6, "street": 0.4])
        let results = classifier.analyze(.test(pts: 1.5, views: [image, encoder.image(["car": 1])]))
        guard case .labels(let labels) = try #require(results.first) else {
            Issue.record("expected labels")
            return
        }
        #expect(labels.pts == 1.5)
        #expect(labels.labels.map(\.label) == ["dog", "cat", "car"])  // whole frame only, tiles ignored
        #expect(abs(labels.labels.map(\.probability).reduce(0, +) - 1) < 1e-9)
        // Probabilities are softmax(s · cosine) over the labels' ensemble embeddings.
        let e = try prompts.embed(["dog", "cat", "car"])
        let expected = softmax(e.map { 100 * Double(image.dot($0)) })
        for (label, p) in zip(labels.labels, expected) { #expect(abs(label.probability - p) < 1e-9) }

        let broken = Embedding([Float](repeating: .nan, count: encoder.embeddingSize))
        #expect(classifier.analyze(.test(pts: 2, views: [broken])).isEmpty)

        let top1 = try LabelClassifier(labels: ["car", "dog", "cat"], prompts: prompts, top: 1)
        let one = try #require(top1.analyze(.test(pts: 0, views: [image])).first?.labels, "top-1 gave no labels")
        #expect(one.labels.map(\.label) == ["dog"])
    }

    @Test func badLabelListsAreRefusedWithAClearMessage() {
        let prompts = PromptEncoder(encoder: AxisTextEncoder(keywords: Self.keywords), templates: ["a photo of {}."])
        #expect(throws: MatchError.self) { try LabelClassifier(labels: [], prompts: prompts) }
        #expect(throws: MatchError.self) { try LabelClassifier(labels: ["dog", "", "cat"], prompts: prompts) }
        do {
            _ = try LabelClassifier(labels: ["dog", "cat", "dog"], prompts: prompts)
            Issue.record("duplicate accepted")
        } catch {
            #expect("\(error)".contains("\"dog\" is listed twice"))
        }
    }
}
