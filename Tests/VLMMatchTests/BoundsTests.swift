import Testing
import VLMCore

@testable import VLMMatch

/// Long-running streams: the phrase cache and the summary history stay bounded.
@Suite struct BoundsTests {
    @Test func phraseCacheKeepsTheMostRecentPhrases() throws {
        let encoder = AxisTextEncoder(keywords: ["dog", "cat", "car", "bike", "bus"])
        let prompts = PromptEncoder(encoder: encoder, templates: ["a photo of {}."], cacheLimit: 3)
        let first = try prompts.embed(["dog", "cat", "car", "bike", "bus"])
        #expect(prompts.cachedCount == 3)
        #expect(encoder.sentencesEncoded == 5)
        _ = try prompts.embed(["car", "bike", "bus"])  // still cached
        #expect(encoder.sentencesEncoded == 5)
        let again = try prompts.embed("dog")  // evicted: encoded again, same result
        #expect(encoder.sentencesEncoded == 6)
        #expect(again == first[0])
        #expect(prompts.cachedCount == 3)
    }

    @Test func summaryKeepsTheLastIntervalsAndCountsAll() {
        var history = MatchHistory()
        let total = MatchHistory.intervalLimit + 5
        for i in 0..<total {
            let start = Double(i) * 10
            history.record(
                QueryEvent(
                    type: .end, stream: "cam", query: "q", startPTS: start, endPTS: start + 2, peakScore: 0.9,
                    peakPTS: start + 1))
        }
        let entry = history.summary().entries[0]
        #expect(entry.intervals.count == MatchHistory.intervalLimit)
        #expect(entry.earlierIntervals == 5)
        #expect(entry.intervals.first?.startPTS == 50)
        #expect(entry.matchedSeconds == Double(total) * 2)
        #expect(
            MatchSummary(entries: [entry]).lines[0].hasPrefix(
                "summary cam \"q\": \(total) matches, \(total * 2).0 s — …, "))
    }
}
