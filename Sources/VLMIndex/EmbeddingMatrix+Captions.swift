extension EmbeddingMatrix {
    // MARK: - Text search over frames and captions

    /// `search` for a text query that also matches the stored captions (`search --text`, the archive's search).
    ///
    /// The rule (docs/index.md, "Caption hits"):
    /// - A caption matches by **words** when every content word of `text` occurs in it (`CaptionWords`), or by
    ///   **similarity** when the cosine of its stored text embedding and `query` (both the index model's text tower)
    ///   is at least `options.captionMinSimilarity`.
    /// - A caption hit spans its caption (`start`…`end`); its `score` is that text cosine (0 for a caption stored
    ///   without an embedding), its `peak` the caption's best frame for `query`, `frames` the stored frames from its
    ///   start to before its end.
    /// - Caption hits rank first (a caption that says so is stronger evidence than a frame's cosine): word matches,
    ///   then similarity matches, each by score. Frame moments follow by their cosine, except those whose best frame
    ///   lies inside a caption hit of the same video (the same moment, already listed). At most `options.top` in all.
    ///
    /// `query` is the text's embedding (normalised here); `options.captionMinSimilarity` nil leaves captions out.
    public func search(text: String, query: [Float], options: SearchOptions = SearchOptions()) -> [Moment] {
        guard count > 0, options.top > 0 else { return [] }
        let frameScores = scores(query)
        let frames = moments(scores: frameScores, options)
        guard let floor = options.captionMinSimilarity else { return frames }
        let hits = captionHits(text: text, query: CaptionVector.unit(query), floor: floor, frameScores: frameScores)
        guard !hits.isEmpty else { return frames }
        let others = frames.filter { moment in
            !hits.contains { $0.video == moment.video && $0.start <= moment.peak && moment.peak <= $0.end }
        }
        return Array((hits + others).prefix(options.top))
    }

    /// Every caption that matches `text` by words or `query` by similarity, best first.
    private func captionHits(text: String, query: [Float], floor: Float, frameScores: [Float]) -> [Moment] {
        let words = CaptionWords.contentStems(text)
        var rowsOfVideo = [[Int]](repeating: [], count: videos.count)
        for row in 0..<count where videoOfRow[row] >= 0 { rowsOfVideo[Int(videoOfRow[row])].append(row) }
        var hits: [(moment: Moment, byWords: Bool)] = []
        for (v, captions) in captions.enumerated() where v < videos.count {
            for caption in captions {
                // fp16 storage can put a cosine a hair past 1.
                let similarity = min(1, max(-1, caption.embedding.map { CaptionVector.dot($0, query) } ?? 0))
                let byWords = CaptionWords.matches(query: words, caption: caption.text)
                guard byWords || (caption.embedding != nil && similarity >= floor) else { continue }
                // A caption's frames: from its start up to the next one's (its end), the video's last frame included.
                let inside = rowsOfVideo[v].filter {
                    caption.start <= pts[$0] && (pts[$0] < caption.end || caption.start == caption.end)
                }
                let best = inside.max { frameScores[$0] < frameScores[$1] }
                let moment = Moment(
                    video: videos[v].path, start: caption.start, end: caption.end,
                    peak: best.map { pts[$0] } ?? caption.start, score: Double(similarity), frames: inside.count,
                    caption: caption.text, match: byWords ? .captionWords : .captionSimilarity)
                hits.append((moment, byWords))
            }
        }
        hits.sort { a, b in
            a.byWords != b.byWords ? a.byWords : a.moment.score > b.moment.score
        }
        return hits.map(\.moment)
    }
}

/// Small vector helpers of the caption half of a search.
private enum CaptionVector {
    /// `values` scaled to unit length (unchanged when all zero).
    static func unit(_ values: [Float]) -> [Float] {
        let norm = values.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return norm > 0 ? values.map { $0 / norm } : values
    }

    /// The dot product of two vectors of one length (0 when the lengths differ: a damaged row never matches).
    static func dot(_ a: [Float], _ b: [Float]) -> Float {
        guard a.count == b.count else { return 0 }
        var sum: Float = 0
        for i in a.indices { sum += a[i] * b[i] }
        return sum
    }
}
