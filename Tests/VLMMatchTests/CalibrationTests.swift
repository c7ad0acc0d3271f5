import Foundation
import Testing
import VLMCore
import VLMMatch

/// The calibrated score: softmax against negatives at the logit scale, and the rolling baseline.
@Suite struct CalibrationTests {
    static let keywords = ["chair", "dog", "cat", "car", "room", "street", "floor", "wall", "sky", "background"]

    func matcher(
        _ encoder: AxisTextEncoder, queries: [String], baseline: Double = 60,
        tune: (inout MatchSettings) -> Void = { _ in }
    ) throws -> QueryMatcher {
        var settings = MatchSettings()
        settings.baselineWindow = baseline
        settings.emitScores = true
        tune(&settings)
        return try QueryMatcher(encoder: encoder, settings: settings, queries: queries)
    }

    @Test func scoreIsSoftmaxAgainstNegativesAtLogitScale() {
        let calibrator = ScoreCalibrator(logitScale: 100)
        let expected = exp(30.0) / (exp(30.0) + exp(20.0) + exp(25.0))
        #expect(abs(calibrator.score(cosine: 0.30, negatives: [0.20, 0.25], baseline: nil) - expected) < 1e-12)
        // The baseline is one more competitor, lifted by the margin.
        let margin = ScoreCalibrator(logitScale: 100, baselineMargin: 0.01)
        let withBaseline = exp(30.0) / (exp(30.0) + exp(20.0) + exp(28.0))
        #expect(abs(margin.score(cosine: 0.30, negatives: [0.20], baseline: 0.27) - withBaseline) < 1e-12)
        // Huge logits do not overflow.
        let hot = ScoreCalibrator(logitScale: 10_000)
        #expect(hot.score(cosine: 0.9, negatives: [0.1], baseline: nil) == 1)
        #expect(hot.score(cosine: 0.1, negatives: [0.9], baseline: nil) == 0)
    }

    @Test func nonFiniteInputsNeverFireOrLeakNaN() throws {
        let calibrator = ScoreCalibrator(logitScale: 100)
        #expect(calibrator.score(cosine: .nan, negatives: [0.1], baseline: nil) == 0)
        #expect(calibrator.score(cosine: 0.3, negatives: [.nan, 0.1], baseline: .infinity) > 0.99)
        let encoder = AxisTextEncoder(keywords: Self.keywords)
        let matcher = try matcher(encoder, queries: ["dog"], tune: { $0.minDuration = 0 })
        let broken = Embedding([Float](repeating: .nan, count: encoder.embeddingSize))
        let results = (0..<4).flatMap { matcher.analyze(.test(pts: Double($0), views: [broken])) }
        #expect(results.events.isEmpty)
        #expect(results.scores.allSatisfy { $0.score == 0 && $0.cosine == 0 })
    }

    @Test func scoreIgnoresAShiftOfAllCosines() {
        let calibrator = ScoreCalibrator(logitScale: 100)
        let a = calibrator.score(cosine: 0.28, negatives: [0.21, 0.24, 0.19], baseline: 0.25)
        let b = calibrator.score(cosine: 0.28 + 0.07, negatives: [0.28, 0.31, 0.26], baseline: 0.32)
        #expect(abs(a - b) < 1e-9)
        #expect(a > 0 && a < 1)
    }

    @Test func aQueryAtItsBaselineStaysBelowOneHalf() {
        let calibrator = ScoreCalibrator(logitScale: 100)
        for c in stride(from: -0.2, through: 0.5, by: 0.05) {
            #expect(calibrator.score(cosine: c, negatives: [c - 0.05], baseline: c) < 0.5)
        }
    }

    @Test func matcherScoreEqualsHandComputedSoftmax() throws {
        let encoder = AxisTextEncoder(keywords: Self.keywords, logitScale: 50)
        let m = try matcher(encoder, queries: ["a dog"], baseline: 0)
        let image = encoder.image(["dog": 1, "room": 0.7])
        let score = try #require(m.analyze(.test(pts: 0, views: [image])).scores.first)
        let q = try m.prompts.embed("a dog")
        let negatives = try m.prompts.embed(MatchSettings().prompts.negatives)
        let logits = ([q] + negatives).map { 50 * Double(image.dot($0)) }
        let expected = softmax(logits)[0]
        #expect(abs(score.score - expected) < 1e-9)
        #expect(abs(score.cosine - Double(image.dot(q))) < 1e-9)
        #expect(score.box == nil)
    }

