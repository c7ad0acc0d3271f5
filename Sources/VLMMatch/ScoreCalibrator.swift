import Foundation

/// Turns raw CLIP cosines into a score in 0...1 that means the same thing for every query and scene.
///
/// Raw cosines are not comparable: every caption scores 0.15–0.35 against every image, each query has its own
/// offset, and lighting or a new scene moves all of them together. Two references fix that:
///
/// 1. **Negatives** `n_k`: the frame's cosine with K background prompts ("an empty room", "the sky", …),
///    embedded with the same template ensemble. A softmax at CLIP's logit scale `s` (≈100) turns "the query beats
///    the background by Δ cosine" into a probability, and a shift that moves all cosines alike cancels out.
/// 2. **Baseline** `b`: the query's own usual cosine on this stream (and view), the median over a rolling
///    time window (`RollingBaseline`). It enters the softmax as one more competitor, lifted by a margin `m`, so a
///    query that is always a bit similar to the scene (a "chair" query in an office) does not fire; only a rise
///    above its usual level does.
///
/// With `c` the frame's cosine with the query:
///
///     score = exp(s·c) / ( exp(s·c) + Σ_k exp(s·n_k) + exp(s·(b + m)) )
///
/// (the last term is left out while the baseline is off or unseeded). Properties the tests check: the score is
/// in 0...1; adding the same constant to every cosine (and the baseline) leaves it unchanged; at `c == b + m` it
/// is at most 1/2 (`e^x / (e^x + e^x + Σ…)`), so a query sitting at its baseline never reaches an enter threshold
/// above 0.5; and with the baseline off it equals the plain softmax of the query against the negatives.
///
/// **Sigmoid-trained models** (SigLIP, `logitBias` set): the model's own probability `σ(s·c + b)` is already a
/// calibrated, per-query probability, so by default it is the score and the references are not used
/// (`references: false`). With references on, the probability is discounted by the softmax above:
///
///     score = σ(s·c + b) · exp(s·c) / ( exp(s·c) + Σ_k exp(s·n_k) + exp(s·(b_q + m)) )
///
/// so the score is still in 0...1, never above the model's probability, and at most half of it while the query
/// sits at its baseline.
public struct ScoreCalibrator: Sendable, Equatable {
    /// The model's temperature `exp(logit_scale)` (TextEncoding.logitScale; 100 for the openai checkpoints).
    public var logitScale: Double
    /// Cosine margin `m` added to the baseline.
    public var baselineMargin: Double
    /// SigLIP's `logit_bias` (TextEncoding.logitBias); nil for softmax-trained models (CLIP).
    public var logitBias: Double?
    /// Whether negatives and the baseline take part: always for CLIP (its cosines mean nothing on their own), for
    /// SigLIP only when asked (`MatchSettings.sigmoidReferences`).
    public var references: Bool

    /// A calibrator at the model's logit scale (and bias, for a sigmoid-trained model).
    public init(logitScale: Double, baselineMargin: Double = 0, logitBias: Double? = nil, references: Bool = false) {
        self.logitScale = logitScale
        self.baselineMargin = baselineMargin
        self.logitBias = logitBias
        self.references = references || logitBias == nil
    }

    /// The calibrated score of a frame (see the type's documentation), computed as a stable log-sum-exp.
    /// A non-finite cosine (broken weights, a NaN frame) scores 0 and non-finite competitors are ignored, so a bad
    /// frame can neither fire an event nor put NaN into the JSON output.
    public func score(cosine: Double, negatives: [Double], baseline: Double?) -> Double {
        guard cosine.isFinite else { return 0 }
        guard let logitBias else { return relative(cosine: cosine, negatives: negatives, baseline: baseline) }
        let probability = sigmoid(logitScale * cosine + logitBias)
        guard references else { return probability }
        return probability * relative(cosine: cosine, negatives: negatives, baseline: baseline)
    }

