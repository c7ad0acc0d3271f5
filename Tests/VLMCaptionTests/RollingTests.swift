import Foundation
import Logging
import TestSupport
import Testing
import VLMCore

@testable import VLMCaption

@Suite struct RollingTests {
    let logger = Logger(label: "test.captions.rolling")

    /// A rolling captioner over the real beam search (exact width) on the small vocabulary, and the text embeddings
    /// of two of its sentences to use as synthetic frames: the caption of a window of `a` frames is `a`'s sentence.
    func fixture(_ settings: RollingCaptionSettings) throws -> (RollingCaptioner, a: Embedding, b: Embedding) {
        let vocabulary = try CaptionVocabulary.parse(yaml: smallVocabularyYAML, source: "small")
        let store = TextEmbeddingStore(encoder: try TinyCLIP.textEncoder(), cacheURL: nil, logger: logger)
        var beam = BeamSearchCaptioner(vocabulary: vocabulary, store: store, beamWidth: 1, logger: logger)
        beam = BeamSearchCaptioner(
            vocabulary: vocabulary, store: store, beamWidth: beam.exhaustiveWidth, shortlist: .off, logger: logger)
        let prompts = ["a car driving on a street at night", "two people walking in a plaza"].map(vocabulary.promptText)
        let vectors = try store.embeddings(for: prompts)
        return (RollingCaptioner(captioner: beam, settings: settings, logger: logger), vectors[0], vectors[1])
    }

    func frame(_ embedding: Embedding, at pts: Double, stream: String = "cam") -> EncodedFrame {
        EncodedFrame(
            stream: stream, sequence: Int(pts * 1000), time: MediaTime(seconds: pts), embeddings: [embedding],
            boxes: [.full])
    }

    func captions(_ results: [StreamResult]) -> [Caption] {
        results.compactMap { if case .caption(let caption) = $0 { caption } else { nil } }
    }

    /// `embedding` nudged by a small random direction (cosine to the original about 1 - distance).
    func jitter(_ embedding: Embedding, _ rng: inout SeededVectors, amount: Float) -> Embedding {
        let noise = rng.next(dimension: embedding.count)
        return Embedding(zip(embedding.values, noise.values).map { $0 + amount * $1 }).normalized()
    }

    @Test func driftTriggersANewCaption() throws {
        // One-frame window, so the window turns from a to b at once; no interval trigger.
        let settings = RollingCaptionSettings(window: 0.05, drift: 0.05, maxInterval: 1000, minInterval: 0.5)
        let (rolling, a, b) = try fixture(settings)
        var rng = SeededVectors(state: 1)
        var emitted: [Caption] = []
        for i in 0..<100 {
            let base = i < 50 ? a : b
            // Jitter well inside the drift threshold must not trigger anything.
            emitted += captions(rolling.analyze(frame(jitter(base, &rng, amount: 0.02), at: Double(i) / 10)))
        }
        emitted += captions(rolling.finish(stream: "cam", at: 10))
        // First caption once the window filled (t = 0.1), then exactly one at the switch (t = 5.0).
        #expect(rolling.captionerCalls == 2)
        var timeline = CaptionTimeline()
        emitted.forEach { timeline.apply($0) }
        let final = timeline.captions
        #expect(final.map(\.text) == ["A car driving on a street at night", "Two people walking in a plaza"])
        #expect(final.map(\.startPTS) == [0, 5])
        #expect(final.map(\.endPTS) == [5, 10])
        #expect(final.allSatisfy { $0.stream == "cam" && $0.score > 0.9 })
    }

    @Test func windowAveragesFramesBeforeDrifting() throws {
        // A 1 s window at 10 fps: a single odd frame moves the mean by far less than the threshold.
        let settings = RollingCaptionSettings(window: 1, drift: 0.2, maxInterval: 1000, minInterval: 0.5)
        let (rolling, a, b) = try fixture(settings)
        for i in 0..<60 {
            _ = rolling.analyze(frame(i == 30 ? b : a, at: Double(i) / 10))
        }
        #expect(rolling.captionerCalls == 1)
        // The same change held for a whole window does drift: it was the averaging that kept the odd frame out.
        for i in 60..<80 {
            _ = rolling.analyze(frame(b, at: Double(i) / 10))
        }
        #expect(rolling.captionerCalls == 2)
    }

    @Test func intervalTriggerMergesIdenticalCaptions() throws {
        let settings = RollingCaptionSettings(window: 1, drift: 0.05, maxInterval: 10, minInterval: 1)
        let (rolling, a, _) = try fixture(settings)
        var emitted: [Caption] = []
        for i in 0..<70 {  // 2 fps for 35 s
            emitted += captions(rolling.analyze(frame(a, at: Double(i) / 2)))
        }
        emitted += captions(rolling.finish(stream: "cam", at: 35))
        // Triggers at 1, 11, 21, 31 s: each yields the same sentence, so one caption grows.
        #expect(rolling.captionerCalls == 4)
        #expect(emitted.map(\.endPTS) == [1, 11, 21, 31, 35])
        #expect(Set(emitted.map(\.startPTS)) == [0])
        #expect(Set(emitted.map(\.text)).count == 1)
        let final = rolling.captions(for: [], stream: "other")
        #expect(final.isEmpty)
    }

    @Test func streamsAreIndependentAndShortStreamsGetACaption() throws {
        let settings = RollingCaptionSettings(window: 2, drift: 0.05, maxInterval: 10, minInterval: 1)
        let (rolling, a, b) = try fixture(settings)
        // Interleaved streams; each shorter than the window, so only finish() captions them.
        var results: [StreamResult] = []
        for i in 0..<5 {
            results += rolling.analyze(frame(a, at: Double(i) / 10, stream: "left"))
            results += rolling.analyze(frame(b, at: Double(i) / 10, stream: "right"))
        }
        #expect(results.isEmpty)
        let left = captions(rolling.finish(stream: "left", at: 0.5))
        let right = captions(rolling.finish(stream: "right", at: 0.5))
        #expect(left.map(\.text) == ["A car driving on a street at night"])
        #expect(right.map(\.text) == ["Two people walking in a plaza"])
        #expect(left.first?.startPTS == 0 && left.first?.endPTS == 0.5)
    }

    @Test func offlineCaptionsForAFrameSequence() throws {
        // A one-frame window: a mean of a and b would be a third sentence for a while.
        let settings = RollingCaptionSettings(window: 0.2, drift: 0.05, maxInterval: 10, minInterval: 0.5)
        let (rolling, a, b) = try fixture(settings)
        let frames = (0..<40).map { frame($0 < 20 ? a : b, at: Double($0) / 4) }  // 4 fps, switch at 5 s
        let result = rolling.captions(for: frames, stream: "cam", endPTS: 10)
        #expect(result.count == 2)
        #expect(result.first?.startPTS == 0)
        #expect(result.last?.endPTS == 10)
        // Tiled: each caption starts where the previous ended, within the switching window.
        #expect(result[0].endPTS == result[1].startPTS)
        #expect(result[1].startPTS == 5)
    }
}
