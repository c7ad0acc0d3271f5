import Dispatch
import Foundation
import Testing
import VLMCore
import VLMMatch

/// The live query set: ensembling and caching, add/remove/set semantics, removal mid-match, concurrency, summary.
@Suite struct QueryControlTests {
    static let keywords = ["dog", "cat", "car", "person", "bike", "room", "street", "floor", "wall", "sky"]

    @Test func ensembleIsTheRenormalisedMeanOfNormalisedTemplateEmbeddings() throws {
        let encoder = AxisTextEncoder(keywords: Self.keywords)
        let templates = ["a photo of {}.", "a video frame showing {}.", "a blurry photo of {}."]
        let prompts = PromptEncoder(encoder: encoder, templates: templates)
        let ensemble = try prompts.embed("a dog")
        let each = try encoder.encode(texts: templates.map { $0.replacingOccurrences(of: "{}", with: "a dog") })
        var mean = [Float](repeating: 0, count: encoder.embeddingSize)
        for e in each { for i in mean.indices { mean[i] += e.normalized().values[i] } }
        let expected = Embedding(mean).normalized()
        #expect(zip(ensemble.values, expected.values).allSatisfy { abs($0 - $1) < 1e-6 })
        #expect(abs(ensemble.dot(ensemble) - 1) < 1e-5)
        // Templates differ, so the ensemble differs from any single template.
        #expect(each.allSatisfy { abs($0.dot(ensemble) - 1) > 1e-6 })
    }

    @Test func queriesAreEncodedOnceAndTheSetBehaves() throws {
        let encoder = AxisTextEncoder(keywords: Self.keywords)
        let matcher = try QueryMatcher(encoder: encoder, settings: MatchSettings(), queries: ["dog", " cat "])
        #expect(matcher.activeQueries == ["dog", "cat"])
        let templates = MatchSettings().prompts.templates.count
        let afterInit = encoder.sentencesEncoded
        #expect(afterInit == (MatchSettings().prompts.negatives.count + 2) * templates)
        try matcher.addQueries(["car", "dog"])  // dog already active: kept once, in place
        #expect(matcher.activeQueries == ["dog", "cat", "car"])
        matcher.removeQueries(["cat", "unknown"])
        #expect(matcher.activeQueries == ["dog", "car"])
        try matcher.addQueries(["cat"])  // cached: no encoder call
        #expect(encoder.sentencesEncoded == afterInit + templates)
        #expect(matcher.activeQueries == ["dog", "car", "cat"])
        try matcher.setQueries(["person"])
        #expect(matcher.activeQueries == ["person"])
        // A bad query changes nothing.
        #expect(throws: MatchError.self) { try matcher.addQueries(["bike", "   "]) }
        #expect(throws: MatchError.self) { try matcher.setQueries([String(repeating: "x", count: 400)]) }
        #expect(matcher.activeQueries == ["person"])
    }

    @Test func removingAQueryMidMatchEndsItOnTheNextFrame() throws {
        let encoder = AxisTextEncoder(keywords: Self.keywords)
        var settings = MatchSettings()
        settings.baselineWindow = 0
        let matcher = try QueryMatcher(encoder: encoder, settings: settings, queries: ["dog", "car"])
        let both = encoder.image(["dog": 1, "car": 1])
        var events: [QueryEvent] = []
        for i in 0..<4 { events += matcher.analyze(.test(pts: Double(i) * 0.5, views: [both])).events }
        #expect(events.map(\.type) == [.start, .start])
        matcher.removeQueries(["dog"])
        let next = matcher.analyze(.test(pts: 2, views: [both])).events
        #expect(next.map(\.type) == [.end] && next.first?.query == "dog" && next.first?.endPTS == 1.5)
        events += next + matcher.finish(stream: "cam", at: 2).events
        #expect(eventViolation(events) == nil)
        let summary = matcher.summary()
        #expect(summary.entries.map(\.query) == ["dog", "car"])
        #expect(summary.entries.map(\.intervals.count) == [1, 1])
        #expect(summary.entries[1].intervals[0].endPTS == 2 && summary.entries[1].matchedSeconds == 2)
    }

