import Foundation
import VLMTensor

/// The numeric precision of a tower's linear layers.
public enum Precision: String, Sendable, CaseIterable, Codable {
    /// Every product in float32.
    case fp32
    /// The q/k/v/out projections and both MLP layers in int8 (weights per output row, activations per token);
    /// layer norms, attention, softmax and the residual stream stay float32.
    case int8
}

/// Which int8 products quantize their input per row asymmetrically, with an integer zero point (the row's range
/// [min(0, min x), max(0, max x)] in 255 steps), rather than symmetrically (max |x| in 127 steps).
public enum ZeroPoints: String, Sendable, CaseIterable {
    /// Every input symmetric.
    case none
    /// fc2's input (GELU's output, almost one-sided: a bit more resolution where it matters most).
    case fc2
    /// Every input (the default: on the ViT-B/32 outlier fixture, error 0.047 against 0.053 for fc2 alone and 0.058
    /// for none; docs/encoder.md).
    case all
}

extension CLIPWeights {
    /// The int8 weights of one block's six linear layers (PyTorch keys relative to `encoder.layers.{i}.`).
    public struct Int8Linears: Sendable {
        public let qProj: QuantizedWeight  // self_attn.q_proj.weight (D, D)
        public let kProj: QuantizedWeight  // self_attn.k_proj.weight (D, D)
        public let vProj: QuantizedWeight  // self_attn.v_proj.weight (D, D)
        public let outProj: QuantizedWeight  // self_attn.out_proj.weight (D, D)
        public let fc1: QuantizedWeight  // mlp.fc1.weight (I, D)
        public let fc2: QuantizedWeight  // mlp.fc2.weight (D, I)
        /// layer_norm1 / layer_norm2 gains and biases (D) with the smoothing factors divided out (SmoothQuant), when
        /// the int8 weights were made with smoothing; nil: the float32 ones.
        public let layerNorm1: (weight: Tensor, bias: Tensor)?
        public let layerNorm2: (weight: Tensor, bias: Tensor)?
        /// Outlier input channels kept in float32 (LLM.int8()-style decomposition), when the weights were made so:
        /// for layer_norm1's output (q, k, v) and layer_norm2's (fc1), the channels and, per layer, the float32
        /// columns W[:, channels] ((out, channels) each). Their int8 columns are zero and the kernel's input has
        /// them zeroed, so the per-token scale comes from the other channels.
        public internal(set) var outliers1: (channels: [Int], weights: [Tensor])? = nil
        public internal(set) var outliers2: (channels: [Int], weights: [Tensor])? = nil
        /// The outlier channels' share of v carried through attention and out_proj in float32, when set (int8 made
        /// with outliers1): M (D, H·c), column h·c + i = Σ_{t in head h} W_out[:, t] · Wv[t, channels1[i]]. v's
        /// product then leaves those channels out, and the block adds Σ_h (P_h · x[:, channels1]) · M_hᵀ, P_h head
        /// h's attention probabilities: exact algebra (attention is linear in v), so the int8 out_proj sees only the
        /// rest, whose per-token scale those channels no longer set.
        public internal(set) var valueOutliers: Tensor? = nil
        /// Which inputs are quantized per row with a zero point (asymmetric) rather than symmetric.
        public internal(set) var zeroPoints: ZeroPoints = CLIPWeights.defaultZeroPoints

        public init(
            qProj: QuantizedWeight, kProj: QuantizedWeight, vProj: QuantizedWeight, outProj: QuantizedWeight,
            fc1: QuantizedWeight, fc2: QuantizedWeight, layerNorm1: (weight: Tensor, bias: Tensor)? = nil,
            layerNorm2: (weight: Tensor, bias: Tensor)? = nil
        ) {
            (self.qProj, self.kProj, self.vProj, self.outProj, self.fc1, self.fc2) =
                (qProj, kProj, vProj, outProj, fc1, fc2)
            (self.layerNorm1, self.layerNorm2) = (layerNorm1, layerNorm2)
        }

