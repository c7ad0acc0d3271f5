import Foundation
import VLMCore

/// Frames marked for tuning: frozen embeddings from an index, each positive or negative, each from one marked
/// interval (`group`), in time order within a group.
public struct TuneExamples: Sendable {
    /// Embedding length D.
    public let dimension: Int
    /// `count × dimension` row-major, unit length.
    public let images: [Double]
    /// Whether each frame is a positive.
    public let positive: [Bool]
    /// The marked interval each frame comes from.
    public let group: [Int]

    /// Examples from their parts (frames are normalised here).
    public init(dimension: Int, images: [Float], positive: [Bool], group: [Int]) {
        precondition(images.count == positive.count * dimension && group.count == positive.count, "TuneExamples")
        self.dimension = dimension
        var rows = images.map(Double.init)
        for i in 0..<positive.count {
            let n = max(dot(rows, i * dimension, rows, i * dimension, dimension).squareRoot(), 1e-12)
            for j in 0..<dimension { rows[i * dimension + j] /= n }
        }
        self.images = rows
        self.positive = positive
        self.group = group
    }

    /// Number of frames.
    public var count: Int { positive.count }

    /// The examples at `rows` (in that order).
    func subset(_ rows: [Int]) -> (images: [Double], positive: [Bool]) {
        var out = [Double]()
        out.reserveCapacity(rows.count * dimension)
        for i in rows { out += images[(i * dimension)..<((i + 1) * dimension)] }
        return (out, rows.map { positive[$0] })
    }
}

/// How tuning runs.
public struct TuneSettings: Sendable {
    /// Adapter rank r.
    public var rank = 4
    /// Adam steps.
    public var steps = 150
    /// Adam learning rate.
    public var learningRate = 0.01
    /// Decay toward the starting point (λ).
    public var decay = 0.05
    /// Folds for the held-out estimate.
    public var folds = 5
    /// Seed of V's random start.
    public var seed: UInt64 = 0x5eed

    /// The defaults.
    public init() {}
}

/// Tunes a query (embedding, adapter, logit scale) by full-batch Adam on `ContrastiveObjective`.
public struct QueryTuner: Sendable {
    /// The settings.
    public let settings: TuneSettings
    /// The starting query embedding (text or example images), unit length.
    public let start: [Double]
    /// The model's logit scale s (not its log).
    public let logitScale: Double
    /// Negative prompts, `K × D` row-major, unit length.
    public let prompts: [Double]

    /// A tuner starting from `start` at the model's `logitScale`.
    public init(settings: TuneSettings, start: [Float], logitScale: Double, prompts: [[Float]]) {
        self.settings = settings
        let q = start.map(Double.init)
        let n = max(norm(q), 1e-12)
        self.start = q.map { $0 / n }
        self.logitScale = logitScale
        self.prompts = prompts.flatMap { p in
            let v = p.map(Double.init)
            let n = max(norm(v), 1e-12)
            return v.map { $0 / n }
        }
    }

    /// The untuned query: the start, an identity adapter (U = 0, V random small), the model's scale.
    public var initial: TuneParameters {
        let d = start.count
        let r = max(1, min(settings.rank, d))
        var rng = SplitMix64(seed: settings.seed)
        let v = (0..<(d * r)).map { _ in (rng.nextUnitDouble() - 0.5) * 0.2 / Double(r).squareRoot() }
        return TuneParameters(
            query: start, u: [Double](repeating: 0, count: d * r), v: v, logScale: Foundation.log(logitScale), rank: r)
    }

    /// Trains on `rows` of `examples`; returns the tuned parameters and the final loss.
    public func train(_ examples: TuneExamples, rows: [Int]? = nil) -> (parameters: TuneParameters, loss: Double) {
        let (images, positive) = examples.subset(rows ?? Array(0..<examples.count))
        let anchor = initial
        let objective = ContrastiveObjective(
            images: images, positive: positive, prompts: prompts, anchor: anchor, decay: settings.decay)
        var p = anchor
        var adam = Adam(count: p.query.count + 2 * p.u.count + 1, rate: settings.learningRate)
        var loss = 0.0
        for _ in 0..<settings.steps {
            let (l, g) = objective.lossAndGradient(p)
            loss = l
            var flat = p.query + p.u + p.v + [p.logScale]
            adam.step(&flat, gradient: g.query + g.u + g.v + [g.logScale])
            let d = p.query.count
            let n = p.u.count
            p = TuneParameters(
                query: Array(flat[0..<d]), u: Array(flat[d..<(d + n)]), v: Array(flat[(d + n)..<(d + 2 * n)]),
                logScale: flat[d + 2 * n], rank: p.rank)
        }
        return (p, loss)
    }
}

/// Adam (Kingma & Ba 2015) with the usual β₁ = 0.9, β₂ = 0.999, ε = 1e-8, as torch.optim.Adam.
struct Adam {
    var m: [Double]
    var v: [Double]
    var t = 0
    let rate: Double

    init(count: Int, rate: Double) {
        m = [Double](repeating: 0, count: count)
        v = [Double](repeating: 0, count: count)
        self.rate = rate
    }

    mutating func step(_ x: inout [Double], gradient g: [Double]) {
        t += 1
        let c1 = 1 - Foundation.pow(0.9, Double(t))
        let c2 = 1 - Foundation.pow(0.999, Double(t))
        for i in x.indices {
            m[i] = 0.9 * m[i] + 0.1 * g[i]
            v[i] = 0.999 * v[i] + 0.001 * g[i] * g[i]
            x[i] -= rate * (m[i] / c1) / ((v[i] / c2).squareRoot() + 1e-8)
        }
    }
}