    @Test func severalStreamsAndQueriesKeepTheirOwnEvents() throws {
        let encoder = AxisTextEncoder(keywords: Self.keywords)
        var settings = MatchSettings()
        settings.baselineWindow = 0
        settings.updateInterval = 0
        let matcher = try QueryMatcher(encoder: encoder, settings: settings, queries: ["dog", "car", "bike"])
        let dog = encoder.image(["dog": 1])
        let car = encoder.image(["car": 1])
        let wall = encoder.image(["wall": 1])
        var events: [QueryEvent] = []
        for i in 0..<20 {
            let pts = Double(i) * 0.5
            events += matcher.analyze(.test("a", pts: pts, views: [i < 10 ? dog : car])).events
            events += matcher.analyze(.test("b", pts: pts, views: [(5..<15).contains(i) ? car : wall])).events
        }
        events += matcher.finish(stream: "a", at: 10).events + matcher.finish(stream: "b", at: 10).events
        #expect(eventViolation(events) == nil)
        let ends = events.filter { $0.type == .end }.map { "\($0.stream) \($0.query) \($0.startPTS)-\($0.endPTS!)" }
        #expect(Set(ends) == ["a dog 0.0-4.5", "a car 5.0-9.5", "b car 2.5-7.0"])
        let lines = matcher.summary().lines
        #expect(lines.count == 6)
        #expect(lines.contains("summary b \"bike\": no matches"))
        #expect(lines.contains { $0.hasPrefix("summary a \"dog\": 1 match, 4.5 s — 00:00.000–00:04.500") })
        let json = matcher.summary().jsonLines
        #expect(json.count == 6)
        let first = try #require(JSONSerialization.jsonObject(with: Data(json[0].utf8)) as? [String: Any])
        #expect(first["type"] as? String == "query_summary" && first["stream"] as? String == "a")
        #expect(first["query"] as? String == "dog" && first["matched_seconds"] as? Double == 4.5)
        let interval = try #require((first["intervals"] as? [[String: Any]])?.first)
        #expect(interval["start_pts"] as? Double == 0 && interval["end_pts"] as? Double == 4.5)
    }

    @Test func queriesChangeSafelyWhileFramesAreAnalyzed() async throws {
        let encoder = AxisTextEncoder(keywords: Self.keywords)
        var settings = MatchSettings()
        settings.baselineWindow = 5
        settings.minDuration = 0
        settings.gap = 0.5
        let matcher = try QueryMatcher(encoder: encoder, settings: settings, queries: ["dog"])
        let pool = ["dog", "cat", "car", "person", "bike"]
        let images = pool.map { encoder.image([$0: 1, "street": 0.5]) }
        let frames = 600
        // Two streams analyzed on their own threads while eight threads add, remove and set queries.
        async let streamA = analyzeStream("a", matcher, images, frames)
        async let streamB = analyzeStream("b", matcher, images, frames)
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            var rng = SplitMix64(seed: UInt64(worker))
            for _ in 0..<150 {
                let query = pool[Int(rng.next() % UInt64(pool.count))]
                switch rng.next() % 3 {
                case 0: try? matcher.addQueries([query])
                case 1: matcher.removeQueries([query])
                default: try? matcher.setQueries([query, pool[Int(rng.next() % UInt64(pool.count))]])
                }
            }
        }
        let (a, b) = await (streamA, streamB)
        #expect(eventViolation(a) == nil)
        #expect(eventViolation(b) == nil)
        #expect(!(a + b).isEmpty)
        #expect(Set(matcher.activeQueries).isSubset(of: Set(pool)))
        #expect(
            encoder.sentencesEncoded == (MatchSettings().prompts.negatives.count + pool.count)
                * settings.prompts.templates.count)
    }

    private func analyzeStream(_ stream: String, _ matcher: QueryMatcher, _ images: [Embedding], _ count: Int) async
        -> [QueryEvent]
    {
        await withCheckedContinuation { done in
            DispatchQueue.global().async {
                var events: [QueryEvent] = []
                for i in 0..<count {
                    let image = images[(i / 7) % images.count]
                    events += matcher.analyze(.test(stream, pts: Double(i) * 0.25, views: [image])).events
                }
                events += matcher.finish(stream: stream, at: Double(count) * 0.25).events
                done.resume(returning: events)
            }
        }
    }
}