        /// Quantizes `layer`'s float32 weights per output row. With `smoothing` α > 0, first moves the outlier
        /// channels' range from each layer norm's output into the weights it feeds (SmoothQuant): per input channel c,
        /// s_c = a_c^α / w_c^(1−α) with a_c = 4|γ_c| + |β_c| (the normalized input is within ~±4) and w_c the largest
        /// |W[:, c]| of q/k/v (layer_norm1) or fc1 (layer_norm2); then γ_c, β_c ÷ s_c and W[:, c] × s_c, which
        /// leaves the float32 function unchanged.
        init(quantizing layer: Layer, smoothing alpha: Float, keepOutliers: Bool) {
            guard keepOutliers else {
                self.init(quantizing: layer, smoothing: alpha)
                return
            }
            let channels1 = Self.outlierChannels(layer.layerNorm1Weight)
            let channels2 = Self.outlierChannels(layer.layerNorm2Weight)
            guard !channels1.isEmpty || !channels2.isEmpty else {  // none found: smoothing, if asked for
                self.init(quantizing: layer, smoothing: alpha)
                return
            }
            func split(_ w: Tensor, _ channels: [Int]) -> (int8: QuantizedWeight, columns: Tensor) {
                let (n, d) = (w.shape[0], w.shape[1])
                let columns = Tensor(zeros: [n, channels.count])
                var kept = [Float](repeating: 1, count: d)  // the int8 product's columns: the outliers' are zero
                for (i, c) in channels.enumerated() {
                    kept[c] = 0
                    for r in 0..<n { columns.data[r * channels.count + i] = w.data[r * d + c] }
                }
                return (QuantizedWeight(quantizing: w, columnScales: kept), columns)
            }
            let (q, k, v) = (
                split(layer.qProjWeight, channels1), split(layer.kProjWeight, channels1),
                split(layer.vProjWeight, channels1)
            )
            let fc1 = split(layer.fc1Weight, channels2)
            self.init(
                qProj: q.int8, kProj: k.int8, vProj: v.int8, outProj: QuantizedWeight(quantizing: layer.outProjWeight),
                fc1: fc1.int8, fc2: QuantizedWeight(quantizing: layer.fc2Weight))
            if !channels1.isEmpty { outliers1 = (channels1, [q.columns, k.columns, v.columns]) }
            if !channels2.isEmpty { outliers2 = (channels2, [fc1.columns]) }
        }

        /// M of `valueOutliers` from out_proj's float32 weight W_out (D, D) and v_proj's outlier columns Wv[:, c]
        /// (D, c), for `heads` heads.
        static func valueOutlierWeight(outProj: Tensor, valueColumns: Tensor, heads: Int) -> Tensor {
            let (d, c) = (valueColumns.shape[0], valueColumns.shape[1])
            let headDim = d / heads
            let m = Tensor(zeros: [d, heads * c])
            for j in 0..<d {
                for h in 0..<heads {
                    for i in 0..<c {
                        var sum: Float = 0
                        for t in (h * headDim)..<((h + 1) * headDim) {
                            sum += outProj.data[j * d + t] * valueColumns.data[t * c + i]
                        }
                        m.data[j * heads * c + h * c + i] = sum
                    }
                }
            }
            return m
        }

        /// The channels whose |gain| exceeds `outlierGainRatio` × the median |gain| (none if more than 1/8 do).
        static func outlierChannels(_ gamma: Tensor) -> [Int] {
            let magnitudes = (0..<gamma.count).map { abs(gamma.data[$0]) }
            let median = magnitudes.sorted()[magnitudes.count / 2]
            let outliers = magnitudes.indices.filter { magnitudes[$0] > CLIPWeights.outlierGainRatio * median }
            return outliers.count <= max(1, gamma.count / 8) ? outliers : []
        }

        init(quantizing layer: Layer, smoothing alpha: Float) {
            guard alpha > 0 else {
                self.init(
                    qProj: QuantizedWeight(quantizing: layer.qProjWeight),
                    kProj: QuantizedWeight(quantizing: layer.kProjWeight),
                    vProj: QuantizedWeight(quantizing: layer.vProjWeight),
                    outProj: QuantizedWeight(quantizing: layer.outProjWeight),
                    fc1: QuantizedWeight(quantizing: layer.fc1Weight),
                    fc2: QuantizedWeight(quantizing: layer.fc2Weight))
                return
            }
            let (norm1, factors1) = Self.smooth(
                gamma: layer.layerNorm1Weight, beta: layer.layerNorm1Bias,
                weights: [layer.qProjWeight, layer.kProjWeight, layer.vProjWeight], alpha: alpha)
            let (norm2, factors2) = Self.smooth(
                gamma: layer.layerNorm2Weight, beta: layer.layerNorm2Bias, weights: [layer.fc1Weight], alpha: alpha)
            self.init(
                qProj: QuantizedWeight(quantizing: layer.qProjWeight, columnScales: factors1),
                kProj: QuantizedWeight(quantizing: layer.kProjWeight, columnScales: factors1),
                vProj: QuantizedWeight(quantizing: layer.vProjWeight, columnScales: factors1),
                outProj: QuantizedWeight(quantizing: layer.outProjWeight),
                fc1: QuantizedWeight(quantizing: layer.fc1Weight, columnScales: factors2),
                fc2: QuantizedWeight(quantizing: layer.fc2Weight), layerNorm1: norm1, layerNorm2: norm2)
        }

