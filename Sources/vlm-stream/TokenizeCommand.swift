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
            let directory = try model.directory()
            let tokenizer = try TokenizerLoader.load(directory: directory)
            // Ids the text tower has no row for (a tokenizer of another model) are refused, as `embed` refuses them.
            let vocabulary = try CLIPConfig.load(from: directory.appendingPathComponent("config.json")).text.vocabSize
            for text in texts {
                let ids = try tokenizer.encode(text)
                if let bad = ids.first(where: { $0 < 0 || Int($0) >= vocabulary }) {
                    throw CLIPInputError(
                        "token id \(bad) of \"\(text.prefix(40))\" is outside the model's vocabulary of \(vocabulary): "
                            + "its tokenizer files belong to another model")
                }
                try JSONLine.emit(#"{"text": \#(JSONText.string(text)), "ids": \#(JSONLine.array(ids))}"#)
            }
        }
    }
}