    @Test func baselineSuppressesAConstantlySimilarQueryButNotANewObject() throws {
        let encoder = AxisTextEncoder(keywords: Self.keywords)
        let office = encoder.image(["chair": 1, "floor": 0.3])
        let withDog = encoder.image(["chair": 1, "floor": 0.3, "dog": 0.8])
        let frames = (0..<80).map { i in
            EncodedFrame.test(pts: Double(i) * 0.5, views: [(30..<45).contains(i) ? withDog : office])
        }

        // Without the baseline the chair, always in view, is one long match.
        let raw = try matcher(encoder, queries: ["chair", "dog"], baseline: 0)
        let rawEvents = frames.flatMap { raw.analyze($0) }.events + raw.finish(stream: "cam", at: 40).events
        #expect(rawEvents.filter { $0.query == "chair" && $0.type == .start }.count == 1)

        // With it, the chair never fires; the dog, new to the scene, still does, once, at the right time.
        let calibrated = try matcher(encoder, queries: ["chair", "dog"])
        let results = frames.flatMap { calibrated.analyze($0) } + calibrated.finish(stream: "cam", at: 40)
        #expect(results.events.filter { $0.query == "chair" }.isEmpty)
        let chairHigh = results.scores.filter { $0.query == "chair" && $0.score > 0.5 }
        #expect(chairHigh.isEmpty, "\(chairHigh)")
        let dog = results.events.filter { $0.query == "dog" }
        #expect(dog.map(\.type) == [.start, .update, .end])
        #expect(dog.first?.startPTS == 15)
        #expect(dog.last?.endPTS == 22)
        #expect(eventViolation(results.events) == nil)
    }

    @Test func baselineIsARollingMedianOverTime() {
        var b = RollingBaseline(window: 10)
        b.update(0.2, at: 0)
        #expect(b.value == 0.2)  // the first frame is its own baseline
        b.update(0.4, at: 1)
        #expect(abs(b.value! - 0.3) < 1e-12)  // even count: mean of the middle two
        // A dip shorter than half the window does not move it.
        var dip = RollingBaseline(window: 10)
        for i in 0..<20 { dip.update(0.3, at: Double(i) * 0.5) }
        for i in 20..<28 { dip.update(0.1, at: Double(i) * 0.5) }
        #expect(dip.value == 0.3)
        // Frames older than the window are dropped: after 10 s of 0.1 the dip is the new normal.
        for i in 28..<40 { dip.update(0.1, at: Double(i) * 0.5) }
        #expect(dip.value == 0.1)
        #expect(dip.count == 20)
        var off = RollingBaseline(window: 0)
        off.update(1, at: 0)
        #expect(off.value == nil)
    }

    @Test func baselineMedianMatchesABruteForceMedian() {
        var rng = SplitMix64(seed: 7)
        var baseline = RollingBaseline(window: 3)
        var all: [(Double, Double)] = []
        var pts = 0.0
        for _ in 0..<2000 {
            pts += rng.nextUnitDouble() * 0.4
            let c = (rng.nextUnitDouble() * 20).rounded() / 100  // repeated values too
            baseline.update(c, at: pts)
            all.append((pts, c))
            let window = all.filter { $0.0 > pts - 3 }.map(\.1).sorted()
            let median =
                window.count % 2 == 1
                ? window[window.count / 2] : (window[window.count / 2 - 1] + window[window.count / 2]) / 2
            #expect(baseline.value == median)
            #expect(baseline.count == window.count)
        }
    }

    @Test func anOcclusionDoesNotMakeTheQueryFireWhenTheSceneReturns() throws {
        let encoder = AxisTextEncoder(keywords: Self.keywords)
        let office = encoder.image(["chair": 1, "floor": 0.3])
        let blocked = encoder.image(["wall": 1, "chair": 0.2])
        let frames = (0..<100).map { i in
            EncodedFrame.test(pts: Double(i) * 0.5, views: [(50..<70).contains(i) ? blocked : office])
        }
        let matcher = try matcher(encoder, queries: ["chair"])
        let events = frames.flatMap { matcher.analyze($0) }.events + matcher.finish(stream: "cam", at: 40).events
        #expect(events.isEmpty)
    }
}

/// Found by a review: `an empty street` is a default negative, and the example pipeline's query of that phrase scored
/// 0.5 at most against itself, so its `enter: 0.6` could never fire.
@Suite struct OwnNegativeTests {
    @Test("a query that is one of the negatives is scored without that negative; other queries keep all of them")
    func ownNegativeLeftOut() throws {
        let encoder = AxisTextEncoder(keywords: CalibrationTests.keywords, logitScale: 50)
        var settings = MatchSettings()
        settings.baselineWindow = 0
        settings.emitScores = true
        let m = try QueryMatcher(encoder: encoder, settings: settings, queries: ["An empty street ", "a dog"])
        let image = encoder.image(["street": 1])
        let scores = m.analyze(.test(pts: 0, views: [image])).scores
        let negatives = try m.prompts.embed(settings.prompts.negatives)
        let own = try #require(settings.prompts.negatives.firstIndex(of: "an empty street"))
        for (query, kept) in [
            ("An empty street", negatives.indices.filter { $0 != own }), ("a dog", Array(negatives.indices)),
        ] {
            let score = try #require(scores.first { $0.query == query })
            let q = try m.prompts.embed(query)
            let logits = ([q] + kept.map { negatives[$0] }).map { 50 * Double(image.dot($0)) }
            #expect(abs(score.score - softmax(logits)[0]) < 1e-9, "\(query)")
        }
        #expect(try #require(scores.first { $0.query == "An empty street" }).score > 0.6)
    }
}
