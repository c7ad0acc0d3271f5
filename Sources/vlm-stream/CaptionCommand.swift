import ArgumentParser
import Foundation
import GIT
import VLMCore

/// `vlm-stream caption IMAGE... [--model M] [--beams N] [--max-tokens N]`: a GIT model's caption of each image.
struct CaptionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "caption",
        abstract: "Caption images with a GIT model (microsoft/git-base-coco and the like).",
        discussion: #"Output: {"image": FILE, "caption": TEXT, "ids": [generated token ids]} per image. "#
            + "A video checkpoint (git-base-vatex) takes its frames as the image files and prints one line.")

    @Argument(help: "Image files.")
    var files: [String]

    @OptionGroup var model: GITModelOptions

    @Option(name: .long, help: "Beams for beam search (default: generation_config.json's num_beams, else 1: greedy).")
    var beams: Int?

    @Option(name: .long, help: "Most tokens to generate (default: generation_config.json, else up to 20 in all).")
    var maxTokens: Int?

    func validate() throws {
        guard !files.isEmpty else { throw ValidationError("Give at least one image file.") }
        if let beams, !(1...16).contains(beams) { throw ValidationError("--beams must be between 1 and 16.") }
        if let maxTokens, !(1...512).contains(maxTokens) {
            throw ValidationError("--max-tokens must be between 1 and 512.")
        }
    }

    func run() async throws {
        try await reportingErrors {
            let checkpoint = try model.load()
            var settings = checkpoint.generation
            if let beams { settings.numBeams = beams }
            if let maxTokens { settings.maxNewTokens = maxTokens }
            // Image checkpoints: groups of 8 images per batch, so a long file list does not hold every image at once.
            let groups =
                checkpoint.model.config.frames > 1
                ? [files] : stride(from: 0, to: files.count, by: 8).map { Array(files[$0..<min(files.count, $0 + 8)]) }
            for group in groups {
                let (pixels, inputs) = try checkpoint.pixelValues(files: group)
                let generated = try pixels.withUnsafeBufferPointer {
                    try checkpoint.model.generate(pixelValues: $0, images: inputs, settings: settings)
                }
                for (index, ids) in generated.enumerated() {
                    let (caption, kept) = checkpoint.answer(ids)
                    let image = inputs == group.count ? group[index] : group[0]
                    try JSONLine.emit(
                        #"{"image": \#(JSONText.string(image)), "caption": \#(JSONText.string(caption)), "#
                            + #""ids": \#(JSONLine.array(kept))}"#)
                }
            }
        }
    }
}
