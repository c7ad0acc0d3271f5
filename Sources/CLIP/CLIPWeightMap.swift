import VLMTensor

/// Where each tensor lives in a Hugging Face CLIP checkpoint and the shape config.json implies for it.
///
/// The rules, with D/I the tower's width and MLP width, P the patch size, N = (image/P)² + 1, L the text context,
/// V the vocabulary and E the projection size:
///
///     {tower}.encoder.layers.{i}.layer_norm{1,2}.{weight,bias}        (D)
///     {tower}.encoder.layers.{i}.self_attn.{q,k,v,out}_proj.weight    (D, D)    .bias (D)
///     {tower}.encoder.layers.{i}.mlp.fc1.weight (I, D)  .bias (I);   mlp.fc2.weight (D, I)  .bias (D)
///     vision_model.embeddings.class_embedding                         (D)
///     vision_model.embeddings.patch_embedding.weight                  (D, 3, P, P)
///     vision_model.embeddings.position_embedding.weight               (N, D)
///     vision_model.{pre_layrnorm,post_layernorm}.{weight,bias}        (D)
///     visual_projection.weight                                        (E, D)
///     text_model.embeddings.token_embedding.weight                    (V, D)
///     text_model.embeddings.position_embedding.weight                 (L, D)
///     text_model.final_layer_norm.{weight,bias}                       (D)
///     text_projection.weight                                          (E, D)
///     logit_scale                                                     ()
///
/// Other keys (`position_ids` buffers) are ignored.
public protocol TensorSource {
    /// The file the tensors come from, as an error names it.
    var name: String { get }
    /// The tensor `key` as float32, which must have `shape`.
    func tensor(_ key: String, shape: [Int]) throws -> Tensor
}

extension TensorSource {
    /// Weights made in memory (random ones for benchmarks and tests) have no file.
    public var name: String { "the checkpoint" }
}

extension SafetensorsFile: TensorSource {}

extension CLIPWeights {
    /// Reads every tensor the config calls for from `source`, checking shapes.
    public convenience init(config: CLIPConfig, source: some TensorSource) throws {
        if config.family == .siglip {
            try self.init(siglip: config, source: source)
            return
        }
        let v = config.vision
        let t = config.text
        let e = config.projectionDim
        let vision = Vision(
            classEmbedding: try source.tensor("vision_model.embeddings.class_embedding", shape: [v.hiddenSize]),
            patchEmbedding: try source.tensor(
                "vision_model.embeddings.patch_embedding.weight",
                shape: [v.hiddenSize, v.numChannels, v.patchSize, v.patchSize]),
            patchBias: nil,
            positionEmbedding: try source.tensor(
                "vision_model.embeddings.position_embedding.weight", shape: [v.tokens, v.hiddenSize]),
            preLayerNormWeight: try source.tensor("vision_model.pre_layrnorm.weight", shape: [v.hiddenSize]),
            preLayerNormBias: try source.tensor("vision_model.pre_layrnorm.bias", shape: [v.hiddenSize]),
            layers: try (0..<v.numHiddenLayers).map {
                try Layer(
                    source: source, prefix: "vision_model.encoder.layers.\($0).", width: v.hiddenSize,
                    mlpWidth: v.intermediateSize, panels: true)
            },
            postLayerNormWeight: try source.tensor("vision_model.post_layernorm.weight", shape: [v.hiddenSize]),
            postLayerNormBias: try source.tensor("vision_model.post_layernorm.bias", shape: [v.hiddenSize]),
            projection: try source.tensor("visual_projection.weight", shape: [e, v.hiddenSize]), head: nil)
        let text = Text(
            tokenEmbedding: try source.tensor(
                "text_model.embeddings.token_embedding.weight", shape: [t.vocabSize, t.hiddenSize]),
            positionEmbedding: try source.tensor(
                "text_model.embeddings.position_embedding.weight", shape: [t.maxPositionEmbeddings, t.hiddenSize]),
            layers: try (0..<t.numHiddenLayers).map {
                try Layer(
                    source: source, prefix: "text_model.encoder.layers.\($0).", width: t.hiddenSize,
                    mlpWidth: t.intermediateSize)
            },
            finalLayerNormWeight: try source.tensor("text_model.final_layer_norm.weight", shape: [t.hiddenSize]),
            finalLayerNormBias: try source.tensor("text_model.final_layer_norm.bias", shape: [t.hiddenSize]),
            projection: try source.tensor("text_projection.weight", shape: [e, t.hiddenSize]), projectionBias: nil)
        let logitScale = try source.tensor("logit_scale", shape: [])
        self.init(
            config: config, vision: vision, text: text,
            logitScale: try Self.logitScale(logitScale.data[0], source: source))
    }
}

extension CLIPWeights {
    /// `exp(logit_scale)`, the temperature scores are computed with; a stored value that is not finite, or whose
    /// exponential is not (trained models hold log 100 or about 4.8), is a damaged checkpoint: every score would
    /// come out NaN.
    static func logitScale(_ stored: Float, source: some TensorSource) throws -> Float {
        let scale = expf(stored)
        guard stored.isFinite, scale.isFinite else {
            throw CLIPLoadError(
                file: source.name, "logit_scale is \(stored), not a finite log-temperature; re-download the checkpoint")
        }
        return scale
    }
}

extension CLIPWeights.Layer {
    /// With `panels`, the six weights get `FloatPanels` (an image tower's: see `Layer.panels`).
    init(source: some TensorSource, prefix p: String, width d: Int, mlpWidth i: Int, panels: Bool = false) throws {
        layerNorm1Weight = try source.tensor(p + "layer_norm1.weight", shape: [d])
        layerNorm1Bias = try source.tensor(p + "layer_norm1.bias", shape: [d])
        qProjWeight = try source.tensor(p + "self_attn.q_proj.weight", shape: [d, d])
        qProjBias = try source.tensor(p + "self_attn.q_proj.bias", shape: [d])
        kProjWeight = try source.tensor(p + "self_attn.k_proj.weight", shape: [d, d])
        kProjBias = try source.tensor(p + "self_attn.k_proj.bias", shape: [d])
        vProjWeight = try source.tensor(p + "self_attn.v_proj.weight", shape: [d, d])
        vProjBias = try source.tensor(p + "self_attn.v_proj.bias", shape: [d])
        outProjWeight = try source.tensor(p + "self_attn.out_proj.weight", shape: [d, d])
        outProjBias = try source.tensor(p + "self_attn.out_proj.bias", shape: [d])
        layerNorm2Weight = try source.tensor(p + "layer_norm2.weight", shape: [d])
        layerNorm2Bias = try source.tensor(p + "layer_norm2.bias", shape: [d])
        fc1Weight = try source.tensor(p + "mlp.fc1.weight", shape: [i, d])
        fc1Bias = try source.tensor(p + "mlp.fc1.bias", shape: [i])
        fc2Weight = try source.tensor(p + "mlp.fc2.weight", shape: [d, i])
        fc2Bias = try source.tensor(p + "mlp.fc2.bias", shape: [d])
        guard panels else {
            self.panels = nil
            return
        }
        self.panels = CLIPWeights.LayerPanels(
            qProj: FloatPanels(qProjWeight), kProj: FloatPanels(kProjWeight), vProj: FloatPanels(vProjWeight),
            outProj: FloatPanels(outProjWeight), fc1: FloatPanels(fc1Weight), fc2: FloatPanels(fc2Weight))
    }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
