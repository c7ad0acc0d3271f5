import CLIP
import Foundation
import GIT
import Logging
import VLMCaption
import VLMCore

/// A GIT checkpoint as the stream captioner: generates a caption from the caption images the sources make at
/// GIT's own preprocessing (its preprocessor_config.json), greedy unless beams are set. A video checkpoint
/// (`num_image_with_embedding` N > 1) reads the last N sampled frames together.
public struct GITImageCaptioner: ImageCaptioner {
    public let checkpoint: GITCheckpoint
    /// Generation settings: generation_config.json with `--caption-beams` / `--caption-max-tokens` applied.
    public let settings: GITGenerationConfig

    public init(checkpoint: GITCheckpoint, beams: Int? = nil, maxTokens: Int? = nil) {
        self.checkpoint = checkpoint
        var settings = checkpoint.generation
        if let beams { settings.numBeams = beams }
        if let maxTokens { settings.maxNewTokens = maxTokens }
        self.settings = settings
    }

    /// Resolves `model` (a directory or a cached hub name) and loads it, its linears at `precision`.
    public static func load(
        options: CaptionOptions, precision: Precision = .fp32, logger: Logger
    ) throws -> GITImageCaptioner? {
        guard let model = options.model else { return nil }
        let directory = try ModelLocator.resolve(model, requiredFiles: GITCheckpoint.requiredFiles)
        let checkpoint = try GITCheckpoint.load(directory: directory, precision: precision, logger: logger)
        return GITImageCaptioner(checkpoint: checkpoint, beams: options.modelBeams, maxTokens: options.maxTokens)
    }

    public var framesPerCaption: Int { checkpoint.model.config.frames }
    public var preprocessing: ImagePreprocessing { checkpoint.preprocessor }

    public func caption(_ images: [RGBImage]) throws -> String {
        try generate(images, prompt: [])
    }

    /// As GIT's model card: the prompt is [CLS] + the question's WordPiece ids without the final [SEP]; the answer is
    /// what is generated after it.
    public func answer(_ question: String, images: [RGBImage]) throws -> String {
        try generate(images, prompt: try prompt(question))
    }

    /// Refuses an empty question, and one whose prompt leaves no position for an answer.
    public func check(question: String) throws {
        guard !question.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw GITInputError("a question is empty; ask something, e.g. \"is the door open?\"")
        }
        _ = try prompt(question)
    }

    private func prompt(_ question: String) throws -> [Int32] { try checkpoint.questionPrompt(question) }

    /// The ids generated after `prompt` for `images` (one input: N frames of a video checkpoint, else one image),
    /// decoded without special tokens.
    func generate(_ images: [RGBImage], prompt: [Int32]) throws -> String {
        var pixels: [Float] = []
        for image in images.suffix(framesPerCaption) {
            // The sources made the image at this preprocessing: resize and crop are no-ops then.
            checkpoint.preprocessor.appendPixelValues(image, to: &pixels)
        }
        let generated = try pixels.withUnsafeBufferPointer {
            try checkpoint.model.generate(pixelValues: $0, images: 1, prompt: prompt, settings: settings)
        }
        let special = checkpoint.tokenizer.specialIDs
        return checkpoint.tokenizer.decode((generated.first ?? []).map(Int.init).filter { !special.contains($0) })
    }
}
