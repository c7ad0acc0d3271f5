import CLIP
import VLMTensor

/// The tensors of a GIT checkpoint, float32, read-only after loading and shared by every forward pass. Field
/// comments give the PyTorch key and shape: D decoder width, I its MLP width, V vocabulary, P positions, Dv the
/// image encoder's width.
public final class GITWeights: Sendable {
    /// Hyperparameters from config.json.
    public let config: GITConfig
    /// `git.image_encoder.vision_model.*`, as a CLIP image tower (its projection and text tower are empty).
    public let vision: CLIPWeights
    /// `git.embeddings.*`.
    public let embeddings: Embeddings
    /// `git.visual_projection.visual_projection.{0,1}`: Linear(Dv → D) then LayerNorm(D).
    public let projection: Projection
    /// `git.img_temporal_embedding.{f}` (1, 1, Dv), one per frame of a video checkpoint.
    public let temporalEmbeddings: [Tensor]
    /// `git.encoder.layer.{i}`.
    public let layers: [Layer]
    /// `output.weight` (V, D).
    public let outputWeight: Tensor
    /// `output.bias` (V).
    public let outputBias: Tensor
    /// The vocabulary head in int8 when the decoder runs at `Precision.int8` (GITWeights+Int8.swift).
    public let outputInt8: QuantizedWeight?

    /// `GitEmbeddings`: word + position, then LayerNorm.
    public struct Embeddings: Sendable {
        public let wordEmbeddings: Tensor  // word_embeddings.weight (V, D)
        public let positionEmbeddings: Tensor  // position_embeddings.weight (P, D)
        public let layerNormWeight: Tensor  // LayerNorm.weight (D)
        public let layerNormBias: Tensor  // LayerNorm.bias (D)
    }

    /// `GitProjection`.
    public struct Projection: Sendable {
        public let weight: Tensor  // visual_projection.0.weight (D, Dv)
        public let bias: Tensor  // visual_projection.0.bias (D)
        public let layerNormWeight: Tensor  // visual_projection.1.weight (D)
        public let layerNormBias: Tensor  // visual_projection.1.bias (D)
    }

    /// `GitLayer`: BERT's post-LayerNorm block.
    public struct Layer: Sendable {
        public let queryWeight: Tensor  // attention.self.query.weight (D, D)
        public let queryBias: Tensor  // attention.self.query.bias (D)
        public let keyWeight: Tensor  // attention.self.key.weight (D, D)
        public let keyBias: Tensor  // attention.self.key.bias (D)
        public let valueWeight: Tensor  // attention.self.value.weight (D, D)
        public let valueBias: Tensor  // attention.self.value.bias (D)
        public let attentionOutputWeight: Tensor  // attention.output.dense.weight (D, D)
        public let attentionOutputBias: Tensor  // attention.output.dense.bias (D)
        public let attentionLayerNormWeight: Tensor  // attention.output.LayerNorm.weight (D)
        public let attentionLayerNormBias: Tensor  // attention.output.LayerNorm.bias (D)
        public let intermediateWeight: Tensor  // intermediate.dense.weight (I, D)
        public let intermediateBias: Tensor  // intermediate.dense.bias (I)
        public let outputWeight: Tensor  // output.dense.weight (D, I)
        public let outputBias: Tensor  // output.dense.bias (D)
        public let outputLayerNormWeight: Tensor  // output.LayerNorm.weight (D)
        public let outputLayerNormBias: Tensor  // output.LayerNorm.bias (D)
        /// The six linears in int8 when the decoder runs at `Precision.int8` (GITWeights+Int8.swift).
        public internal(set) var int8: GITWeights.Int8Linears? = nil

        var tensors: [Tensor] {
            [
                queryWeight, queryBias, keyWeight, keyBias, valueWeight, valueBias, attentionOutputWeight,
                attentionOutputBias, attentionLayerNormWeight, attentionLayerNormBias, intermediateWeight,
                intermediateBias, outputWeight, outputBias, outputLayerNormWeight, outputLayerNormBias,
            ]
        }
    }

    init(
        config: GITConfig, vision: CLIPWeights, embeddings: Embeddings, projection: Projection,
        temporalEmbeddings: [Tensor], layers: [Layer], outputWeight: Tensor, outputBias: Tensor,
        outputInt8: QuantizedWeight? = nil
    ) {
        self.config = config
        self.vision = vision
        self.embeddings = embeddings
        self.projection = projection
        self.temporalEmbeddings = temporalEmbeddings
        self.layers = layers
        self.outputWeight = outputWeight
        self.outputBias = outputBias
        self.outputInt8 = outputInt8
    }

    /// Bytes of float32 weight data (borrowed from the file or converted).
    public var weightBytes: Int {
        let tensors =
            [
                embeddings.wordEmbeddings, embeddings.positionEmbeddings, embeddings.layerNormWeight,
                embeddings.layerNormBias, projection.weight, projection.bias, projection.layerNormWeight,
                projection.layerNormBias, outputWeight, outputBias,
            ] + temporalEmbeddings + layers.flatMap(\.tensors)
        return vision.weightBytes + tensors.reduce(0) { $0 + $1.byteCount }
    }
}
