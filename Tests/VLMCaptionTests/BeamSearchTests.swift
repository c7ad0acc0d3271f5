import Foundation
import Logging
import TestSupport
import Testing
import VLMCore

@testable import VLMCaption

/// Random unit vectors from a fixed seed (SplitMix64), so failures reproduce.
struct SeededVectors {
    var rng: SplitMix64

    init(state: UInt64) { rng = SplitMix64(seed: state) }

    mutating func next(dimension: Int) -> Embedding {
        let values = (0..<dimension).map { _ in Float(rng.nextUnitDouble()) * 2 - 1 }
        return Embedding(values).normalized()
    }
}

@Suite struct BeamSearchTests {
    let logger = Logger(label: "test.captions")

    func makeCaptioner(
        beamWidth: Int, shortlist: BeamSearchCaptioner.Shortlist = .off, encoder: (any TextEncoding)? = nil
    ) throws -> BeamSearchCaptioner {
        let vocabulary = try CaptionVocabulary.parse(yaml: smallVocabularyYAML, source: "small")
        let store = TextEmbeddingStore(encoder: try encoder ?? TinyCLIP.textEncoder(), cacheURL: nil, logger: logger)
        return BeamSearchCaptioner(
            vocabulary: vocabulary, store: store, beamWidth: beamWidth, shortlist: shortlist, logger: logger)
    }

    /// Targets: random directions, plus each sentence's own text embedding (the nearest sentence is then known).
    func targets(_ captioner: BeamSearchCaptioner, random: Int) throws -> [Embedding] {
        var rng = SeededVectors(state: 42)
        let dimension = captioner.store.encoder.embeddingSize
        var result = (0..<random).map { _ in rng.next(dimension: dimension) }
        let sentences = captioner.vocabulary.allSentences().map { captioner.vocabulary.promptText(for: $0.sentence) }
        result += try captioner.store.embeddings(for: sentences)
        return result
    }

    @Test func wideBeamEqualsExhaustiveSearch() throws {
        let probe = try makeCaptioner(beamWidth: 1)
        let captioner = try makeCaptioner(beamWidth: probe.exhaustiveWidth)
        for target in try targets(captioner, random: 40) {
            let beam = try captioner.search(target)
            let exhaustive = try captioner.exhaustiveSearch(target)
            // A beam as wide as the widest slot level scores every sentence: same ranking, same scores.
            #expect(beam.count == exhaustive.count)
            #expect(beam.first?.draft.sentence == exhaustive.first?.draft.sentence)
            #expect(beam.map(\.draft.sentence) == exhaustive.map(\.draft.sentence))
        }
    }

