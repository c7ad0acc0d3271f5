import VLMTensor

/// Where each tensor lives in a Hugging Face SigLIP checkpoint (`SiglipModel`: SigLIP and the fixed-resolution
/// SigLIP 2 releases) and the shape config.json implies for it. D/I the tower's width and MLP width, P the patch
/// size, N = (image/P)² (no class token), L the text context (64), V the vocabulary, E = the image width (the
/// embedding size, which the text head's `projection_size` equals):
///
///     {tower}.encoder.layers.{i}.*                                   as CLIP (CLIPWeightMap.swift)
///     vision_model.embeddings.patch_embedding.weight                 (D, 3, P, P)   .bias (D)
///     vision_model.embeddings.position_embedding.weight              (N, D)
///     vision_model.post_layernorm.{weight,bias}                      (D)
///     vision_model.head.probe                                        (1, 1, D)
///     vision_model.head.attention.in_proj_weight                     (3D, D)   in_proj_bias (3D)
///     vision_model.head.attention.out_proj.weight                    (D, D)    .bias (D)
///     vision_model.head.layernorm.{weight,bias}                      (D)
///     vision_model.head.mlp.fc1.weight (I, D)  .bias (I);   mlp.fc2.weight (D, I)  .bias (D)
///     text_model.embeddings.token_embedding.weight                   (V, D)
///     text_model.embeddings.position_embedding.weight                (L, D)
///     text_model.final_layer_norm.{weight,bias}                      (D)
///     text_model.head.weight                                         (E, D)    .bias (E)
///     logit_scale, logit_bias                                        (1)
///
/// There is no pre-LayerNorm, class embedding or visual projection.
extension CLIPWeights {
    convenience init(siglip config: CLIPConfig, source: some TensorSource) throws {
        let v = config.vision
        let t = config.text
        let e = config.embeddingSize
        let (d, i) = (v.hiddenSize, v.intermediateSize)
        let head: PoolingHead
        do {
            let p = "vision_model.head."
            head = PoolingHead(
                probe: try source.tensor(p + "probe", shape: [1, 1, d]),
                inProjWeight: try source.tensor(p + "attention.in_proj_weight", shape: [3 * d, d]),
                inProjBias: try source.tensor(p + "attention.in_proj_bias", shape: [3 * d]),
                outProjWeight: try source.tensor(p + "attention.out_proj.weight", shape: [d, d]),
                outProjBias: try source.tensor(p + "attention.out_proj.bias", shape: [d]),
                layerNormWeight: try source.tensor(p + "layernorm.weight", shape: [d]),
                layerNormBias: try source.tensor(p + "layernorm.bias", shape: [d]),
                fc1Weight: try source.tensor(p + "mlp.fc1.weight", shape: [i, d]),
                fc1Bias: try source.tensor(p + "mlp.fc1.bias", shape: [i]),
                fc2Weight: try source.tensor(p + "mlp.fc2.weight", shape: [d, i]),
                fc2Bias: try source.tensor(p + "mlp.fc2.bias", shape: [d]))
        } catch let error as CLIPLoadError where error.problem.contains("missing") {
            throw CLIPLoadError(
                file: error.file,
                "the vision pooling head (vision_model.head.*) is incomplete: \(error.problem); SigLIP needs it "
                    + "to embed images (was the checkpoint saved with vision_use_head false?)")
        }
        let vision = Vision(
            classEmbedding: nil,
            patchEmbedding: try source.tensor(
                "vision_model.embeddings.patch_embedding.weight", shape: [d, v.numChannels, v.patchSize, v.patchSize]),
            patchBias: try source.tensor("vision_model.embeddings.patch_embedding.bias", shape: [d]),
            positionEmbedding: try source.tensor(
                "vision_model.embeddings.position_embedding.weight", shape: [v.tokens, d]),
            preLayerNormWeight: nil, preLayerNormBias: nil,
            layers: try (0..<v.numHiddenLayers).map {
                try Layer(
                    source: source, prefix: "vision_model.encoder.layers.\($0).", width: d, mlpWidth: i, panels: true)
            },
            postLayerNormWeight: try source.tensor("vision_model.post_layernorm.weight", shape: [d]),
            postLayerNormBias: try source.tensor("vision_model.post_layernorm.bias", shape: [d]),
            projection: nil, head: head)
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
            projection: try source.tensor("text_model.head.weight", shape: [e, t.hiddenSize]),
            projectionBias: try source.tensor("text_model.head.bias", shape: [e]))
        let logitScale = try source.tensor("logit_scale", shape: [1])
        let logitBias = try source.tensor("logit_bias", shape: [1])
        guard logitBias.data[0].isFinite else {
            throw CLIPLoadError(
                file: source.name, "logit_bias is \(logitBias.data[0]), not a finite number; re-download the checkpoint"
            )
        }
        self.init(
            config: config, vision: vision, text: text,
            logitScale: try Self.logitScale(logitScale.data[0], source: source), logitBias: logitBias.data[0])
    }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
