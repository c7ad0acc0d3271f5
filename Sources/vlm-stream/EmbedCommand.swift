import ArgumentParser
import CLIP
import Foundation
import Logging
import VLMCore
import VLMVideo

/// `vlm-stream embed image FILE...` / `vlm-stream embed text TEXT...`: L2-normalised CLIP embeddings as JSON lines.
struct EmbedCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Print CLIP embeddings (L2-normalised, projected) as JSON lines.",
        discussion: #"Output: {"input": FILE-or-TEXT, "embedding": [...]} per input, in order."#,
        subcommands: [Image.self, Text.self]
    )

    /// `embed image FILE...`.
    struct Image: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Embed image files (any still format FFmpeg decodes: JPEG, PNG, BMP, WebP, ...).",
            discussion: "Files that cannot be decoded are reported on standard error; the others are still printed "
                + "and the exit status is 1.")

        @Argument(help: "Image files.")
        var files: [String]

        func validate() throws {
            guard !files.isEmpty else { throw ValidationError("Give at least one image file.") }
        }

        @OptionGroup var model: ModelOptions

        func run() async throws {
            try await reportingErrors {
                let clip = try model.load()
                var failures = 0
                // Decode and embed in groups so a long file list neither holds every image nor runs one at a time.
                var start = 0
                while start < files.count {
                    let group = Array(files[start..<min(files.count, start + clip.maxBatch)])
                    var decoded: [(String, RGBImage)] = []
                    for file in group {
                        do {
                            decoded.append((file, try ImageFile.decode(URL(fileURLWithPath: file))))
                        } catch {
                            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
                            failures += 1
                        }
                    }
                    let embeddings = try clip.encode(stills: decoded.map(\.1))
                    for ((file, _), embedding) in zip(decoded, embeddings) {
                        try JSONLine.emit(
                            #"{"input": \#(JSONText.string(file)), "embedding": \#(JSONLine.array(embedding.values))}"#)
                    }
                    start += group.count
                }
                if failures > 0 { throw ExitCode.failure }
            }
        }
    }

    /// `embed text TEXT...`.
    struct Text: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Embed texts (truncated to 77 tokens).")

        @Argument(help: "Texts.")
        var texts: [String]

        func validate() throws {
            guard !texts.isEmpty else { throw ValidationError("Give at least one text.") }
        }

        @OptionGroup var model: ModelOptions

        func run() async throws {
            try await reportingErrors {
                let clip = try model.load()
                for (text, embedding) in zip(texts, try clip.encode(texts: texts)) {
                    try JSONLine.emit(
                        #"{"input": \#(JSONText.string(text)), "embedding": \#(JSONLine.array(embedding.values))}"#)
                }
            }
        }
    }
}