        /// The smoothed layer norm and the factors s_c that multiply the columns of the weights it feeds (see
        /// `init(quantizing:smoothing:)`), which `QuantizedWeight(quantizing:columnScales:)` applies as it quantizes.
        private static func smooth(gamma: Tensor, beta: Tensor, weights: [Tensor], alpha: Float) -> (
            norm: (weight: Tensor, bias: Tensor), factors: [Float]
        ) {
            let d = gamma.count
            var wmax = [Float](repeating: 0, count: d)
            for w in weights {
                for r in 0..<w.shape[0] {
                    for c in 0..<d { wmax[c] = max(wmax[c], abs(w.data[r * d + c])) }
                }
            }
            let factors = (0..<d).map { c -> Float in
                let a = 4 * abs(gamma.data[c]) + abs(beta.data[c])
                let s = powf(a, alpha) / powf(wmax[c], 1 - alpha)
                return s.isFinite && s > 0 ? s : 1
            }
            let g = Tensor((0..<d).map { gamma.data[$0] / factors[$0] }, shape: [d])
            let b = Tensor((0..<d).map { beta.data[$0] / factors[$0] }, shape: [d])
            return ((g, b), factors)
        }

        var all: [QuantizedWeight] { [qProj, kProj, vProj, outProj, fc1, fc2] }
    }

    /// The int8 MLP of SigLIP's pooling head (PyTorch keys relative to `vision_model.head.`), two thirds of the
    /// head's weights. The rest stays float32: the probe's query and keys fold into `PoolingQueries` at load, v's
    /// projection runs once per head on a mean of the tokens, and out_proj in int8 raised the error of a random
    /// SigLIP B/16 against fp32 from 0.019 to 0.023 (its input, one row per image, is the output's main part;
    /// docs/encoder.md).
    public struct PoolingHeadInt8: Sendable {
        public let fc1: QuantizedWeight  // mlp.fc1.weight (I, D)
        public let fc2: QuantizedWeight  // mlp.fc2.weight (D, I)
        /// Which inputs are quantized per row with a zero point, as in the blocks.
        public internal(set) var zeroPoints: ZeroPoints = CLIPWeights.defaultZeroPoints

        public init(fc1: QuantizedWeight, fc2: QuantizedWeight) {
            (self.fc1, self.fc2) = (fc1, fc2)
        }

        init(quantizing head: PoolingHead) {
            self.init(
                fc1: QuantizedWeight(quantizing: head.fc1Weight), fc2: QuantizedWeight(quantizing: head.fc2Weight))
        }

        /// Whether `vision`'s head is quantized: not when its layer norm (the MLP's input) has outlier channels,
        /// which the head, unlike the blocks, has no float32 path for: it then stays float32.
        static func applies(to vision: Vision) -> Bool {
            guard let head = vision.head else { return false }
            return Int8Linears.outlierChannels(head.layerNormWeight).isEmpty
        }

        var all: [QuantizedWeight] { [fc1, fc2] }
    }

    /// The precision the transformer blocks run at: int8 when every block has int8 weights.
    public var precision: Precision {
        let layers = vision.layers + text.layers
        return !layers.isEmpty && layers.allSatisfy { $0.int8 != nil } ? .int8 : .fp32
    }

    /// The inputs quantized with zero points by default (see `ZeroPoints`).
    public static let defaultZeroPoints: ZeroPoints = .all
    /// The SmoothQuant migration strength `converted(to:)` uses by default (0: none).
    public static let defaultSmoothing: Float = 0.5
    /// A layer-norm channel whose |gain| exceeds this multiple of the median |gain| is an outlier channel.
    public static let outlierGainRatio: Float = 6

