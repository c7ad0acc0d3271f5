import CLIP
import Foundation
import Logging
import VLMTensor

/// A loaded GIT checkpoint directory: the model, its tokenizer, image preprocessing and generation defaults.
public struct GITCheckpoint: Sendable {
    /// The files a GIT checkpoint directory must hold (`a|b`: either).
    public static let requiredFiles = [
        "config.json", "model.safetensors|pytorch_model.bin", "vocab.txt", "preprocessor_config.json",
    ]

    public let model: GITModel
    public let tokenizer: WordPieceTokenizer
    public let preprocessor: CLIPImagePreprocessor
    public let generation: GITGenerationConfig
    /// Which weights file was read.
    public let weightsFile: URL

    /// Loads `directory`: config.json (must say `model_type: git`), model.safetensors (memory-mapped) or else
    /// pytorch_model.bin (restricted reader, never runs code), vocab.txt, preprocessor_config.json and
    /// generation_config.json (optional). Anything missing, malformed or mismatched throws one line naming the file.
    /// At `precision` int8, the image tower's blocks, the decoder's linears and the vocabulary head are quantized at
    /// load.
    public static func load(
        directory: URL, precision: Precision = .fp32, logger: Logger = Logger(label: "vlm.git")
    ) throws -> GITCheckpoint {
        let config = try GITConfig.load(from: directory.appendingPathComponent("config.json"))
        let safetensors = directory.appendingPathComponent("model.safetensors")
        let bin = directory.appendingPathComponent("pytorch_model.bin")
        let weights: GITWeights
        let weightsFile: URL
        if FileManager.default.fileExists(atPath: safetensors.path) {
            weights = try GITWeights(
                config: config, source: CheckedSafetensors(file: try SafetensorsFile(url: safetensors)))
            weightsFile = safetensors
        } else if FileManager.default.fileExists(atPath: bin.path) {
            weights = try GITWeights(config: config, source: try TorchCheckpoint(url: bin))
            weightsFile = bin
        } else {
            throw GITLoadError(
                file: directory.path, "has neither model.safetensors nor pytorch_model.bin; expected a GIT checkpoint")
        }
        let tokenizer = try WordPieceTokenizer(vocabularyFile: directory.appendingPathComponent("vocab.txt"))
        guard tokenizer.tokens.count == config.vocabSize else {
            throw GITLoadError(
                file: "vocab.txt",
                "has \(tokenizer.tokens.count) tokens, config.json's vocab_size is \(config.vocabSize)")
        }
        let preprocessor = try CLIPImagePreprocessor(
            configFile: directory.appendingPathComponent("preprocessor_config.json"))
        guard preprocessor.outputSize == (config.vision.imageSize, config.vision.imageSize) else {
            throw GITLoadError(
                file: "preprocessor_config.json",
                "crops to \(preprocessor.outputSize.width)×\(preprocessor.outputSize.height), the image encoder takes "
                    + "\(config.vision.imageSize)×\(config.vision.imageSize)")
        }
        let generation = try GITGenerationConfig.load(
            from: directory.appendingPathComponent("generation_config.json"), config: config)
        logger.info(
            "loaded GIT weights",
            metadata: ["file": "\(weightsFile.path)", "bytes": "\(weights.weightBytes)"])
        return GITCheckpoint(
            model: GITModel(weights: weights.converted(to: precision)), tokenizer: tokenizer,
            preprocessor: preprocessor, generation: generation,
            weightsFile: weightsFile)
    }
}

extension GITCheckpoint {
    /// A VQA prompt: [CLS] and the question's ids, without [SEP]. Refused when the question is empty, when nothing of it
    /// is left after tokenizing (control characters, lone combining marks: the model would caption instead of
    /// answer), or when it leaves the answer no room in the model's positions.
    public func questionPrompt(_ question: String) throws(GITInputError) -> [Int32] {
        let ids = tokenizer.encode(question, addSpecialTokens: false)
        guard !ids.isEmpty else {
            throw GITInputError(
                "the question has no words the tokenizer keeps; ask something, e.g. \"is the door open?\"")
        }
        let prompt = [Int32(model.config.bosTokenID)] + ids.map(Int32.init)
        guard prompt.count < model.config.maxPositionEmbeddings else {
            throw GITInputError(
                "the question \"\(question.prefix(40))…\" is \(prompt.count) tokens, too long for the model's "
                    + "\(model.config.maxPositionEmbeddings) positions")
        }
        return prompt
    }
}

/// model.safetensors with GIT's wording for a missing tensor (the CLIP reader suggests a CLIP checkpoint).
struct CheckedSafetensors: TensorSource {
    let file: SafetensorsFile

    func tensor(_ key: String, shape: [Int]) throws -> Tensor {
        guard file.entries[key] != nil else {
            throw GITLoadError(
                file: file.name, "tensor \(key) is missing (is this a GIT checkpoint in Hugging Face format?)")
        }
        return try file.tensor(key, shape: shape)
    }
}
