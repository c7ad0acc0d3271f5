import VLMTensor

/// The hyperparameters of a Hugging Face CLIP checkpoint, decoded from its `config.json`.
///
/// Accepts both writings transformers has used: current files (`text_config`/`vision_config` complete) and older
/// ones that also carry `text_config_dict`/`vision_config_dict` blocks (which replace `*_config`, as transformers
/// does) and
/// `eos_token_id: 2` (meaning "pool the text at the highest token id"). Missing fields take transformers' defaults.
///
/// `model_type` selects the family: `clip` (or absent) and `siglip` (SigLIP and the fixed-resolution SigLIP 2
/// releases, `SiglipConfig`, whose defaults differ: gelu_pytorch_tanh, eps 1e-6, patch 16, 64 text positions, no
/// class token, an attention-pooling head, and an embedding size equal to the image tower's width).
public struct CLIPConfig: Sendable, Equatable, Codable {
    /// `model_type`: which architecture the checkpoint is.
    public var family: ModelFamily = .clip
    /// `text_config`.
    public var text: Text
    /// `vision_config`.
    public var vision: Vision
    /// `projection_dim`: length E of the shared embedding space.
    public var projectionDim: Int
    /// `logit_scale_init_value` (the trained value lives in the `logit_scale` tensor).
    public var logitScaleInitValue: Float

    /// The text tower's hyperparameters (`CLIPTextConfig`).
    public struct Text: Sendable, Equatable, Codable {
        public var vocabSize = 49408
        public var hiddenSize = 512
        public var intermediateSize = 2048
        public var numHiddenLayers = 12
        public var numAttentionHeads = 8
        public var maxPositionEmbeddings = 77
        public var hiddenAct = Activation.quickGELU
        public var layerNormEps: Float = 1e-5
        public var bosTokenID = 49406
        /// 2 in older configs, which transformers reads as "pool at argmax(input_ids)"; otherwise the first
        /// position holding this id is pooled.
        public var eosTokenID = 49407
        /// `projection_size` (SigLIP's text head output; its width when absent). CLIP uses `projection_dim`.
        public var projectionSize: Int?

        enum CodingKeys: String, CodingKey {
            case vocabSize = "vocab_size"
            case hiddenSize = "hidden_size"
            case intermediateSize = "intermediate_size"
            case numHiddenLayers = "num_hidden_layers"
            case numAttentionHeads = "num_attention_heads"
            case maxPositionEmbeddings = "max_position_embeddings"
            case hiddenAct = "hidden_act"
            case layerNormEps = "layer_norm_eps"
            case bosTokenID = "bos_token_id"
            case eosTokenID = "eos_token_id"
            case projectionSize = "projection_size"
        }

        /// transformers' `CLIPTextConfig()` defaults (ViT-B text tower).
        public init() {}
    }

    /// The image tower's hyperparameters (`CLIPVisionConfig`).
    public struct Vision: Sendable, Equatable, Codable {
        public var hiddenSize = 768
        public var intermediateSize = 3072
        public var numHiddenLayers = 12
        public var numAttentionHeads = 12
        public var numChannels = 3
        public var imageSize = 224
        public var patchSize = 32
        public var hiddenAct = Activation.quickGELU
        public var layerNormEps: Float = 1e-5
        /// CLIP prepends a learned class token; SigLIP has none (set from `model_type`, not a JSON field).
        public var classToken = true
        /// `vision_use_head` (SigLIP: pool with the attention-pooling head; required here).
        public var useHead = true

        enum CodingKeys: String, CodingKey {
            case hiddenSize = "hidden_size"
            case intermediateSize = "intermediate_size"
            case numHiddenLayers = "num_hidden_layers"
            case numAttentionHeads = "num_attention_heads"
            case numChannels = "num_channels"
            case imageSize = "image_size"
            case patchSize = "patch_size"
            case hiddenAct = "hidden_act"
            case layerNormEps = "layer_norm_eps"
            case useHead = "vision_use_head"
        }

        /// transformers' `CLIPVisionConfig()` defaults (ViT-B/32).
        public init() {}

        /// Patches per side.
        public var gridSize: Int { imageSize / patchSize }
        /// Tokens per image: one per patch, plus the class token for CLIP.
        public var tokens: Int { gridSize * gridSize + (classToken ? 1 : 0) }
    }

