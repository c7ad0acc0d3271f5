import VLMTensor

/// The tensors of a CLIP or SigLIP checkpoint, float32, read-only after loading and shared by every forward pass.
/// Field comments give the PyTorch key (relative to the tower's prefix) and shape: D width, I MLP width,
/// P patch size, N = (image/P)² (+ 1 for CLIP's class token) positions, L text positions, V vocabulary,
/// E embedding size. Fields marked CLIP or SigLIP are nil for the other family.
public final class CLIPWeights: Sendable {
    /// Hyperparameters from config.json.
    public let config: CLIPConfig
    /// `vision_model.*` and `visual_projection`.
    public let vision: Vision
    /// `text_model.*` and `text_projection`.
    public let text: Text
    /// `exp(logit_scale)`: the temperature CLIP multiplies cosine similarities by (100 for openai's checkpoints).
    public let logitScale: Float
    /// SigLIP's `logit_bias` (`logit = exp(logit_scale)·cos + logit_bias`, probability = σ(logit)); nil for CLIP.
    public let logitBias: Float?

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
        /// The six float32 weights in the AVX-512 kernel's panels, each packed the first time it runs there: an image
        /// tower's. A text tower has none: it mostly runs one-shot (a query, `embed text`), where packing its weights
        /// (~0.1 s for ViT-B/32's) would cost more than its products.
        public let panels: LayerPanels?
    }

    /// `Layer`'s float32 linear weights as `FloatPanels`, in the same order.
    public struct LayerPanels: Sendable {
        public let qProj, kProj, vProj, outProj, fc1, fc2: FloatPanels
    }

    /// `CLIPVisionTransformer` plus `visual_projection`, or `SiglipVisionTransformer` with its pooling head.
    public struct Vision: Sendable {
        public var classEmbedding: Tensor?  // CLIP: embeddings.class_embedding (D)
        public var patchEmbedding: Tensor  // embeddings.patch_embedding.weight (D, 3, P, P)
        public var patchBias: Tensor?  // SigLIP: embeddings.patch_embedding.bias (D) (CLIP's conv has none)
        public var positionEmbedding: Tensor  // embeddings.position_embedding.weight (N, D)
        public var preLayerNormWeight: Tensor?  // CLIP: pre_layrnorm.weight (D)  [sic]
        public var preLayerNormBias: Tensor?  // CLIP: pre_layrnorm.bias (D)
        public var layers: [Layer]  // encoder.layers.{i}
        public var postLayerNormWeight: Tensor  // post_layernorm.weight (D)
        public var postLayerNormBias: Tensor  // post_layernorm.bias (D)
        public var projection: Tensor?  // CLIP: visual_projection.weight (E, D), no bias
        public var head: PoolingHead?  // SigLIP: head.*
    }

    /// SigLIP's `SiglipMultiheadAttentionPoolingHead` (`vision_model.head.*`): a learned probe attends over every
    /// token with PyTorch `nn.MultiheadAttention` weights, then LayerNorm and an MLP with a residual.
    public struct PoolingHead: Sendable {
        public var probe: Tensor  // probe (1, 1, D)
        public var inProjWeight: Tensor  // attention.in_proj_weight (3D, D): rows [W_q; W_k; W_v]
        public var inProjBias: Tensor  // attention.in_proj_bias (3D): [b_q; b_k; b_v]
        public var outProjWeight: Tensor  // attention.out_proj.weight (D, D)
        public var outProjBias: Tensor  // attention.out_proj.bias (D)
        public var layerNormWeight: Tensor  // layernorm.weight (D)
        public var layerNormBias: Tensor  // layernorm.bias (D)
        public var fc1Weight: Tensor  // mlp.fc1.weight (I, D)
        public var fc1Bias: Tensor  // mlp.fc1.bias (I)
        public var fc2Weight: Tensor  // mlp.fc2.weight (D, I)
        public var fc2Bias: Tensor  // mlp.fc2.bias (D)
        /// The MLP in int8 when the weights run at int8 (see CLIPWeights+Int8.swift); nil: float32.
        public internal(set) var int8: PoolingHeadInt8? = nil

        var tensors: [Tensor] {
            [
                probe, inProjWeight, inProjBias, outProjWeight, outProjBias, layerNormWeight, layerNormBias,
                fc1Weight, fc1Bias, fc2Weight, fc2Bias,
            ]
        }
    }

    /// `CLIPTextTransformer` plus `text_projection`, or `SiglipTextTransformer` with its `head`.
    public struct Text: Sendable {
        public var tokenEmbedding: Tensor  // embeddings.token_embedding.weight (V, D)
        public var positionEmbedding: Tensor  // embeddings.position_embedding.weight (L, D)
        public var layers: [Layer]  // encoder.layers.{i}
        public var finalLayerNormWeight: Tensor  // final_layer_norm.weight (D)
        public var finalLayerNormBias: Tensor  // final_layer_norm.bias (D)
        public var projection: Tensor  // CLIP: text_projection.weight (E, D); SigLIP: text_model.head.weight (E, D)
        public var projectionBias: Tensor?  // SigLIP: text_model.head.bias (E) (CLIP's projection has none)
    }

    init(config: CLIPConfig, vision: Vision, text: Text, logitScale: Float, logitBias: Float? = nil) {
        self.config = config
        self.vision = vision
        self.text = text
        self.logitScale = logitScale
        self.logitBias = logitBias
    }

    /// Bytes of float32 weight data (borrowed from the file or converted), both towers.
    public var weightBytes: Int { vision.byteCount + text.byteCount }
}

extension CLIPWeights.Vision {
    /// Bytes of float32 weight data of the image tower.
    public var byteCount: Int {
        let tensors =
            [
                classEmbedding, patchEmbedding, patchBias, positionEmbedding, preLayerNormWeight, preLayerNormBias,
                postLayerNormWeight, postLayerNormBias, projection,
            ].compactMap { $0 } + layers.flatMap(\.tensors) + (head?.tensors ?? [])
        return tensors.reduce(0) { $0 + $1.byteCount }
    }
}

extension CLIPWeights.Text {
    /// Bytes of float32 weight data of the text tower.
    public var byteCount: Int {
        let tensors =
            [tokenEmbedding, positionEmbedding, finalLayerNormWeight, finalLayerNormBias, projection]
            + layers.flatMap(\.tensors) + (projectionBias.map { [$0] } ?? [])
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
