import Testing
import VLMCore
import VLMIndex

@Suite("exact search and moments")
struct SearchTests {
    /// Two videos at 1 fps: video 0 shows "axis 3" during frames 4...6, video 1 at frames 1...2 (slightly weaker).
    func matrix() -> EmbeddingMatrix {
        let d = 16
        var values: [Float] = []
        var pts: [Double] = []
        var owner: [Int32] = []
        for (video, frames) in [(0, 10), (1, 5)] {
            for f in 0..<frames {
                let axis = (video == 0 && (4...6).contains(f)) || (video == 1 && (1...2).contains(f)) ? 3 : 8 + f % 4
                values += unitVector(d, axis: axis, wobble: video == 1 ? 0.3 : (f == 5 ? 0 : 0.05))
                pts.append(Double(f))
                owner.append(Int32(video))
            }
        }
        let videos = [("/a.mp4", 10.0), ("/b.mp4", 4.5)].enumerated().map { i, v in
            IndexedVideo(
                id: Int64(i + 1), path: v.0, size: 1, checksum: "x", duration: v.1, model: "m", fps: 1,
                frameCount: i == 0 ? 10 : 5, complete: true)
        }
        return EmbeddingMatrix(
            dimension: d, values: values, pts: pts, videoOfRow: owner, videos: videos,
            captions: [[IndexedCaption(start: 4, end: 7, text: "the thing", score: 0.9)], []], revision: 1, model: "m")
    }

    @Test("scores equal naive dot products of the stored (fp16) values")
    func scores() {
        let m = matrix()
        let q = unitVector(16, axis: 3)
        let scores = m.scores(q)
        for r in 0..<m.count {
            let naive = zip(m.row(r), q).reduce(Float(0)) { $0 + $1.0 * $1.1 }
            #expect(abs(scores[r] - naive) < 1e-5)
        }
    }

    @Test("adjacent matching frames merge into one moment per stretch, best first")
    func moments() {
        let moments = matrix().search(unitVector(16, axis: 3), options: SearchOptions(top: 3, mergeMargin: 0.05))
        #expect(moments.count == 3)
        #expect(moments[0].video == "/a.mp4" && moments[0].start == 4 && moments[0].end == 7 && moments[0].peak == 5)
        #expect(moments[0].frames == 3 && moments[0].caption == "the thing")
        #expect(moments[1].video == "/b.mp4" && moments[1].start == 1 && moments[1].end == 3)
        #expect(moments[1].score < moments[0].score && moments[2].score < moments[1].score)
        #expect(moments[2].caption == nil || moments[2].video == "/a.mp4")
        let floor = matrix().search(unitVector(16, axis: 3), options: SearchOptions(top: 10, minScore: 0.9))
        #expect(floor.count == 2)
    }
}

@Suite("batched search")
struct BatchedSearchTests {
    @Test("a batch of queries gives the same moments as one query at a time")
    func batchMatchesSingle() {
        let m = SearchTests().matrix()
        let queries = [3, 8, 9].map { unitVector(16, axis: $0) }
        let batched = m.search(batch: queries, options: SearchOptions(top: 3))
        for (query, moments) in zip(queries, batched) {
            let single = m.search(query, options: SearchOptions(top: 3))
            #expect(moments.count == single.count)
            for (a, b) in zip(moments, single) {
                #expect(abs(a.score - b.score) < 1e-5)
                // The same moment, unless two frames tie within the products' rounding (the stored values are fp16).
                let tie = moments.contains {
                    ($0.video, $0.peak) != (a.video, a.peak) && abs($0.score - a.score) < 1e-5
                }
                #expect((a.video == b.video && a.peak == b.peak) || tie, "\(a) vs \(b)")
            }
        }
    }
}

@Suite("row-split scoring")
struct RowSplitTests {
    @Test("scores over many rows (split over workers) equal naive dot products, one query and a batch")
    func splitMatchesNaive() {
        var rng = SplitMix64(seed: 3)
        let d = 16
        let n = 20_000
        var values: [Float] = []
        for _ in 0..<n { values += SyntheticIndex.randomUnitVector(d, &rng) }
        let video = IndexedVideo(
            id: 1, path: "/v.mp4", size: 1, checksum: "x", duration: nil, model: "m", fps: 1, frameCount: n,
            complete: true)
        let m = EmbeddingMatrix(
            dimension: d, values: values, pts: (0..<n).map(Double.init), videoOfRow: [Int32](repeating: 0, count: n),
            videos: [video], captions: [[]], revision: 1, model: "m")
        let queries = (0..<3).map { _ in SyntheticIndex.randomUnitVector(d, &rng) }
        // Stored as fp16: each value within half an fp16 step of what was given.
        for r in stride(from: 0, to: n, by: 97) {
            for (a, b) in zip(m.row(r), values[r * d..<(r + 1) * d]) { #expect(abs(a - b) <= abs(b) / 2048 + 3e-8) }
        }
        let single = m.scores(queries[0])
        let batch = m.scores(batch: queries)
        for r in stride(from: 0, to: n, by: 7) {
            for (q, query) in queries.enumerated() {
                let naive = zip(m.row(r), query).reduce(Float(0)) { $0 + $1.0 * $1.1 }
                #expect(abs(batch[q * n + r] - naive) < 1e-5)
                if q == 0 { #expect(abs(single[r] - naive) < 1e-5) }
            }
        }
    }
}
