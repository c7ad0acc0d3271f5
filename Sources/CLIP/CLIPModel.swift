import Foundation
import Logging
import VLMCore

/// A whole CLIP or SigLIP checkpoint ready to embed images and text: weights, both towers, the tokenizer and the
/// image preprocessor, loaded from one Hugging Face checkpoint directory (see `ModelLocator` for hub names).
/// config.json's `model_type` picks the family (`clip`, `siglip`; see `CLIPConfig.ModelFamily`).
///
/// Conforms to VLMCore's `ImageEncoding` and `TextEncoding`; thread-safe (the towers take per-call scratch).
public final class CLIPModel: ImageEncoding, TextEncoding, Sendable {
    /// The checkpoint directory.
    public let directory: URL
    /// The loaded weights (memory-mapped where F32).
    public let weights: CLIPWeights
    /// The image tower.
    public let vision: CLIPVisionModel
    /// The text tower.
    public let text: CLIPTextModel
    /// The checkpoint's tokenizer: CLIP's BPE (`CLIPTokenizer`) or SigLIP's SentencePiece
    /// (`SentencePieceTokenizer`).
    public let tokenizer: any TextTokenizing
    /// The checkpoint's image preprocessing.
    public let preprocessor: CLIPImagePreprocessor
    /// Stable identity of the weights and preprocessing (see `CLIPModel.identity(of:config:)`).
    public let modelIdentity: String
    /// Images per forward pass when `encode(images:)` gets many.
    public let maxBatch: Int

    /// Loads config.json, model.safetensors, the tokenizer (vocab.json + merges.txt for CLIP; spiece.model or
    /// tokenizer.model for SigLIP) and preprocessor_config.json from `directory`, with the blocks' linear layers at
    /// `precision` (int8: quantized at load, see `CLIPWeights.converted(to:)`; nil: the precision the checkpoint holds,
    /// int8 for one written by `models quantize`, which cannot run at fp32).
    /// Throws a one-line error naming the first file that is missing or wrong.
    public static func load(
        directory: URL, maxBatch: Int = 32, precision: Precision? = nil, logger: Logger = Logger(label: "vlm.clip")
    ) throws -> CLIPModel {
        let weights = try CLIPWeights.load(directory: directory, logger: logger).at(
            precision, file: directory.appendingPathComponent("model.safetensors").path)
        let text = CLIPTextModel(weights: weights)
        let family = weights.config.family
        let tokenizer = try TokenizerLoader.load(
            directory: directory, family: family, contextLength: text.contextLength)
        let preprocessorFile = directory.appendingPathComponent("preprocessor_config.json")
        let preprocessor = try Self.preprocessing(configFile: preprocessorFile, family: family)
        let vision = CLIPVisionModel(weights: weights)
        let (h, w) = preprocessor.outputSize
        guard h == vision.imageSize, w == vision.imageSize else {
            throw CLIPLoadError(
                file: preprocessorFile.path,
                "crop size \(w)×\(h) does not match the vision model's \(vision.imageSize)×\(vision.imageSize) input")
        }
        guard tokenizer.vocabularySize <= weights.config.text.vocabSize else {
            let file = family == .clip ? "vocab.json" : (tokenizer as? SentencePieceTokenizer)?.file ?? "spiece.model"
            throw CLIPLoadError(
                file: directory.appendingPathComponent(file).path,
                "\(tokenizer.vocabularySize) tokens but the text model has \(weights.config.text.vocabSize)")
        }
        let identity = try Self.identity(of: directory, config: weights.config)
        logger.info(
            "\(family == .clip ? "CLIP" : "SigLIP") model ready",
            metadata: ["identity": "\(identity)", "directory": "\(directory.path)"])
        return CLIPModel(
            directory: directory, weights: weights, vision: vision, text: text, tokenizer: tokenizer,
            preprocessor: preprocessor, identity: identity, maxBatch: maxBatch)
    }

