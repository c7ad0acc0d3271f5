import ArgumentParser
import Foundation
import GIT
import VLMCore

/// `vlm-stream ask IMAGE "question" [--model M]`: visual question answering with a GIT VQA checkpoint.
struct AskCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ask",
        abstract: "Answer a question about an image with a GIT model (microsoft/git-base-vqav2, git-base-textvqa).",
        discussion: #"Output: {"image": FILE, "question": TEXT, "answer": TEXT, "ids": [generated token ids]}. "#
            + "As GIT's model card: the prompt is [CLS] + the question's ids; the answer is what follows.")

    @Argument(help: "Image file.")
    var image: String

    @Argument(help: "The question.")
    var question: String

    @OptionGroup var model: GITModelOptions

    @Option(name: .long, help: "Beams for beam search (default: generation_config.json's num_beams, else 1).")
    var beams: Int?

    @Option(name: .long, help: "Most answer tokens (default: generation_config.json, else up to 20 in all).")
    var maxTokens: Int?

    func run() async throws {
        try await reportingErrors {
            guard !question.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                throw GITCommandError("the question is empty; ask something, e.g. \"what is on the table?\"")
            }
            let checkpoint = try model.load()
            let config = checkpoint.model.config
            let prompt = try checkpoint.questionPrompt(question)
            var settings = checkpoint.generation
            if let beams { settings.numBeams = max(1, min(16, beams)) }
            if let maxTokens { settings.maxNewTokens = max(1, maxTokens) }
            let (pixels, inputs) = try checkpoint.pixelValues(
                files: Array(repeating: image, count: config.frames))
            let generated = try pixels.withUnsafeBufferPointer {
                try checkpoint.model.generate(pixelValues: $0, images: inputs, prompt: prompt, settings: settings)
            }
            let (answer, ids) = checkpoint.answer(generated.first ?? [])
            try JSONLine.emit(
                #"{"image": \#(JSONText.string(image)), "question": \#(JSONText.string(question)), "#
                    + #""answer": \#(JSONText.string(answer)), "ids": \#(JSONLine.array(ids))}"#)
        }
    }
}
