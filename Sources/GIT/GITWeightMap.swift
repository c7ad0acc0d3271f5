import CLIP
import VLMTensor

/// Where each tensor lives in a Hugging Face GIT checkpoint (`GitForCausalLM`) and the shape config.json implies.
///
/// With D/I the decoder's width and MLP width, V the vocabulary, P `max_position_embeddings`, Dv the image
/// encoder's width and F `num_image_with_embedding`:
///
///     git.image_encoder.vision_model.*                                 CLIP's image tower (CLIPWeightMap), no
///                                                                      visual_projection
///     git.embeddings.word_embeddings.weight                            (V, D)
///     git.embeddings.position_embeddings.weight                        (P, D)
///     git.embeddings.LayerNorm.{weight,bias}                           (D)
///     git.visual_projection.visual_projection.0.weight                 (D, Dv)   .bias (D)
///     git.visual_projection.visual_projection.1.{weight,bias}          (D)       LayerNorm
///     git.img_temporal_embedding.{f}                                   (1, 1, Dv)   f < F, video checkpoints only
///     git.encoder.layer.{i}.attention.self.{query,key,value}.weight    (D, D)    .bias (D)
///     git.encoder.layer.{i}.attention.output.dense.weight              (D, D)    .bias (D)
///     git.encoder.layer.{i}.attention.output.LayerNorm.{weight,bias}   (D)
///     git.encoder.layer.{i}.intermediate.dense.weight                  (I, D)    .bias (I)
///     git.encoder.layer.{i}.output.dense.weight                        (D, I)    .bias (D)
///     git.encoder.layer.{i}.output.LayerNorm.{weight,bias}             (D)
///     output.weight                                                    (V, D)    .bias (V)
///                                                                      (weight = word_embeddings when
///                                                                      tie_word_embeddings)
///
/// Other keys (`position_ids` buffers) are ignored.
extension GITWeights {
    /// Reads every tensor the config calls for from `source`, checking shapes.
    convenience init(config: GITConfig, source: some TensorSource) throws {
        let (d, i, dv) = (config.hiddenSize, config.intermediateSize, config.vision.hiddenSize)
        func t(_ key: String, _ shape: [Int]) throws -> Tensor { try source.tensor(key, shape: shape) }
        let vision = try CLIPWeights(config: Self.visionConfig(config), source: VisionSource(base: source))
        let embeddings = Embeddings(
            wordEmbeddings: try t("git.embeddings.word_embeddings.weight", [config.vocabSize, d]),
            positionEmbeddings: try t("git.embeddings.position_embeddings.weight", [config.maxPositionEmbeddings, d]),
            layerNormWeight: try t("git.embeddings.LayerNorm.weight", [d]),
            layerNormBias: try t("git.embeddings.LayerNorm.bias", [d]))
        let p = "git.visual_projection.visual_projection."
        let projection = Projection(
            weight: try t(p + "0.weight", [d, dv]), bias: try t(p + "0.bias", [d]),
            layerNormWeight: try t(p + "1.weight", [d]), layerNormBias: try t(p + "1.bias", [d]))
        let temporal = try (0..<(config.numImageWithEmbedding ?? 0)).map {
            try t("git.img_temporal_embedding.\($0)", [1, 1, dv])
        }
        let layers = try (0..<config.numHiddenLayers).map { n in
            let l = "git.encoder.layer.\(n)."
            return Layer(
                queryWeight: try t(l + "attention.self.query.weight", [d, d]),
                queryBias: try t(l + "attention.self.query.bias", [d]),
                keyWeight: try t(l + "attention.self.key.weight", [d, d]),
                keyBias: try t(l + "attention.self.key.bias", [d]),
                valueWeight: try t(l + "attention.self.value.weight", [d, d]),
                valueBias: try t(l + "attention.self.value.bias", [d]),
                attentionOutputWeight: try t(l + "attention.output.dense.weight", [d, d]),
                attentionOutputBias: try t(l + "attention.output.dense.bias", [d]),
                attentionLayerNormWeight: try t(l + "attention.output.LayerNorm.weight", [d]),
                attentionLayerNormBias: try t(l + "attention.output.LayerNorm.bias", [d]),
                intermediateWeight: try t(l + "intermediate.dense.weight", [i, d]),
                intermediateBias: try t(l + "intermediate.dense.bias", [i]),
                outputWeight: try t(l + "output.dense.weight", [d, i]),
                outputBias: try t(l + "output.dense.bias", [d]),
                outputLayerNormWeight: try t(l + "output.LayerNorm.weight", [d]),
                outputLayerNormBias: try t(l + "output.LayerNorm.bias", [d]))
        }
        self.init(
            config: config, vision: vision, embeddings: embeddings, projection: projection,
            temporalEmbeddings: temporal, layers: layers,
            outputWeight: config.tieWordEmbeddings
                ? embeddings.wordEmbeddings : try t("output.weight", [config.vocabSize, d]),
            outputBias: try t("output.bias", [config.vocabSize]))
    }

    /// GIT's image encoder as a CLIP checkpoint: the vision config, and a one-wide placeholder text tower and
    /// projection that `VisionSource` fills with zeros (GIT has neither; `lastHiddenState` never reads them).
    static func visionConfig(_ config: GITConfig) -> CLIPConfig {
        var text = CLIPConfig.Text()
        (text.vocabSize, text.hiddenSize, text.intermediateSize) = (1, 1, 1)
        (text.numHiddenLayers, text.numAttentionHeads, text.maxPositionEmbeddings) = (0, 1, 1)
        return CLIPConfig(text: text, vision: config.vision, projectionDim: 1)
    }
}

/// CLIP's keys over a GIT checkpoint: `vision_model.*` is read from `git.image_encoder.vision_model.*`; the
/// tensors GIT does not have (CLIP's text tower and projections) are zeros of the placeholder shapes.
struct VisionSource<Base: TensorSource>: TensorSource {
    let base: Base

    func tensor(_ key: String, shape: [Int]) throws -> Tensor {
        if key.hasPrefix("vision_model.") { return try base.tensor("git.image_encoder." + key, shape: shape) }
        return Tensor(zeros: shape)
    }
}
