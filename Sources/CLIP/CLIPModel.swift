import Foundation
import Logging
import VLMCore

/// A whole CLIP checkpoint ready to embed images and text: weights, both towers, the tokenizer and the image
/// preprocessor, loaded from one Hugging Face checkpoint directory (see `ModelLocator` for hub names).
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
    /// The checkpoint's BPE tokenizer.
    public let tokenizer: CLIPTokenizer
    /// The checkpoint's image preprocessing.
    public let preprocessor: CLIPImagePreprocessor
    /// Stable identity of the weights and preprocessing (see `CLIPModel.identity(of:config:)`).
    public let modelIdentity: String
    /// Images per forward pass when `encode(images:)` gets many.
    public let maxBatch: Int

    /// Loads config.json, model.safetensors, vocab.json, merges.txt and preprocessor_config.json from `directory`,
    /// with the blocks' linear layers at `precision` (int8: quantized at load, see `CLIPWeights.converted(to:)`).
    /// Throws a one-line `CLIPLoadError` naming the first file that is missing or wrong.
    public static func load(
        directory: URL, maxBatch: Int = 32, precision: Precision = .fp32, logger: Logger = Logger(label: "vlm.clip")
    ) throws -> CLIPModel {
        let weights = try CLIPWeights.load(directory: directory, logger: logger).converted(to: precision)
        let text = CLIPTextModel(weights: weights)
        let tokenizer = try CLIPTokenizer(directory: directory, contextLength: text.contextLength)
        let preprocessorFile = directory.appendingPathComponent("preprocessor_config.json")
        let preprocessor = try CLIPImagePreprocessor(configFile: preprocessorFile)
        let vision = CLIPVisionModel(weights: weights)
        let (h, w) = preprocessor.outputSize
        guard h == vision.imageSize, w == vision.imageSize else {
            throw CLIPLoadError(
                file: preprocessorFile.path,
                "crop size \(w)×\(h) does not match the vision model's \(vision.imageSize)×\(vision.imageSize) input")
        }
        guard tokenizer.vocabularySize <= weights.config.text.vocabSize else {
            throw CLIPLoadError(
                file: directory.appendingPathComponent("vocab.json").path,
                "\(tokenizer.vocabularySize) tokens but the text model has \(weights.config.text.vocabSize)")
        }
        let identity = try Self.identity(of: directory, config: weights.config)
        logger.info("CLIP model ready", metadata: ["identity": "\(identity)", "directory": "\(directory.path)"])
        return CLIPModel(
            directory: directory, weights: weights, vision: vision, text: text, tokenizer: tokenizer,
            preprocessor: preprocessor, identity: identity, maxBatch: maxBatch)
    }

    init(
        directory: URL, weights: CLIPWeights, vision: CLIPVisionModel, text: CLIPTextModel, tokenizer: CLIPTokenizer,
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

    /// Embeds images. Images of `imageSize`×`imageSize` are only normalised (the video stage already scaled and
    /// cropped them); any other size goes through the full reference preprocessing (resize, centre crop) first.
    public func encode(images: [RGBImage]) throws -> [Embedding] {
        var out: [Embedding] = []
        out.reserveCapacity(images.count)
        var start = 0
        while start < images.count {
            let chunk = images[start..<min(images.count, start + maxBatch)]
            var pixels: [Float] = []
            pixels.reserveCapacity(chunk.count * 3 * imageSize * imageSize)
            for image in chunk {
                if image.width == imageSize && image.height == imageSize {
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

    /// Embeds texts (tokenized with the checkpoint's tokenizer, truncated to the context length).
    public func encode(texts: [String]) throws -> [Embedding] {
        guard !texts.isEmpty else { return [] }
        return try text.encode(tokenIDs: texts.map { tokenizer.encode($0) })
    }
}