    /// The softmax of the query against the negatives and its lifted baseline (1 without competitors).
    private func relative(cosine: Double, negatives: [Double], baseline: Double?) -> Double {
        var competitors = negatives.filter(\.isFinite)
        if let baseline, baseline.isFinite { competitors.append(baseline + baselineMargin) }
        guard !competitors.isEmpty else { return 1 }
        let top = max(cosine, competitors.max()!)
        let own = Foundation.exp(logitScale * (cosine - top))
        var total = own
        for n in competitors { total += Foundation.exp(logitScale * (n - top)) }
        return own / total
    }
}

/// The logistic function 1 / (1 + e^-x), stable for any x.
public func sigmoid(_ x: Double) -> Double {
    guard !x.isNaN else { return 0 }
    if x >= 0 { return 1 / (1 + Foundation.exp(-x)) }
    let e = Foundation.exp(x)
    return e / (1 + e)
}

/// A softmax over logits (`s · cosine`), stable for any range; the probabilities sum to 1.
public func softmax(_ logits: [Double]) -> [Double] {
    guard let top = logits.max() else { return [] }
    let exps = logits.map { Foundation.exp($0 - top) }
    let total = exps.reduce(0, +)
    return exps.map { $0 / total }
}

/// A query's usual cosine on one view of one stream: the median of its cosines over the last `window` seconds.
///
/// The median, not a mean: a dip (the object briefly occluded, someone walking past) or a peak (the target
/// itself) that covers less than half the window hardly moves it, so the baseline neither drops during an
/// occlusion (which would make the query fire when the scene returns to normal) nor follows a target that comes
/// and goes. A query that is similar to the scene all the time is at its median all the time and never fires.
/// An object that stays in view for more than about half the window becomes the new normal: its match ends. The
/// current frame counts too, so the first frame of a stream is its own baseline.
public struct RollingBaseline: Sendable, Equatable {
    /// Length of the window in seconds; 0 means the baseline is off and `value` stays nil.
    public var window: Double
    /// (pts, cosine) of the frames in the window from `head` on, oldest first (expired ones before `head` are
    /// compacted away in batches, so expiry is not a memmove per frame).
    private var samples: [(pts: Double, cosine: Double)] = []
    private var head = 0
    /// The same cosines, kept sorted (binary-search insert and remove: O(log n) search, O(n) memmove).
    private var sorted: [Double] = []
    /// The median of the window, nil before the first update (or when off).
    public private(set) var value: Double?

    /// An empty baseline.
    public init(window: Double) {
        self.window = window
    }

    /// Adds the cosine `c` of the frame at `pts`, drops frames older than the window, recomputes the median.
    public mutating func update(_ c: Double, at pts: Double) {
        guard window > 0, c.isFinite else { return }
        samples.append((pts, c))
        sorted.insert(c, at: Self.lowerBound(of: c, in: sorted))
        while head < samples.count - 1, samples[head].pts <= pts - window {
            sorted.remove(at: Self.lowerBound(of: samples[head].cosine, in: sorted))
            head += 1
        }
        if head >= 64, head * 2 >= samples.count {
            samples.removeFirst(head)
            head = 0
        }
        let mid = sorted.count / 2
        value = sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
    }

    /// The first index whose element is not less than `x`.
    private static func lowerBound(of x: Double, in array: [Double]) -> Int {
        var low = 0
        var high = array.count
        while low < high {
            let mid = (low + high) / 2
            if array[mid] < x { low = mid + 1 } else { high = mid }
        }
        return low
    }

    /// Number of frames in the window.
    public var count: Int { sorted.count }

    public static func == (lhs: RollingBaseline, rhs: RollingBaseline) -> Bool {
        lhs.window == rhs.window && lhs.value == rhs.value
            && lhs.samples[lhs.head...].elementsEqual(rhs.samples[rhs.head...]) {
                $0.pts == $1.pts && $0.cosine == $1.cosine
            }
    }
}
