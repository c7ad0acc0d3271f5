import ArgumentParser
import CLIP
import VLMCore

/// `vlm-stream tokenize TEXT...`: the model's token ids, one JSON line per text.
struct TokenizeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Print the model's token ids as JSON lines (CLIP: start and end tokens, no padding).",
        discussion: #"Output: {"text": TEXT, "ids": [49406, ..., 49407]} per text, truncated to 77 ids for CLIP; "#
            + "SigLIP ids end with </s> and are padded to 64; SigLIP 2 adds <bos>/<eos> and pads to 64 on the side its "
            + "tokenizer files say (the released ones: <eos>, on the right). As the model takes them."
    )

    @Argument(help: "Texts to tokenize.")
    var texts: [String]

    func validate() throws {
        guard !texts.isEmpty else { throw ValidationError("Give at least one text.") }
    }

    @OptionGroup var model: ModelOptions

    func run() async throws {
        try await reportingErrors {
            let tokenizer = try TokenizerLoader.load(directory: try model.directory())
            for text in texts {
                try JSONLine.emit(
                    #"{"text": \#(JSONText.string(text)), "ids": \#(JSONLine.array(try tokenizer.encode(text)))}"#)
            }
        }
    }
}
