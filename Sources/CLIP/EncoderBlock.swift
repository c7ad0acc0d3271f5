import VLMTensor

/// The shape of one transformer tower, from config.json.
struct TowerShape: Sendable {
    var width: Int  // D
    var heads: Int  // H
    var mlpWidth: Int  // I
    var activation: Activation
    var eps: Float

    var headDim: Int { width / heads }
}

/// Per-call scratch for the transformer blocks: enough rows for every token of the batch. Reused across calls.
///
/// q, k, v and the attention output are dead once the attention block has added its output to the residual
/// stream, so the MLP's hidden layer reuses their memory (`mlp` aliases `q`…`attention`).
final class BlockScratch {
    let rows: Int
    let norm: Tensor  // (rows, D) layer-norm output, the blocks' GEMM input
    let shared: Tensor  // rows × max(4D, I) floats: q | k | v | attention, later mlp
    let q: Tensor  // (rows, D)
    let k: Tensor  // (rows, D)
    let v: Tensor  // (rows, D)
    let attention: Tensor  // (rows, D) heads concatenated, before out_proj
    let mlp: Tensor  // (rows, I) fc1 output / activation
    /// For int8 blocks that carry v's outlier channels (`CarriedValues`): x_o (rows, c) and the attention's
    /// (rows, H·c) result, rows × D floats each at most; made on first use.
    lazy var carry = Tensor(zeros: [2 * norm.count])

    init(rows: Int, shape: TowerShape) {
        self.rows = rows
        let d = shape.width
        norm = Tensor(zeros: [rows, d])
        shared = Tensor(zeros: [rows * max(4 * d, shape.mlpWidth)])
        q = Tensor(borrowing: shared.data, shape: [rows, d], owner: shared)
        k = Tensor(borrowing: shared.data + rows * d, shape: [rows, d], owner: shared)
        v = Tensor(borrowing: shared.data + 2 * rows * d, shape: [rows, d], owner: shared)
        attention = Tensor(borrowing: shared.data + 3 * rows * d, shape: [rows, d], owner: shared)
        mlp = Tensor(borrowing: shared.data, shape: [rows, shape.mlpWidth], owner: shared)
    }
}

/// `CLIPEncoderLayer.forward`: pre-LN self-attention and MLP, each added to the residual stream.
enum EncoderBlock {
    /// Runs `layer` on `hidden` ((batch·seq, D), updated in place).
    static func forward(
        _ layer: CLIPWeights.Layer, hidden: UnsafeMutablePointer<Float>, batch: Int, seq: Int, shape: TowerShape,
        causal: Bool, scratch s: BlockScratch
    ) {
        let rows = batch * seq
        let d = shape.width
        project(layer, hidden: hidden, rows: rows, queries: true, shape: shape, scratch: s)
        // a = softmax(q·kᵀ/√d_h) · v per head
        let carried = CarriedValues(layer, rows: rows, shape: shape, scratch: s)
        Attention.forward(
            q: s.q.data, ldq: d, k: s.k.data, ldk: d, v: s.v.data, ldv: d, into: s.attention.data, ldo: d,
            batch: batch, seq: seq, heads: shape.heads, headDim: shape.headDim, causal: causal, extra: carried?.extra)
        finish(layer, rows: rows, hidden: hidden, shape: shape, scratch: s, carried: carried)
    }