    enum CodingKeys: String, CodingKey {
        case family = "model_type"
        case text = "text_config"
        case vision = "vision_config"
        case projectionDim = "projection_dim"
        case logitScaleInitValue = "logit_scale_init_value"
        case textOverrides = "text_config_dict"
        case visionOverrides = "vision_config_dict"
    }

    /// A configuration from its parts.
    public init(
        text: Text = Text(), vision: Vision = Vision(), projectionDim: Int = 512,
        logitScaleInitValue: Float = 2.6592
    ) {
        self.text = text
        self.vision = vision
        self.projectionDim = projectionDim
        self.logitScaleInitValue = logitScaleInitValue
    }

    /// openai/clip-vit-base-patch32's shape.
    public static let vitB32 = CLIPConfig()

    /// The architectures `model_type` may name.
    public enum ModelFamily: String, Sendable, Equatable, Codable, CaseIterable {
        /// `CLIPModel`: class token, causal text tower pooled at the end token, softmax-trained.
        case clip
        /// `SiglipModel` (SigLIP, fixed-resolution SigLIP 2): attention-pooled image tower, bidirectional text
        /// tower pooled at the last position, sigmoid-trained with a learned `logit_bias`.
        case siglip
    }

    /// transformers' `SiglipConfig()` defaults (google/siglip-base-patch16-224's shape).
    public static var siglipBase: CLIPConfig {
        var text = Text()
        text.vocabSize = 32000
        text.hiddenSize = 768
        text.intermediateSize = 3072
        text.numAttentionHeads = 12
        text.maxPositionEmbeddings = 64
        text.hiddenAct = .geluTanh
        text.layerNormEps = 1e-6
        text.bosTokenID = 49406
        text.eosTokenID = 49407
        var vision = Vision()
        vision.patchSize = 16
        vision.hiddenAct = .geluTanh
        vision.layerNormEps = 1e-6
        vision.classToken = false
        var config = CLIPConfig(text: text, vision: vision, projectionDim: 768, logitScaleInitValue: 0)
        config.family = .siglip
        return config
    }

    /// Length of the shared embedding space: `projection_dim` for CLIP, the image tower's width for SigLIP.
    public var embeddingSize: Int { family == .siglip ? vision.hiddenSize : projectionDim }
}

// MARK: - Codable

extension CLIPConfig {
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let type = try c.decodeIfPresent(String.self, forKey: .family) ?? "clip"
        guard let family = ModelFamily(rawValue: type) else {
            let known = ModelFamily.allCases.map(\.rawValue).joined(separator: ", ")
            let hint =
                type == "siglip2" ? "; NaFlex SigLIP 2 checkpoints are not supported, use a fixed-resolution one" : ""
            throw DecodingError.dataCorrupted(
                .init(
                    codingPath: [CodingKeys.family],
                    debugDescription: "model_type \"\(type)\" is not supported (supported: \(known))\(hint)"))
        }
        if family == .siglip {
            self = try Self.decodeSigLIP(c)
            return
        }
        self.family = .clip
        text = try c.decodeIfPresent(Text.self, forKey: .text) ?? Text()
        vision = try c.decodeIfPresent(Vision.self, forKey: .vision) ?? Vision()
        // Legacy `*_config_dict` blocks win: transformers builds a complete config from them (class defaults for
        // the fields they omit) and lets it replace `*_config`, so defaults such as eos_token_id 49407 win too.
        if c.contains(.textOverrides), !(try c.decodeNil(forKey: .textOverrides)) {
            text = try Text(from: c.superDecoder(forKey: .textOverrides))
        }
        if c.contains(.visionOverrides), !(try c.decodeNil(forKey: .visionOverrides)) {
            vision = try Vision(from: c.superDecoder(forKey: .visionOverrides))
        }
        projectionDim = try c.decodeIfPresent(Int.self, forKey: .projectionDim) ?? 512
        logitScaleInitValue = try c.decodeIfPresent(Float.self, forKey: .logitScaleInitValue) ?? 2.6592
    }

    /// A `SiglipConfig`: SigLIP defaults overlaid with the fields present; no `projection_dim` (the embedding size
    /// is the image tower's width, which the text head's `projection_size` must equal).
    private static func decodeSigLIP(_ c: KeyedDecodingContainer<CodingKeys>) throws -> CLIPConfig {
        var config = CLIPConfig.siglipBase
        if c.contains(.text), !(try c.decodeNil(forKey: .text)) {
            try config.text.overlay(from: c.superDecoder(forKey: .text))
        }
        if c.contains(.vision), !(try c.decodeNil(forKey: .vision)) {
            try config.vision.overlay(from: c.superDecoder(forKey: .vision))
        }
        config.projectionDim = config.vision.hiddenSize
        return config
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(family, forKey: .family)
        try c.encode(text, forKey: .text)
        try c.encode(vision, forKey: .vision)
        try c.encode(projectionDim, forKey: .projectionDim)
        try c.encode(logitScaleInitValue, forKey: .logitScaleInitValue)
    }
}

