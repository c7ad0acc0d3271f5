import ArgumentParser
import CLIP
import VLMCore

/// `vlm-stream tokenize TEXT...`: CLIP token ids, one JSON line per text.
struct TokenizeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Print CLIP token ids (start and end tokens included, no padding) as JSON lines.",
        discussion: #"Output: {"text": TEXT, "ids": [49406, ..., 49407]} per text, truncated to 77 ids."#
    )

    @Argument(help: "Texts to tokenize.")
    var texts: [String]

    func validate() throws {
        guard !texts.isEmpty else { throw ValidationError("Give at least one text.") }
    }

    @OptionGroup var model: ModelOptions

    func run() async throws {
        try await reportingErrors {
            let tokenizer = try CLIPTokenizer(directory: try model.directory())
            for text in texts {
                try JSONLine.emit(
                    #"{"text": \#(JSONText.string(text)), "ids": \#(JSONLine.array(tokenizer.encode(text)))}"#)
            }
        }
    }
}
