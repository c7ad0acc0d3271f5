import Foundation
import Testing
import VLMCore

@testable import VLMMatch

@Suite struct ScoreStatisticsTests {
    @Test func peakAndMedianOfTheScoresSeen() throws {
        var stats = ScoreStatistics()
        #expect(stats.median == nil && stats.frames == 0)
        for (i, score) in [0.30, 0.10, 0.90, 0.20, 0.40].enumerated() { stats.add(score, at: Double(i) / 2) }
        stats.add(.nan, at: 9)
        #expect(stats.frames == 5)
        #expect(stats.peak == 0.90 && stats.peakPTS == 1.0)
        let median = try #require(stats.median)
        #expect(abs(median - 0.30) <= 0.001, "the histogram's bins are 0.001 wide")
    }

    @Test func theSummaryCarriesEachQuerysScores() throws {
        var history = MatchHistory()
        history.noteQueries(["dog", "car"], stream: "cam")
        for i in 0..<10 {
            history.record(QueryScore(stream: "cam", pts: Double(i), query: "dog", score: Double(i) / 10, cosine: 0))
        }
        let summary = history.summary()
        #expect(summary.entries.map(\.scores.frames) == [10, 0])
        #expect(summary.scoreLines == [#"scores  cam "dog": peak 0.90 @ 00:09.000, median 0.40 over 10 frames"#])
        let json = try #require(JSONSerialization.jsonObject(with: Data(summary.jsonLines[0].utf8)) as? [String: Any])
        let scores = try #require(json["scores"] as? [String: Any])
        #expect(
            scores["frames"] as? Int == 10 && scores["peak"] as? Double == 0.9 && scores["peak_pts"] as? Double == 9)
    }
}