    @Test func narrowerBeamsTradeAccuracyForCost() throws {
        // Random weights make a sentence's prefixes poor guides to it, so narrow beams miss the optimum often here
        // (real CLIP's prefixes are far more telling). What must hold: the returned score is the sentence's true
        // score, never above the optimum; widening the beam finds the optimum more often and costs more encodings;
        // the widest level is exact (see wideBeamEqualsExhaustiveSearch).
        let exact = try makeCaptioner(beamWidth: 1)
        let all = try targets(exact, random: 40)
        let optimum = try all.map { try #require(try exact.exhaustiveSearch($0).first) }
        var rates: [Double] = []
        var costs: [Int] = []
        for width in [1, 8, 32, exact.exhaustiveWidth] {
            let captioner = BeamSearchCaptioner(
                vocabulary: exact.vocabulary, store: exact.store, beamWidth: width, shortlist: .off, logger: logger)
            var agree = 0
            var scored = 0
            for (target, best) in zip(all, optimum) {
                let result = try captioner.search(target)
                let first = try #require(result.first)
                #expect(first.score <= best.score + 1e-6)
                if first.draft.sentence == best.draft.sentence { agree += 1 }
                scored += result.count
            }
            rates.append(Double(agree) / Double(all.count))
            costs.append(scored / all.count)
            print(
                "beam width \(width): optimum found for \(agree)/\(all.count) targets, \(scored / all.count) sentences scored"
            )
        }
        #expect(rates[0] < rates[1] && rates[1] < rates[2] && rates[2] <= rates[3])
        #expect(rates[3] == 1)
        #expect(costs[0] < costs[1] && costs[1] < costs[2] && costs[2] <= costs[3])
    }

    @Test func everyCandidateIsScoredAsAWholeSentence() throws {
        let encoder = try TinyCLIP.textEncoder()
        let captioner = try makeCaptioner(beamWidth: 4, encoder: encoder)
        var rng = SeededVectors(state: 7)
        let target = rng.next(dimension: encoder.embeddingSize)
        let scored = try captioner.search(target)
        // Partial sentences compete: one-slot sentences were scored too.
        #expect(scored.contains { $0.draft.length == 1 })
        #expect(scored.contains { $0.draft.length >= 2 })
        for entry in scored.prefix(10) {
            let prompt = captioner.vocabulary.promptText(for: entry.draft.sentence)
            let direct = try #require(try encoder.encode(texts: [prompt]).first).normalized()
            #expect(abs(Double(direct.dot(target)) - entry.cosine) < 1e-5)
        }
    }

    @Test func textEncoderCallsAreBatchedPerSlot() throws {
        let counting = CountingTextEncoder(try TinyCLIP.textEncoder())
        let captioner = try makeCaptioner(beamWidth: 8, encoder: counting)
        var rng = SeededVectors(state: 9)
        let target = rng.next(dimension: counting.embeddingSize)
        let scored = try captioner.search(target)
        #expect(counting.calls <= captioner.vocabulary.slots.count)
        #expect(counting.texts >= scored.count)
        // A second search on the same store encodes nothing new for the same target.
        let before = counting.texts
        _ = try captioner.search(target)
        #expect(counting.texts == before)
    }

    @Test func captionReturnsDisplayTextAndRejectsWrongSizes() throws {
        let captioner = try makeCaptioner(beamWidth: 8)
        let dimension = captioner.store.encoder.embeddingSize
        var rng = SeededVectors(state: 3)
        let window = CaptionWindow(
            stream: "cam", startPTS: 0, endPTS: 1, embeddings: [rng.next(dimension: dimension)])
        let candidates = try captioner.caption(window, limit: 3)
        #expect(candidates.count == 3)
        #expect(candidates[0].text.first?.isUppercase == true)
        #expect(candidates[0].score >= candidates[1].score)
        let wrong = CaptionWindow(stream: "cam", startPTS: 0, endPTS: 1, embeddings: [Embedding([1, 0, 0])])
        #expect(throws: CaptionError.self) { try captioner.caption(wrong, limit: 1) }
    }

    @Test func shortlistBoundsEncodingAndRepeatsExactly() throws {
        // Width 8 with a shortlist of 8: each slot after the prepared ones encodes at most 8 new sentences.
        var rng = SeededVectors(state: 11)
        let dimension = try TinyCLIP.textEncoder().embeddingSize
        let targets = (0..<20).map { _ in rng.next(dimension: dimension) }
        var agree = 0
        for target in targets {
            let counting = CountingTextEncoder(try TinyCLIP.textEncoder())
            let shortlisted = try makeCaptioner(beamWidth: 8, shortlist: .size(8), encoder: counting)
            try shortlisted.prepare()
            let prepared = counting.texts
            let first = try shortlisted.search(target)
            #expect(counting.texts - prepared <= 8 * (shortlisted.vocabulary.slots.count - 2))
            // The scored set depends on the target alone: the same search again encodes nothing, finds the same.
            let encoded = counting.texts
            #expect(try shortlisted.search(target) == first)
            #expect(counting.texts == encoded)
            let plain = BeamSearchCaptioner(
                vocabulary: shortlisted.vocabulary, store: shortlisted.store, beamWidth: 8, shortlist: .off,
                logger: logger)
            if try plain.search(target).first?.draft.sentence == first.first?.draft.sentence { agree += 1 }
        }
        print("shortlist 8 matched the plain width-8 beam on \(agree)/\(targets.count) targets")
    }

    @Test func longShortlistIsThePlainBeam() throws {
        let plain = try makeCaptioner(beamWidth: 8, shortlist: .off)
        let long = BeamSearchCaptioner(
            vocabulary: plain.vocabulary, store: plain.store, beamWidth: 8, shortlist: .size(1000), logger: logger)
        for target in try targets(plain, random: 10) {
            #expect(try long.search(target) == plain.search(target))
        }
    }
}
