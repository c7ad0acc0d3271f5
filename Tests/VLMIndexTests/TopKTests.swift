import Testing
import VLMIndex

@Suite("top-K selection")
struct TopKTests {
    @Test("matches a full sort, best first, ties by lower index", arguments: [1, 5, 100, 1000])
    func matchesSort(k: Int) {
        var generator = SystemRandomNumberGenerator()
        var scores = (0..<500).map { _ in Float(Int.random(in: 0..<200, using: &generator)) / 200 }
        scores[42] = .nan
        let expected = scores.enumerated().filter { !$0.element.isNaN }
            .sorted { $0.element != $1.element ? $0.element > $1.element : $0.offset < $1.offset }
            .prefix(k).map { TopK.Entry(index: $0.offset, score: $0.element) }
        #expect(TopK.select(scores, k: k) == Array(expected))
    }
}
