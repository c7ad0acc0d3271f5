import VLMTensor

extension EmbeddingMatrix {
    // MARK: - Scoring

    /// Cosine similarity of every row with `query` (length `dimension`): one pass over the fp16 matrix that widens
    /// while it multiplies, rows split over the cores (`GEMV.scoreRows(halves:…)`).
    public func scores(_ query: [Float]) -> [Float] {
        precondition(query.count == dimension, "EmbeddingMatrix.scores: query has \(query.count) values")
        return scores(packed: query, count: 1)
    }

    /// Scores of every row for each of `queries`, as `queries.count` contiguous rows of `count` scores: blocks of
    /// rows widened once, then `sgemm` (Q · Mᵀ), so the matrix is read once for the whole batch.
    public func scores(batch queries: [[Float]]) -> [Float] {
        precondition(queries.allSatisfy { $0.count == dimension }, "EmbeddingMatrix.scores: query sizes differ")
        return scores(packed: queries.flatMap { $0 }, count: queries.count)
    }

    private func scores(packed: [Float], count q: Int) -> [Float] {
        guard count > 0, q > 0 else { return [] }
        var scores = [Float](unsafeUninitializedCapacity: q * count) { out, initialized in
            withHalves { m in
                packed.withUnsafeBufferPointer { qs in
                    GEMV.scoreRows(
                        halves: m.baseAddress!, rows: count, cols: dimension, queries: qs.baseAddress!, count: q,
                        into: out.baseAddress!)
                }
            }
            initialized = q * count
        }
        // Rows that are not searchable never rank (a local copy's incomplete, replaced or duplicate frames).
        if searchableCount < count {
            for row in 0..<count where videoOfRow[row] < 0 {
                for i in 0..<q { scores[i * count + row] = -.infinity }
            }
        }
        return scores
    }

    // MARK: - Moments

    /// `search` for several queries at once, scored in one pass over the matrix (faster per query than one each).
    public func search(batch queries: [[Float]], options: SearchOptions = SearchOptions()) -> [[Moment]] {
        guard count > 0, !queries.isEmpty else { return queries.map { _ in [] } }
        let all = scores(batch: queries)
        return (0..<queries.count).map { i in moments(scores: Array(all[i * count..<(i + 1) * count]), options) }
    }

    /// The best `options.top` moments for `query`: exact scores over every stored frame, the best frames picked
    /// with a heap, each grown over adjacent frames of its video that score within `mergeMargin` of it.
    public func search(_ query: [Float], options: SearchOptions = SearchOptions()) -> [Moment] {
        guard count > 0, options.top > 0 else { return [] }
        return moments(scores: scores(query), options)
    }

    func moments(scores: [Float], _ options: SearchOptions) -> [Moment] {
        guard options.top > 0 else { return [] }
        // No more moments than frames: `--top 9223372036854775807` must not overflow the pool arithmetic.
        let top = min(options.top, searchableCount)
        guard top > 0 else { return [] }
        var covered = [Bool](repeating: false, count: count)
        var moments: [Moment] = []
        // Most candidates fall inside moments already found; widen the candidate pool until enough moments exist.
        var pool = min(count, max(64, top.multipliedReportingOverflow(by: 8).overflow ? count : top * 8))
        var examined = 0
        while moments.count < top {
            let candidates = scores.withUnsafeBufferPointer { all in
                if let rank {
                    return rank.withUnsafeBufferPointer { TopK.select(all, k: pool, rank: $0) }
                }
                return TopK.select(all, k: pool)
            }
            for candidate in candidates.dropFirst(examined) where !covered[candidate.index] {
                if videoOfRow[candidate.index] < 0 { return moments }  // only unsearchable rows are left
                if let floor = options.minScore, candidate.score < floor { return moments }
                moments.append(grow(candidate, scores: scores, covered: &covered, margin: options.mergeMargin))
                if moments.count == top { break }
            }
            examined = candidates.count
            if pool == count { break }
            pool = pool > count / 4 ? count : pool * 4
        }
        return moments
    }

    private func grow(_ peak: TopK.Entry, scores: [Float], covered: inout [Bool], margin: Float) -> Moment {
        let video = videoOfRow[peak.index]
        let threshold = peak.score - margin
        var lo = peak.index
        var hi = peak.index
        var frames = 1
        covered[peak.index] = true
        while case let before = Int(previous[lo]), before >= 0, !covered[before], scores[before] >= threshold {
            lo = before
            covered[lo] = true
            frames += 1
        }
        while case let after = Int(next[hi]), after >= 0, !covered[after], scores[after] >= threshold {
            hi = after
            covered[hi] = true
            frames += 1
        }

        let info = videos[Int(video)]
        var end = pts[hi] + samplingInterval(row: hi, video: info)
        if let duration = info.duration, duration > pts[hi] { end = min(end, duration) }
        let peakPTS = pts[peak.index]
        let caption = captions[Int(video)].last { $0.start <= peakPTS && peakPTS <= $0.end }?.text
        return Moment(
            video: info.path, start: pts[lo], end: end, peak: peakPTS, score: Double(peak.score), frames: frames,
            caption: caption, match: .frame)
    }

    /// The time one sampled frame stands for: 1/fps, or the gap to the next frame when every frame was kept.
    private func samplingInterval(row: Int, video: IndexedVideo) -> Double {
        if video.fps > 0 { return 1 / video.fps }
        if next[row] >= 0 { return pts[Int(next[row])] - pts[row] }
        if previous[row] >= 0 { return pts[row] - pts[Int(previous[row])] }
        return 0
    }
}
