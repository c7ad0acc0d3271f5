import Foundation
import VLMTensor

/// What a tuned query learns: its embedding, a low-rank residual adapter on frame embeddings, and the logit scale.
///
/// The adapter maps a frame embedding `x` (length D) to `x + A·x` with `A = U·Vᵀ` (U, V: D×r, row-major), as in
/// LoRA: `U` starts at 0 (so the adapter starts as the identity) and `V` at small random values.
public struct TuneParameters: Sendable, Equatable {
    /// The query embedding `q` (D; any length, it is normalised where used).
    public var query: [Double]
    /// `U`, D×r row-major (`U[d*r + a]`).
    public var u: [Double]
    /// `V`, D×r row-major.
    public var v: [Double]
    /// `t = log s`, the log of the logit scale `s`.
    public var logScale: Double
    /// The adapter's rank r.
    public let rank: Int

    /// Parameters from their parts; `u.count == v.count == query.count * rank`.
    public init(query: [Double], u: [Double], v: [Double], logScale: Double, rank: Int) {
        precondition(u.count == query.count * rank && v.count == query.count * rank, "TuneParameters shape")
        self.query = query
        self.u = u
        self.v = v
        self.logScale = logScale
        self.rank = rank
    }

    /// Embedding length D.
    public var dimension: Int { query.count }
}

/// CLIP's symmetric contrastive loss of one query against marked frames, with its gradient written out by hand.
///
/// Rows are frames `x_i` (unit length, fp32 from the index, held as Double), each positive or negative; columns
/// are the query `q` and the K negative prompts `n_k` (fixed, unit length). With
///
///     h_i = Vᵀ x_i                 (r)        z_i = x_i + U h_i        (D)       u_i = z_i / ‖z_i‖
///     q̂  = q / ‖q‖                 s = exp(t)  l_i0 = s u_i·q̂           l_ik = s u_i·n_k
///
/// the loss is the mean of two cross-entropies plus decay toward the starting point (q₀, V₀, t₀; U₀ = 0):
///
///     L_q→i = −(1/P) Σ_{i pos} log softmax_i(l_·0)_i                    query column against every frame
///     L_i→q = (1/R') Σ_i ℓ_i,  ℓ_i = −log softmax_j(l_i·)_0              positive row: the query is its text
///                              ℓ_i = −log Σ_{k≥1} softmax_j(l_i·)_k       negative row: a negative prompt is
///     L = ½(L_q→i + L_i→q) + (λ/2)(‖q−q₀‖² + ‖U‖² + ‖V−V₀‖² + (t−t₀)²)
///
/// (negative rows take part in L_i→q only when there are negative prompts; R' counts the rows that do).
/// `scripts/golden/make_tune_golden.py` writes the same loss in PyTorch; the tests compare loss and gradients.
public struct ContrastiveObjective: Sendable {
    /// Frames, `count × dimension` row-major, unit length.
    public let images: [Double]
    /// Whether each frame is a positive.
    public let positive: [Bool]
    /// Negative prompts, `K × dimension` row-major, unit length.
    public let prompts: [Double]
    /// The starting point the decay pulls toward.
    public let anchor: TuneParameters
    /// Decay strength λ.
    public let decay: Double

    /// An objective over `images` (row-major, `positive.count` rows of `anchor.dimension`).
    public init(images: [Double], positive: [Bool], prompts: [Double], anchor: TuneParameters, decay: Double) {
        precondition(images.count == positive.count * anchor.dimension, "ContrastiveObjective images shape")
        precondition(prompts.count % anchor.dimension == 0, "ContrastiveObjective prompts shape")
        self.images = images
        self.positive = positive
        self.prompts = prompts
        self.anchor = anchor
        self.decay = decay
    }

