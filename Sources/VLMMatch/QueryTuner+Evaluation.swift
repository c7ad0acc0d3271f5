import Foundation

/// Held-out quality of a query on marked frames.
public struct TuneQuality: Sendable, Equatable, Codable {
    /// Average precision of the calibrated scores (positives ranked above negatives).
    public var averagePrecision: Double
    /// Suggested `enter` threshold: the one with the best F1.
    public var enter: Double
    /// Suggested `exit` threshold: 95% of positive frames score at or above it (never above `enter`).
    public var exit: Double
}

/// The report of `QueryTuner.evaluate`: held-out quality before and after tuning, and the final parameters.
public struct TuneReport: Sendable {
    /// The untuned query's quality on the same frames.
    public var before: TuneQuality
    /// The tuned queries' quality on the frames of their held-out folds.
    public var after: TuneQuality
    /// Folds actually used.
    public var folds: Int
    /// Trained on every marked frame.
    public var parameters: TuneParameters
}

extension QueryTuner {
    // MARK: - Scoring

    /// The calibrated score of each row under `p`: the softmax of the query against the negative prompts at the
    /// logit scale, after the adapter (`ScoreCalibrator` with the baseline off), or σ(s·c + b) for a sigmoid model.
    /// Without negative prompts a softmax model's score would be 1 for every frame; the ranking then uses
    /// (1 + c)/2, the cosine mapped into 0...1.
    public func scores(_ p: TuneParameters, images: [Double], logitBias: Double? = nil) -> [Double] {
        let adapter = TunedAdapter(parameters: p)
        let calibrator = ScoreCalibrator(logitScale: Foundation.exp(p.logScale), logitBias: logitBias)
        let d = p.dimension
        let k = prompts.count / d
        return (0..<(images.count / d)).map { i in
            let u = adapter.apply(images, start: i * d)
            let negatives = (0..<k).map { dot(u, 0, prompts, $0 * d, d) }
            let cosine = dot(u, 0, adapter.query, 0, d)
            if k == 0 && logitBias == nil { return (1 + cosine) / 2 }
            return calibrator.score(cosine: cosine, negatives: negatives, baseline: nil)
        }
    }

    // MARK: - k-fold

    /// Folds over the marked intervals: each class's intervals go round-robin to the folds; a class with fewer
    /// intervals than folds has each interval cut into contiguous pieces first. Returns each frame's fold.
    public func folds(_ examples: TuneExamples) -> (fold: [Int], count: Int) {
        let k = max(2, settings.folds)
        var fold = [Int](repeating: 0, count: examples.count)
        for cls in [true, false] {
            var groups: [Int: [Int]] = [:]
            for i in 0..<examples.count where examples.positive[i] == cls {
                groups[examples.group[i], default: []].append(i)
            }
            let ordered = groups.keys.sorted().map { groups[$0]! }
            let pieces = ordered.isEmpty ? 1 : max(1, (k + ordered.count - 1) / ordered.count)
            var unit = 0
            for rows in ordered {
                for piece in 0..<pieces {
                    let lo = rows.count * piece / pieces
                    let hi = rows.count * (piece + 1) / pieces
                    guard lo < hi else { continue }
                    for i in rows[lo..<hi] { fold[i] = unit % k }
                    unit += 1
                }
            }
        }
        return (fold, k)
    }

    /// Held-out quality before and after tuning (k-fold over the marked intervals), and the query trained on all.
    public func evaluate(_ examples: TuneExamples, logitBias: Double? = nil) -> TuneReport {
        let before = Self.quality(scores(initial, images: examples.images, logitBias: logitBias), examples.positive)
        let (fold, k) = folds(examples)
        var held = [Double](repeating: 0, count: examples.count)
        for f in 0..<k {
            let test = (0..<examples.count).filter { fold[$0] == f }
            let rest = (0..<examples.count).filter { fold[$0] != f }
            guard !test.isEmpty, rest.contains(where: { examples.positive[$0] }) else {
                for i in test {
                    held[i] = scores(initial, images: examples.subset([i]).images, logitBias: logitBias)[0]
                }
                continue
            }
            let tuned = train(examples, rows: rest).parameters
            let s = scores(tuned, images: examples.subset(test).images, logitBias: logitBias)
            for (i, score) in zip(test, s) { held[i] = score }
        }
        let after = Self.quality(held, examples.positive)
        return TuneReport(before: before, after: after, folds: k, parameters: train(examples).parameters)
    }

    // MARK: - Metrics

    /// Average precision: the mean, over positives, of the precision at each positive's rank (ties count against).
    public static func averagePrecision(_ scores: [Double], _ positive: [Bool]) -> Double {
        let order = scores.indices.sorted { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && !positive[$0]) }
        let total = positive.filter { $0 }.count
        guard total > 0 else { return 0 }
        var hits = 0
        var sum = 0.0
        for (rank, i) in order.enumerated() where positive[i] {
            hits += 1
            sum += Double(hits) / Double(rank + 1)
        }
        return sum / Double(total)
    }

    /// AP and suggested thresholds of `scores`.
    public static func quality(_ scores: [Double], _ positive: [Bool]) -> TuneQuality {
        let ap = averagePrecision(scores, positive)
        let total = positive.filter { $0 }.count
        let order = scores.indices.sorted { scores[$0] > scores[$1] }
        var best = (f1: -1.0, threshold: 0.5)
        var tp = 0
        for (rank, i) in order.enumerated() {
            if positive[i] { tp += 1 }
            if rank + 1 < order.count, scores[order[rank + 1]] == scores[i] { continue }
            let precision = Double(tp) / Double(rank + 1)
            let recall = total > 0 ? Double(tp) / Double(total) : 0
            let f1 = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0
            let next = rank + 1 < order.count ? scores[order[rank + 1]] : 0
            if f1 > best.f1 { best = (f1, (scores[i] + next) / 2) }
        }
        let positives = zip(scores, positive).filter(\.1).map(\.0).sorted()
        let fifth = positives.isEmpty ? best.threshold : positives[Int(Double(positives.count - 1) * 0.05)]
        let enter = min(1, max(0, best.threshold))
        return TuneQuality(averagePrecision: ap, enter: enter, exit: min(enter, max(0, fifth)))
    }
}