    /// The checkpoint's preprocessing. transformers' `SiglipImageProcessor` has no centre-crop step, and SigLIP's
    /// preprocessor_config.json files do not mention one, so for SigLIP an absent `do_center_crop` means false
    /// (a direct resize to `size`), where `CLIPImageProcessor`'s default is true.
    static func preprocessing(configFile url: URL, family: CLIPConfig.ModelFamily) throws -> CLIPImagePreprocessor {
        guard family == .siglip, let data = try? Data(contentsOf: url),
            var json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any], json["do_center_crop"] == nil
        else { return try CLIPImagePreprocessor(configFile: url) }
        json["do_center_crop"] = false
        do { return try CLIPImagePreprocessor(json: json) } catch {
            throw CLIPLoadError(file: url.path, error.description)
        }
    }

    init(
        directory: URL, weights: CLIPWeights, vision: CLIPVisionModel, text: CLIPTextModel,
        tokenizer: any TextTokenizing,
        preprocessor: CLIPImagePreprocessor, identity: String, maxBatch: Int
    ) {
        self.directory = directory
        self.weights = weights
        self.vision = vision
        self.text = text
        self.tokenizer = tokenizer
        self.preprocessor = preprocessor
        self.modelIdentity = identity
        self.maxBatch = max(1, maxBatch)
    }

    // MARK: - ImageEncoding / TextEncoding

    /// Side of the square images the vision tower takes (224 for ViT-B/32).
    public var imageSize: Int { vision.imageSize }
    /// Length of the projected embeddings.
    public var embeddingSize: Int { vision.embeddingSize }
    /// `exp(logit_scale)`.
    public var logitScale: Float { text.logitScale }
    /// SigLIP's `logit_bias` (the model's probability is `σ(logitScale·cos + logitBias)`); nil for CLIP.
    public var logitBias: Float? { text.logitBias }
    /// The architecture (`model_type`).
    public var family: CLIPConfig.ModelFamily { weights.config.family }

    /// Embeds the encoder's input views (`ImageEncoding`): frames the video stage already resized and cropped by
    /// ``preprocessing``, so an image of `imageSize`×`imageSize` is only normalised. Any other size goes through the
    /// full preprocessing first. Pictures from files go to ``encode(stills:)``.
    public func encode(images: [RGBImage]) throws -> [Embedding] {
        try encode(images, alreadyScaled: { $0.width == imageSize && $0.height == imageSize })
    }

    /// Embeds pictures as they are (image files, uploads): every one goes through the whole preprocessing of
    /// preprocessor_config.json (resize, crop, normalise), as transformers' processor does, whatever its size.
    /// A 224×224 still under `shortest_edge: 256, crop 224` is resized to 256 and cropped, not taken as a view.
    public func encode(stills: [RGBImage]) throws -> [Embedding] {
        try encode(stills, alreadyScaled: { _ in false })
    }

    private func encode(_ images: [RGBImage], alreadyScaled: (RGBImage) -> Bool) throws -> [Embedding] {
        var out: [Embedding] = []
        out.reserveCapacity(images.count)
        var start = 0
        while start < images.count {
            let chunk = images[start..<min(images.count, start + maxBatch)]
            var pixels: [Float] = []
            pixels.reserveCapacity(chunk.count * 3 * imageSize * imageSize)
            for image in chunk {
                if alreadyScaled(image) {
                    preprocessor.normalize(image, into: &pixels)
                } else {
                    preprocessor.appendPixelValues(image, to: &pixels)
                }
            }
            out += try vision.encode(pixelValues: pixels, batch: chunk.count)
            start += chunk.count
        }
        return out
    }

    /// Embeds texts (tokenized with the checkpoint's tokenizer, truncated to the context length; SigLIP's padded
    /// to it).
    public func encode(texts: [String]) throws -> [Embedding] {
        guard !texts.isEmpty else { return [] }
        return try text.encode(tokenIDs: texts.map { try tokenizer.encode($0) })
    }
}