    /// The loss at `p` and its gradient with respect to every parameter (same shapes as `p`).
    ///
    /// The products over all frames are float64 matrix products (`GEMM.multiply`, OpenBLAS): H = X·V, Z = X + H·Uᵀ,
    /// logits = s·Û·Cᵀ with C = [q̂; n_1…n_K], and on the way back ∂Û = s·G·C, ∂U = ∂Zᵀ·H, ∂H = ∂Z·U, ∂V = Xᵀ·∂H.
    public func lossAndGradient(_ p: TuneParameters) -> (loss: Double, gradient: TuneParameters) {
        let d = p.dimension
        let r = p.rank
        let rows = positive.count
        let k = prompts.count / d
        let columns = k + 1
        let s = Foundation.exp(p.logScale)
        let qNorm = max(norm(p.query), 1e-12)
        let qHat = p.query.map { $0 / qNorm }
        let targets = qHat + prompts  // C: columns × D, the query then the prompts
        // Forward: h (rows×r), u (rows×D), ‖z‖, logits (rows×columns).
        var h = [Double](repeating: 0, count: rows * r)
        var unit = images  // becomes z, then u
        var zNorm = [Double](repeating: 0, count: rows)
        var logits = [Double](repeating: 0, count: rows * columns)
        GEMM.multiply(m: rows, n: r, k: d, a: images, lda: d, b: p.v, ldb: r, c: &h, ldc: r)  // H = X·V
        GEMM.multiply(  // Z = X + H·Uᵀ
            m: rows, n: d, k: r, a: h, lda: r, b: p.u, ldb: r, transposeB: true, c: &unit, ldc: d, beta: 1)
        unit.withUnsafeMutableBufferPointer { z in
            for i in 0..<rows {
                let row = UnsafeMutableBufferPointer(rebasing: z[(i * d)..<((i + 1) * d)])
                var squared = 0.0
                for j in 0..<d { squared += row[j] * row[j] }
                let n = max(squared.squareRoot(), 1e-12)
                zNorm[i] = n
                for j in 0..<d { row[j] /= n }  // u_i = z_i / ‖z_i‖
            }
        }
        GEMM.multiply(  // l_ij = s u_i·c_j
            m: rows, n: columns, k: d, a: unit, lda: d, b: targets, ldb: d, transposeB: true, c: &logits,
            ldc: columns, alpha: s)
        // dL/dl (rows×columns), both cross-entropies.
        var g = [Double](repeating: 0, count: rows * columns)
        let positives = positive.filter { $0 }.count
        var loss = 0.0
        if positives > 0 {
            let column = (0..<rows).map { logits[$0 * columns] }
            let lse = logSumExp(column)
            for i in 0..<rows {
                let pi = Foundation.exp(column[i] - lse)
                if positive[i] { loss -= 0.5 * (column[i] - lse) / Double(positives) }
                g[i * columns] += 0.5 * (pi - (positive[i] ? 1 / Double(positives) : 0))
            }
        }
        let counted = k > 0 ? rows : positives
        for i in 0..<rows where counted > 0 && (positive[i] || k > 0) {
            let row = Array(logits[(i * columns)..<((i + 1) * columns)])
            let lse = logSumExp(row)
            let weight = 0.5 / Double(counted)
            if positive[i] {
                loss -= weight * (row[0] - lse)
                for c in 0..<columns {
                    g[i * columns + c] += weight * (Foundation.exp(row[c] - lse) - (c == 0 ? 1 : 0))
                }
            } else {
                let others = logSumExp(Array(row[1...]))
                loss -= weight * (others - lse)
                g[i * columns] += weight * Foundation.exp(row[0] - lse)
                for c in 1..<columns {
                    let pc = Foundation.exp(row[c] - lse)
                    g[i * columns + c] += weight * (pc - Foundation.exp(row[c] - others))
                }
            }
        }
        // Backward.
        var dLogScale = 0.0
        for i in 0..<(rows * columns) { dLogScale += g[i] * logits[i] }  // ∂l/∂t = l
        // ∂L/∂u_i = s (G_i0 q̂ + Σ_k G_ik n_k), rows × D; ∂L/∂q̂ = s Σ_i G_i0 u_i.
        var dz = [Double](repeating: 0, count: rows * d)
        GEMM.multiply(m: rows, n: d, k: columns, a: g, lda: columns, b: targets, ldb: d, c: &dz, ldc: d, alpha: s)
        var dqHat = [Double](repeating: 0, count: d)
        GEMM.multiply(
            m: 1, n: d, k: rows, a: g, lda: columns, transposeA: true, b: unit, ldb: d, c: &dqHat, ldc: d, alpha: s)
        dz.withUnsafeMutableBufferPointer { dz in
            unit.withUnsafeBufferPointer { u in
                for i in 0..<rows {  // through u = z/‖z‖: ∂z_i = (∂u_i − u_i (∂u_i·u_i)) / ‖z_i‖
                    let x = i * d
                    var radial = 0.0
                    for j in 0..<d { radial += dz[x + j] * u[x + j] }
                    for j in 0..<d { dz[x + j] = (dz[x + j] - u[x + j] * radial) / zNorm[i] }
                }
            }
        }
        var du = [Double](repeating: 0, count: d * r)
        GEMM.multiply(m: d, n: r, k: rows, a: dz, lda: d, transposeA: true, b: h, ldb: r, c: &du, ldc: r)  // Σ ∂z hᵀ
        var dh = [Double](repeating: 0, count: rows * r)
        GEMM.multiply(m: rows, n: r, k: d, a: dz, lda: d, b: p.u, ldb: r, c: &dh, ldc: r)  // ∂h_i = Uᵀ ∂z_i
        var dv = [Double](repeating: 0, count: d * r)
        GEMM.multiply(m: d, n: r, k: rows, a: images, lda: d, transposeA: true, b: dh, ldb: r, c: &dv, ldc: r)
        let radial = dot(dqHat, 0, qHat, 0, d)
        var dq = (0..<d).map { (dqHat[$0] - qHat[$0] * radial) / qNorm }  // through q̂ = q/‖q‖
        // Decay toward the start.
        let lambda = decay
        var penalty = 0.0
        for j in 0..<d {
            let diff = p.query[j] - anchor.query[j]
            penalty += diff * diff
            dq[j] += lambda * diff
        }
        for j in 0..<(d * r) {
            penalty += p.u[j] * p.u[j]
            du[j] += lambda * p.u[j]
            let diff = p.v[j] - anchor.v[j]
            penalty += diff * diff
            dv[j] += lambda * diff
        }
        let dt = p.logScale - anchor.logScale
        penalty += dt * dt
        dLogScale += lambda * dt
        loss += 0.5 * lambda * penalty
        return (loss, TuneParameters(query: dq, u: du, v: dv, logScale: dLogScale, rank: r))
    }
}

// MARK: - Helpers

func norm(_ v: [Double]) -> Double {
    v.reduce(0) { $0 + $1 * $1 }.squareRoot()
}

func dot(_ a: [Double], _ aStart: Int, _ b: [Double], _ bStart: Int, _ count: Int) -> Double {
    a.withUnsafeBufferPointer { a in
        b.withUnsafeBufferPointer { b in
            var sum = 0.0
            for j in 0..<count { sum += a[aStart + j] * b[bStart + j] }
            return sum
        }
    }
}

func logSumExp(_ values: [Double]) -> Double {
    guard let top = values.max(), top.isFinite else { return values.max() ?? -.infinity }
    return top + Foundation.log(values.reduce(0) { $0 + Foundation.exp($1 - top) })
}