    /// The start of a block for `rows` rows of `hidden`: x = layer_norm1(h) into `s.norm`, then k, v (and q when
    /// `queries`) = x·Wᵀ + b, (rows, D) each, in one parallel region over one packed copy of x.
    private static func project(
        _ layer: CLIPWeights.Layer, hidden: UnsafePointer<Float>, rows: Int, queries: Bool, shape: TowerShape,
        scratch s: BlockScratch
    ) {
        let d = shape.width
        LayerNorm.forward(
            hidden, into: s.norm.data, rows: rows, dim: d,
            gamma: (layer.int8?.layerNorm1?.weight ?? layer.layerNorm1Weight).data,
            beta: (layer.int8?.layerNorm1?.bias ?? layer.layerNorm1Bias).data, eps: shape.eps)
        var q = PrecisionLinear(
            weight: layer.qProjWeight, panels: layer.panels?.qProj, int8: layer.int8?.qProj, bias: layer.qProjBias,
            y: s.q.data)
        var k = PrecisionLinear(
            weight: layer.kProjWeight, panels: layer.panels?.kProj, int8: layer.int8?.kProj, bias: layer.kProjBias,
            y: s.k.data)
        var v = PrecisionLinear(
            weight: layer.vProjWeight, panels: layer.panels?.vProj, int8: layer.int8?.vProj, bias: layer.vProjBias,
            y: s.v.data)
        if let o = layer.int8?.outliers1 {
            // v's outlier columns stay out of its product when attention carries them instead (CarriedValues).
            let carried = layer.int8?.valueOutliers != nil
            (q.outliers, k.outliers, v.outliers) = (
                (o.channels, o.weights[0]), (o.channels, o.weights[1]), carried ? nil : (o.channels, o.weights[2])
            )
        }
        let zeroPoints = layer.int8?.zeroPoints == .all
        (q.zeroPoints, k.zeroPoints, v.zeroPoints) = (zeroPoints, zeroPoints, zeroPoints)
        PrecisionLinear.run(s.norm.data, rows: rows, inFeatures: d, queries ? [q, k, v] : [k, v])
    }

    /// The rest of a block once the attention output is in `s.attention` ((rows, D)), for `rows` rows of the
    /// residual stream `hidden`: the output projection (with the `carried` values' product) and the MLP, each added
    /// to it.
    private static func finish(
        _ layer: CLIPWeights.Layer, rows: Int, hidden: UnsafeMutablePointer<Float>, shape: TowerShape,
        scratch s: BlockScratch, carried: CarriedValues?
    ) {
        let d = shape.width
        // h += a·W_outᵀ + b_out (+ (P·x_o)·Mᵀ)
        PrecisionLinear.run(
            s.attention.data, rows: rows, inFeatures: d,
            [
                PrecisionLinear(
                    weight: layer.outProjWeight, panels: layer.panels?.outProj, int8: layer.int8?.outProj,
                    bias: layer.outProjBias, y: hidden, accumulate: true, zeroPoints: layer.int8?.zeroPoints == .all,
                    adding: carried.map { [$0.product] } ?? [])
            ])
        // x = layer_norm2(h)
        LayerNorm.forward(
            hidden, into: s.norm.data, rows: rows, dim: d,
            gamma: (layer.int8?.layerNorm2?.weight ?? layer.layerNorm2Weight).data,
            beta: (layer.int8?.layerNorm2?.bias ?? layer.layerNorm2Bias).data, eps: shape.eps)
        // m = act(x·W1ᵀ + b1)  (rows, I), the activation applied to each block while it is in cache
        PrecisionLinear.run(
            s.norm.data, rows: rows, inFeatures: d,
            [
                PrecisionLinear(
                    weight: layer.fc1Weight, panels: layer.panels?.fc1, int8: layer.int8?.fc1, bias: layer.fc1Bias,
                    y: s.mlp.data,
                    activation: shape.activation, outliers: layer.int8?.outliers2.map { ($0.channels, $0.weights[0]) },
                    zeroPoints: layer.int8?.zeroPoints == .all)
            ])
        // h += m·W2ᵀ + b2
        PrecisionLinear.run(
            s.mlp.data, rows: rows, inFeatures: shape.mlpWidth,
            [
                PrecisionLinear(
                    weight: layer.fc2Weight, panels: layer.panels?.fc2, int8: layer.int8?.fc2, bias: layer.fc2Bias,
                    y: hidden, accumulate: true, zeroPoints: (layer.int8?.zeroPoints ?? .none) != .none)
            ])
    }

