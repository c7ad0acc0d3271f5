import VLMTensor

/// The hyperparameters of a Hugging Face CLIP checkpoint, decoded from its `config.json`.
///
/// Accepts both writings transformers has used: current files (`text_config`/`vision_config` complete) and older
/// ones that also carry `text_config_dict`/`vision_config_dict` blocks (which replace `*_config`, as transformers
/// does) and
/// `eos_token_id: 2` (meaning "pool the text at the highest token id"). Missing fields take transformers' defaults.
public struct CLIPConfig: Sendable, Equatable, Codable {
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
        }

        /// transformers' `CLIPVisionConfig()` defaults (ViT-B/32).
        public init() {}

        /// Patches per side.
        public var gridSize: Int { imageSize / patchSize }
        /// Tokens per image: the class token plus one per patch.
        public var tokens: Int { gridSize * gridSize + 1 }
    }

    enum CodingKeys: String, CodingKey {
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
}

// MARK: - Codable

extension CLIPConfig {
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
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

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
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
