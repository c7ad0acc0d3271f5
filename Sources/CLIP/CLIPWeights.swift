import VLMTensor

/// The tensors of a CLIP checkpoint, float32, read-only after loading and shared by every forward pass.
/// Field comments give the PyTorch key (relative to the tower's prefix) and shape: D width, I MLP width,
/// P patch size, N = (image/P)² + 1 positions, L text positions, V vocabulary, E projection.
public final class CLIPWeights: Sendable {
    /// Hyperparameters from config.json.
    public let config: CLIPConfig
    /// `vision_model.*` and `visual_projection`.
    public let vision: Vision
    /// `text_model.*` and `text_projection`.
    public let text: Text
    /// `exp(logit_scale)`: the temperature CLIP multiplies cosine similarities by (100 for openai's checkpoints).
    public let logitScale: Float

    /// One pre-LayerNorm transformer block, `encoder.layers.{i}` (`CLIPEncoderLayer`).
    public struct Layer: Sendable {
        public let layerNorm1Weight: Tensor  // layer_norm1.weight (D)
        public let layerNorm1Bias: Tensor  // layer_norm1.bias (D)
        public let qProjWeight: Tensor  // self_attn.q_proj.weight (D, D)
        public let qProjBias: Tensor  // self_attn.q_proj.bias (D)
        public let kProjWeight: Tensor  // self_attn.k_proj.weight (D, D)
        public let kProjBias: Tensor  // self_attn.k_proj.bias (D)
        public let vProjWeight: Tensor  // self_attn.v_proj.weight (D, D)
        public let vProjBias: Tensor  // self_attn.v_proj.bias (D)
        public let outProjWeight: Tensor  // self_attn.out_proj.weight (D, D)
        public let outProjBias: Tensor  // self_attn.out_proj.bias (D)
        public let layerNorm2Weight: Tensor  // layer_norm2.weight (D)
        public let layerNorm2Bias: Tensor  // layer_norm2.bias (D)
        public let fc1Weight: Tensor  // mlp.fc1.weight (I, D)
        public let fc1Bias: Tensor  // mlp.fc1.bias (I)
        public let fc2Weight: Tensor  // mlp.fc2.weight (D, I)
        public let fc2Bias: Tensor  // mlp.fc2.bias (D)
        /// The six linear layers in int8 when the weights run at `Precision.int8` (see CLIPWeights+Int8.swift).
        public internal(set) var int8: CLIPWeights.Int8Linears? = nil
    }

    /// `CLIPVisionTransformer` plus `visual_projection`.
    public struct Vision: Sendable {
        public let classEmbedding: Tensor  // embeddings.class_embedding (D)
        public let patchEmbedding: Tensor  // embeddings.patch_embedding.weight (D, 3, P, P), conv without bias
        public let positionEmbedding: Tensor  // embeddings.position_embedding.weight (N, D)
        public let preLayerNormWeight: Tensor  // pre_layrnorm.weight (D)  [sic]
        public let preLayerNormBias: Tensor  // pre_layrnorm.bias (D)
        public let layers: [Layer]  // encoder.layers.{i}
        public let postLayerNormWeight: Tensor  // post_layernorm.weight (D)
        public let postLayerNormBias: Tensor  // post_layernorm.bias (D)
        public let projection: Tensor  // visual_projection.weight (E, D), no bias
    }

    /// `CLIPTextTransformer` plus `text_projection`.
    public struct Text: Sendable {
        public let tokenEmbedding: Tensor  // embeddings.token_embedding.weight (V, D)
        public let positionEmbedding: Tensor  // embeddings.position_embedding.weight (L, D)
        public let layers: [Layer]  // encoder.layers.{i}
        public let finalLayerNormWeight: Tensor  // final_layer_norm.weight (D)
        public let finalLayerNormBias: Tensor  // final_layer_norm.bias (D)
        public let projection: Tensor  // text_projection.weight (E, D), no bias
    }

    init(config: CLIPConfig, vision: Vision, text: Text, logitScale: Float) {
        self.config = config
        self.vision = vision
        self.text = text
        self.logitScale = logitScale
    }

    /// Bytes of float32 weight data (borrowed from the file or converted), both towers.
    public var weightBytes: Int { vision.byteCount + text.byteCount }
}

extension CLIPWeights.Vision {
    /// Bytes of float32 weight data of the image tower.
    public var byteCount: Int {
        let tensors =
            [
                classEmbedding, patchEmbedding, positionEmbedding, preLayerNormWeight, preLayerNormBias,
                postLayerNormWeight, postLayerNormBias, projection,
            ] + layers.flatMap(\.tensors)
        return tensors.reduce(0) { $0 + $1.byteCount }
    }
}

extension CLIPWeights.Text {
    /// Bytes of float32 weight data of the text tower.
    public var byteCount: Int {
        let tensors =
            [tokenEmbedding, positionEmbedding, finalLayerNormWeight, finalLayerNormBias, projection]
            + layers.flatMap(\.tensors)
        return tensors.reduce(0) { $0 + $1.byteCount }
    }
}

extension CLIPWeights.Layer {
    var tensors: [Tensor] {
        [
            layerNorm1Weight, layerNorm1Bias, qProjWeight, qProjBias, kProjWeight, kProjBias, vProjWeight, vProjBias,
            outProjWeight, outProjBias, layerNorm2Weight, layerNorm2Bias, fc1Weight, fc1Bias, fc2Weight, fc2Bias,
        ]
    }
}