    /// These weights with every transformer block's linear layers quantized to int8 (per output row), and SigLIP's
    /// pooling head's MLP (`PoolingHeadInt8`); the embeddings, layer norms, biases and projections stay float32.
    /// `smoothing` is the SmoothQuant α applied to the layers fed by a layer norm (0: plain per-row quantization).
    /// Returns `self` for `.fp32` or when already int8.
    /// With `keepOutliers`, the outlier channels of each layer norm's output (|γ_c| > `outlierGainRatio` × median)
    /// go through float32 columns beside the int8 product instead. `zeroPoints` picks the inputs quantized
    /// asymmetrically.
    public func converted(
        to precision: Precision, smoothing: Float = defaultSmoothing, keepOutliers: Bool = true,
        zeroPoints: ZeroPoints = defaultZeroPoints
    ) -> CLIPWeights {
        guard precision == .int8, self.precision != .int8 else { return self }
        let blocks = replacingLayers { tower, _, layer in
            var copy = layer
            if copy.int8 == nil {
                var int8 = Int8Linears(quantizing: layer, smoothing: smoothing, keepOutliers: keepOutliers)
                let heads = attentionHeads(ofTower: tower)
                // Carried through attention when they fit in a head's columns (see CarriedValues in EncoderBlock.swift).
                if let outliers = int8.outliers1, outliers.channels.count <= layer.qProjBias.count / heads {
                    int8.valueOutliers = Int8Linears.valueOutlierWeight(
                        outProj: layer.outProjWeight, valueColumns: outliers.weights[2], heads: heads)
                }
                copy.int8 = int8
            }
            copy.int8?.zeroPoints = zeroPoints
            // The float32 linears are not read again: their mapped pages leave the resident set as we go, so peak RSS
            // holds one layer's float32 weights at a time.
            for weight in [
                layer.qProjWeight, layer.kProjWeight, layer.vProjWeight, layer.outProjWeight, layer.fc1Weight,
                layer.fc2Weight,
            ] {
                weight.releaseMappedPages()
            }
            return copy
        }
        guard var head = blocks.vision.head, head.int8 == nil, PoolingHeadInt8.applies(to: blocks.vision) else {
            return blocks
        }
        head.int8 = PoolingHeadInt8(quantizing: head)
        head.int8?.zeroPoints = zeroPoints
        for weight in [head.fc1Weight, head.fc2Weight] { weight.releaseMappedPages() }
        return blocks.replacingHead(head)
    }

    /// These weights at `precision`, or at the precision they hold when nil: float32 weights are quantized for
    /// `.int8`; int8 weights (an int8 checkpoint) cannot run at `.fp32`, which throws naming `file`.
    public func at(_ precision: Precision?, file: String) throws -> CLIPWeights {
        if precision == .fp32 && self.precision == .int8 {
            throw CLIPLoadError(
                file: file,
                "holds int8 weights (written by `vlm-stream models quantize`), which run only at int8: drop "
                    + "--precision fp32 (or encoder.precision: fp32), or use the float32 checkpoint")
        }
        return converted(to: precision ?? self.precision)
    }

    /// A copy with every block replaced by `transform(tower, index, layer)` (tower `vision_model` or `text_model`);
    /// every other tensor and field is shared.
    func replacingLayers(
        _ transform: (_ tower: String, _ index: Int, _ layer: Layer) throws -> Layer
    ) rethrows -> CLIPWeights {
        var v = vision
        v.layers = try v.layers.enumerated().map { try transform("vision_model", $0.offset, $0.element) }
        var t = text
        t.layers = try t.layers.enumerated().map { try transform("text_model", $0.offset, $0.element) }
        return CLIPWeights(config: config, vision: v, text: t, logitScale: logitScale, logitBias: logitBias)
    }

    /// A copy with SigLIP's pooling head replaced; every other tensor and field is shared.
    func replacingHead(_ head: PoolingHead) -> CLIPWeights {
        var v = vision
        v.head = head
        return CLIPWeights(config: config, vision: v, text: text, logitScale: logitScale, logitBias: logitBias)
    }

    /// The attention heads of `tower` (as `replacingLayers` names it).
    func attentionHeads(ofTower tower: String) -> Int {
        tower == "vision_model" ? config.vision.numAttentionHeads : config.text.numAttentionHeads
    }
}