extension CLIPConfig.Text {
    public init(from decoder: Decoder) throws {
        self.init()
        try overlay(from: decoder)
    }

    /// Replaces the fields present in `decoder`, keeping the others.
    mutating func overlay(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        vocabSize = try c.decodeIfPresent(Int.self, forKey: .vocabSize) ?? vocabSize
        hiddenSize = try c.decodeIfPresent(Int.self, forKey: .hiddenSize) ?? hiddenSize
        intermediateSize = try c.decodeIfPresent(Int.self, forKey: .intermediateSize) ?? intermediateSize
        numHiddenLayers = try c.decodeIfPresent(Int.self, forKey: .numHiddenLayers) ?? numHiddenLayers
        numAttentionHeads = try c.decodeIfPresent(Int.self, forKey: .numAttentionHeads) ?? numAttentionHeads
        maxPositionEmbeddings =
            try c.decodeIfPresent(Int.self, forKey: .maxPositionEmbeddings) ?? maxPositionEmbeddings
        hiddenAct = try c.decodeIfPresent(Activation.self, forKey: .hiddenAct) ?? hiddenAct
        layerNormEps = try c.decodeIfPresent(Float.self, forKey: .layerNormEps) ?? layerNormEps
        bosTokenID = try c.decodeFirstIfPresent(forKey: .bosTokenID) ?? bosTokenID
        eosTokenID = try c.decodeFirstIfPresent(forKey: .eosTokenID) ?? eosTokenID
        projectionSize = try c.decodeIfPresent(Int.self, forKey: .projectionSize) ?? projectionSize
    }
}

extension CLIPConfig.Vision {
    public init(from decoder: Decoder) throws {
        self.init()
        try overlay(from: decoder)
    }

    /// Replaces the fields present in `decoder`, keeping the others.
    mutating func overlay(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        hiddenSize = try c.decodeIfPresent(Int.self, forKey: .hiddenSize) ?? hiddenSize
        intermediateSize = try c.decodeIfPresent(Int.self, forKey: .intermediateSize) ?? intermediateSize
        numHiddenLayers = try c.decodeIfPresent(Int.self, forKey: .numHiddenLayers) ?? numHiddenLayers
        numAttentionHeads = try c.decodeIfPresent(Int.self, forKey: .numAttentionHeads) ?? numAttentionHeads
        numChannels = try c.decodeIfPresent(Int.self, forKey: .numChannels) ?? numChannels
        imageSize = try c.decodeFirstIfPresent(forKey: .imageSize) ?? imageSize
        patchSize = try c.decodeFirstIfPresent(forKey: .patchSize) ?? patchSize
        hiddenAct = try c.decodeIfPresent(Activation.self, forKey: .hiddenAct) ?? hiddenAct
        layerNormEps = try c.decodeIfPresent(Float.self, forKey: .layerNormEps) ?? layerNormEps
        useHead = try c.decodeIfPresent(Bool.self, forKey: .useHead) ?? useHead
    }
}

extension KeyedDecodingContainer {
    /// An `Int` written either as a number or as a list of numbers (`image_size: [224, 224]`,
    /// `eos_token_id: [49407]`); the first element of a list is used.
    func decodeFirstIfPresent(forKey key: Key) throws -> Int? {
        guard contains(key), !(try decodeNil(forKey: key)) else { return nil }
        if let value = try? decode(Int.self, forKey: key) { return value }
        return try decode([Int].self, forKey: key).first
    }
}
