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
final class BlockScratch {
    let rows: Int
    let norm: Tensor  // (rows, D) layer-norm output, the blocks' GEMM input
    let q: Tensor  // (rows, D)
    let k: Tensor  // (rows, D)
    let v: Tensor  // (rows, D)
    let attention: Tensor  // (rows, D) heads concatenated, before out_proj
    let mlp: Tensor  // (rows, I) fc1 output / activation

    init(rows: Int, shape: TowerShape) {
        self.rows = rows
        norm = Tensor(zeros: [rows, shape.width])
        q = Tensor(zeros: [rows, shape.width])
        k = Tensor(zeros: [rows, shape.width])
        v = Tensor(zeros: [rows, shape.width])
        attention = Tensor(zeros: [rows, shape.width])
        mlp = Tensor(zeros: [rows, shape.mlpWidth])
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
        // x = layer_norm1(h)
        LayerNorm.forward(
            hidden, into: s.norm.data, rows: rows, dim: d, gamma: layer.layerNorm1Weight.data,
            beta: layer.layerNorm1Bias.data, eps: shape.eps)
        // q, k, v = x·Wᵀ + b  (rows, D) each
        GEMM.linear(
            s.norm.data, rows: rows, inFeatures: d, weight: layer.qProjWeight.data, bias: layer.qProjBias.data,
            outFeatures: d, into: s.q.data)
        GEMM.linear(
            s.norm.data, rows: rows, inFeatures: d, weight: layer.kProjWeight.data, bias: layer.kProjBias.data,
            outFeatures: d, into: s.k.data)
        GEMM.linear(
            s.norm.data, rows: rows, inFeatures: d, weight: layer.vProjWeight.data, bias: layer.vProjBias.data,
            outFeatures: d, into: s.v.data)
        // a = softmax(q·kᵀ/√d_h) · v per head
        Attention.forward(
            q: s.q.data, ldq: d, k: s.k.data, ldk: d, v: s.v.data, ldv: d, into: s.attention.data, ldo: d,
            batch: batch, seq: seq, heads: shape.heads, headDim: shape.headDim, causal: causal)
        // h += a·W_outᵀ + b_out
        GEMM.linear(
            s.attention.data, rows: rows, inFeatures: d, weight: layer.outProjWeight.data,
            bias: layer.outProjBias.data, outFeatures: d, into: hidden, accumulate: true)
        // x = layer_norm2(h)
        LayerNorm.forward(
            hidden, into: s.norm.data, rows: rows, dim: d, gamma: layer.layerNorm2Weight.data,
            beta: layer.layerNorm2Bias.data, eps: shape.eps)
        // m = act(x·W1ᵀ + b1)  (rows, I)
        GEMM.linear(
            s.norm.data, rows: rows, inFeatures: d, weight: layer.fc1Weight.data, bias: layer.fc1Bias.data,
            outFeatures: shape.mlpWidth, into: s.mlp.data)
        shape.activation.apply(s.mlp.data, count: rows * shape.mlpWidth)
        // h += m·W2ᵀ + b2
        GEMM.linear(
            s.mlp.data, rows: rows, inFeatures: shape.mlpWidth, weight: layer.fc2Weight.data,
            bias: layer.fc2Bias.data, outFeatures: d, into: hidden, accumulate: true)
    }
}