    /// The last block when only one token per sequence is used afterwards (the class token CLIP's image tower pools,
    /// each text's end token): keys and values need every row, but the query, attention output, MLP and residual
    /// stream only the pooled rows, so this does ~1/seq of the block's other work. Sequence b's pooled token is at
    /// `positions[b]`; its output row ((batch, D), the same values `forward` leaves in that row) goes to `pooled`.
    static func forwardPooled(
        _ layer: CLIPWeights.Layer, hidden: UnsafePointer<Float>, batch: Int, seq: Int, positions: [Int],
        shape: TowerShape, causal: Bool, scratch s: BlockScratch, into pooled: UnsafeMutablePointer<Float>
    ) {
        let rows = batch * seq
        let d = shape.width
        // x = layer_norm1(h) and k, v = x·Wᵀ + b for every row
        project(layer, hidden: hidden, rows: rows, queries: false, shape: shape, scratch: s)
        // The pooled rows only: residual h_b → pooled, layer-normed x_b → attention (as a temporary), q_b = x_b·Wqᵀ
        for (b, position) in positions.enumerated() {
            let row = b * seq + position
            (pooled + b * d).update(from: hidden + row * d, count: d)
            (s.attention.data + b * d).update(from: s.norm.data + row * d, count: d)
        }
        PrecisionLinear.run(
            s.attention.data, rows: batch, inFeatures: d,
            [
                PrecisionLinear(
                    weight: layer.qProjWeight, panels: layer.panels?.qProj, int8: layer.int8?.qProj,
                    bias: layer.qProjBias, y: s.q.data,
                    outliers: layer.int8?.outliers1.map { ($0.channels, $0.weights[0]) },
                    zeroPoints: layer.int8?.zeroPoints == .all)
            ])
        let carried = CarriedValues(layer, rows: rows, shape: shape, scratch: s)
        Attention.pooled(
            q: s.q.data, ldq: d, positions: positions, k: s.k.data, ldk: d, v: s.v.data, ldv: d,
            into: s.attention.data, ldo: d, seq: seq, heads: shape.heads, headDim: shape.headDim, causal: causal,
            extra: carried?.extra)
        // h_b += a_b·W_outᵀ + b_out (+ the carried values); h_b += fc2(act(fc1(layer_norm2(h_b))))
        finish(layer, rows: batch, hidden: pooled, shape: shape, scratch: s, carried: carried)
    }
}

/// An int8 block's outlier channels of v carried through attention in float32 (`Int8Linears.valueOutliers`, M
/// (D, H·c)): x_o (rows, c), layer_norm1's output at those channels, goes to attention as value columns beside every
/// head's own; head h's P_h·x_o lands in columns h·c ..< (h+1)·c of a (rows, H·c) matrix, which meets M in float32,
/// y += (P·x_o)·Mᵀ. Attention is linear in v, so this is exact; the int8 out_proj then sees only the rest, whose
/// per-token scale those channels no longer set. Nil when the block does not carry them.
private struct CarriedValues {
    let weight: Tensor  // M
    let channels: Int  // c
    let heads: Int
    let values: UnsafeMutablePointer<Float>  // (rows, c)
    let results: UnsafeMutablePointer<Float>  // (rows, H·c)

    init?(_ layer: CLIPWeights.Layer, rows: Int, shape: TowerShape, scratch s: BlockScratch) {
        guard let weight = layer.int8?.valueOutliers, let channels = layer.int8?.outliers1?.channels else { return nil }
        let d = shape.width
        (self.weight, self.channels, heads) = (weight, channels.count, shape.heads)
        values = s.carry.data
        results = s.carry.data + s.rows * d
        for r in 0..<rows {
            for (i, channel) in channels.enumerated() { values[r * channels.count + i] = s.norm.data[r * d + channel] }
        }
    }

    var extra: Attention.ExtraValues {
        Attention.ExtraValues(values: values, ldv: channels, columns: channels, output: results, ldo: heads * channels)
    }

    /// y += (P·x_o)·Mᵀ, added to out_proj's output block by block.
    var product: GEMM.NarrowProduct {
        GEMM.NarrowProduct(x: results, ldx: heads * channels, columns: heads * channels, weight: weight.data)
    }
}
