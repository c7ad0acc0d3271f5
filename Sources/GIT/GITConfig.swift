import CLIP
import Foundation
import VLMCore
import VLMTensor

/// The hyperparameters of a Hugging Face GIT checkpoint (`GitConfig`), decoded from its `config.json`. Missing
/// fields take transformers' defaults (microsoft/git-base's shape).
public struct GITConfig: Sendable, Equatable, Codable {
    /// `model_type`: "git" for every GIT checkpoint.
    public var modelType: String?
    /// `vision_config`: the CLIP ViT image encoder (`GitVisionConfig` has CLIPVisionConfig's fields; patch 16).
    public var vision: CLIPConfig.Vision
    public var vocabSize = 30522
    public var hiddenSize = 768
    public var numHiddenLayers = 6
    public var numAttentionHeads = 12
    public var intermediateSize = 3072
    public var hiddenAct = Activation.gelu
    public var maxPositionEmbeddings = 1024
    public var layerNormEps: Float = 1e-12
    public var padTokenID = 0
    public var bosTokenID = 101
    public var eosTokenID = 102
    /// Frames a video checkpoint takes at once, each with its own learned temporal embedding (nil for images).
    public var numImageWithEmbedding: Int?
    /// `tie_word_embeddings`: the output layer's weight is the word embedding matrix (false for Microsoft's GIT).
    public var tieWordEmbeddings = false

    enum CodingKeys: String, CodingKey {
        case modelType = "model_type"
        case vision = "vision_config"
        case vocabSize = "vocab_size"
        case hiddenSize = "hidden_size"
        case numHiddenLayers = "num_hidden_layers"
        case numAttentionHeads = "num_attention_heads"
        case intermediateSize = "intermediate_size"
        case hiddenAct = "hidden_act"
        case maxPositionEmbeddings = "max_position_embeddings"
        case layerNormEps = "layer_norm_eps"
        case padTokenID = "pad_token_id"
        case bosTokenID = "bos_token_id"
        case eosTokenID = "eos_token_id"
        case numImageWithEmbedding = "num_image_with_embedding"
        case tieWordEmbeddings = "tie_word_embeddings"
    }

    /// microsoft/git-base's shape (ViT-B/16 at 224 px, 6 × 768 decoder).
    public init() {
        var vision = CLIPConfig.Vision()
        vision.patchSize = 16
        self.vision = vision
    }

    public init(from decoder: Decoder) throws {
        self.init()
        let c = try decoder.container(keyedBy: CodingKeys.self)
        modelType = try c.decodeIfPresent(String.self, forKey: .modelType)
        if c.contains(.vision), !(try c.decodeNil(forKey: .vision)) {
            // GitVisionConfig's defaults differ from CLIPVisionConfig's in the patch size only.
            var defaults = CLIPConfig.Vision()
            defaults.patchSize = 16
            let explicit = try c.nestedContainer(keyedBy: PatchKey.self, forKey: .vision)
            vision = try c.decode(CLIPConfig.Vision.self, forKey: .vision)
            if !explicit.contains(.patchSize) { vision.patchSize = defaults.patchSize }
        }
        vocabSize = try c.decodeIfPresent(Int.self, forKey: .vocabSize) ?? vocabSize
        hiddenSize = try c.decodeIfPresent(Int.self, forKey: .hiddenSize) ?? hiddenSize
        numHiddenLayers = try c.decodeIfPresent(Int.self, forKey: .numHiddenLayers) ?? numHiddenLayers
        numAttentionHeads = try c.decodeIfPresent(Int.self, forKey: .numAttentionHeads) ?? numAttentionHeads
        intermediateSize = try c.decodeIfPresent(Int.self, forKey: .intermediateSize) ?? intermediateSize
        hiddenAct = try c.decodeIfPresent(Activation.self, forKey: .hiddenAct) ?? hiddenAct
        maxPositionEmbeddings =
            try c.decodeIfPresent(Int.self, forKey: .maxPositionEmbeddings) ?? maxPositionEmbeddings
        layerNormEps = try c.decodeIfPresent(Float.self, forKey: .layerNormEps) ?? layerNormEps
        padTokenID = try c.decodeIfPresent(Int.self, forKey: .padTokenID) ?? padTokenID
        bosTokenID = try c.decodeIfPresent(Int.self, forKey: .bosTokenID) ?? bosTokenID
        eosTokenID = try Self.firstInt(c, .eosTokenID) ?? eosTokenID
        numImageWithEmbedding = try c.decodeIfPresent(Int.self, forKey: .numImageWithEmbedding)
        tieWordEmbeddings = try c.decodeIfPresent(Bool.self, forKey: .tieWordEmbeddings) ?? false
    }

    private enum PatchKey: String, CodingKey { case patchSize = "patch_size" }

