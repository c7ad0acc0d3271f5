import ArgumentParser
import CLIP
import Foundation
import GIT
import Logging
import VLMCore
import VLMVideo

/// `--model` for the commands that run a GIT captioning model.
struct GITModelOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "A GIT checkpoint directory, or a Hugging Face hub name (name or name@revision) in the local hub cache.",
            valueName: "dir|name"))
    var model: String = "microsoft/git-base-coco"

    @Option(help: "Precision of the image tower's and the decoder's linear layers: fp32 or int8 (quantized at load).")
    var precision: Precision = .fp32

    /// Resolves and loads the checkpoint; the library's info logs stay off the terminal.
    func load() throws -> GITCheckpoint {
        let directory = try ModelLocator.resolve(model, requiredFiles: GITCheckpoint.requiredFiles)
        var logger = Logger(label: "vlm.git")
        logger.logLevel = .warning
        return try GITCheckpoint.load(directory: directory, precision: precision, logger: logger)
    }
}

extension GITCheckpoint {
    /// Pixel values (inputs, frames, 3, S, S) for `files`: each file is one input of an image checkpoint, or all of
    /// them together the frames of one input of a video checkpoint (which needs exactly `frames` of them).
    func pixelValues(files: [String]) throws -> (values: [Float], inputs: Int) {
        let frames = model.config.frames
        if frames > 1 && files.count != frames {
            throw GITCommandError(
                "this is a video checkpoint taking \(frames) frames at once; give exactly \(frames) image files "
                    + "(got \(files.count))")
        }
        var values: [Float] = []
        for file in files {
            let image = try ImageFile.decode(URL(fileURLWithPath: file))
            preprocessor.appendPixelValues(image, to: &values)
        }
        return (values, frames > 1 ? 1 : files.count)
    }

    /// Generated ids without special tokens, and their text.
    func answer(_ generated: [Int32]) -> (text: String, ids: [Int]) {
        let ids = generated.map(Int.init).filter { !tokenizer.specialIDs.contains($0) }
        return (tokenizer.decode(ids), ids)
    }
}

/// A command-line request the model cannot serve (wrong frame count, question empty or too long).
struct GITCommandError: UserFacingError {
    var description: String
    init(_ description: String) { self.description = description }
}