    private static func firstInt(_ c: KeyedDecodingContainer<CodingKeys>, _ key: CodingKeys) throws -> Int? {
        guard c.contains(key), !(try c.decodeNil(forKey: key)) else { return nil }
        if let value = try? c.decode(Int.self, forKey: key) { return value }
        return try c.decode([Int].self, forKey: key).first
    }

    /// Frames per input: `num_image_with_embedding`, or 1.
    public var frames: Int { numImageWithEmbedding ?? 1 }
    /// Image tokens the decoder sees: (grid² + 1) per frame.
    public var imageTokens: Int { frames * vision.tokens }
    /// Width of one attention head.
    public var headDim: Int { hiddenSize / numAttentionHeads }
}

// MARK: - Loading and validation

extension GITConfig {
    /// Reads and validates `url` (a config.json); a checkpoint of another kind is refused by its `model_type`.
    public static func load(from url: URL) throws -> GITConfig {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw GITLoadError(file: url.path, "cannot be read; expected a Hugging Face GIT checkpoint directory")
        }
        let config: GITConfig
        do {
            config = try JSONDecoder().decode(GITConfig.self, from: data)
        } catch let DecodingError.dataCorrupted(context) where context.codingPath.isEmpty {
            throw GITLoadError(file: "config.json", "is not valid JSON (\(context.debugDescription))")
        } catch let error as DecodingError {
            throw GITLoadError(file: "config.json", "cannot be decoded (\(Self.describe(error)))")
        }
        if config.modelType != "git" {
            throw GITLoadError(
                file: url.path,
                "model_type is \(config.modelType.map { "\"\($0)\"" } ?? "missing"), not \"git\": "
                    + "this is not a GIT checkpoint (try microsoft/git-base-coco)")
        }
        try config.validate()
        return config
    }

    /// Checks that the hyperparameters describe a model this implementation can run.
    public func validate() throws {
        func fail(_ problem: String) -> GITLoadError { GITLoadError(file: "config.json", problem) }
        let sizes: [(String, Int)] = [
            ("vocab_size", vocabSize), ("hidden_size", hiddenSize), ("num_hidden_layers", numHiddenLayers),
            ("num_attention_heads", numAttentionHeads), ("intermediate_size", intermediateSize),
            ("max_position_embeddings", maxPositionEmbeddings), ("num_image_with_embedding", frames),
            ("vision_config.hidden_size", vision.hiddenSize),
            ("vision_config.intermediate_size", vision.intermediateSize),
            ("vision_config.num_hidden_layers", vision.numHiddenLayers),
            ("vision_config.num_attention_heads", vision.numAttentionHeads),
            ("vision_config.image_size", vision.imageSize), ("vision_config.patch_size", vision.patchSize),
        ]
        for (name, value) in sizes where value <= 0 || value > 1 << 20 {
            throw fail("\(name) is \(value), expected a size from 1 to \(1 << 20)")
        }
        // A negative or zero eps made every layer norm NaN and every caption empty, with exit 0.
        for (name, eps) in [("layer_norm_eps", layerNormEps), ("vision_config.layer_norm_eps", vision.layerNormEps)]
        where !(eps > 0 && eps.isFinite) {
            throw fail("\(name) is \(eps), expected a small positive number such as 1e-12")
        }
        if hiddenSize % numAttentionHeads != 0 {
            throw fail("hidden_size \(hiddenSize) is not a multiple of num_attention_heads \(numAttentionHeads)")
        }
        if vision.hiddenSize % vision.numAttentionHeads != 0 {
            throw fail("vision_config.hidden_size is not a multiple of its num_attention_heads")
        }
        if vision.imageSize % vision.patchSize != 0 {
            throw fail("image_size \(vision.imageSize) is not a multiple of patch_size \(vision.patchSize)")
        }
        if vision.numChannels != 3 { throw fail("num_channels is \(vision.numChannels); only RGB (3) is supported") }
        for (name, id) in [("bos_token_id", bosTokenID), ("eos_token_id", eosTokenID), ("pad_token_id", padTokenID)]
        where id < 0 || id >= vocabSize {
            throw fail("\(name) \(id) is outside the vocabulary of \(vocabSize)")
        }
    }

    static func describe(_ error: DecodingError) -> String {
        switch error {
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .keyNotFound(_, let context),
            .dataCorrupted(let context):
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            return path.isEmpty ? context.debugDescription : "field \(path): \(context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }
}

/// A GIT checkpoint that cannot be used: names the file and what is wrong with it, on one line.
public struct GITLoadError: UserFacingError, Equatable {
    /// The file at fault (`model.safetensors`, `pytorch_model.bin`, `config.json`, or a path).
    public var file: String
    /// What is wrong and, where it helps, what to do.
    public var problem: String

    /// An error about `file`.
    public init(file: String, _ problem: String) {
        self.file = file
        self.problem = problem
    }

    public var description: String { "\(file): \(problem)" }
}
