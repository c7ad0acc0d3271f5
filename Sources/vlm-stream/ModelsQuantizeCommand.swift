import ArgumentParser
import CLIP
import Foundation
import Logging

extension ModelsCommand {
    /// `models quantize MODEL --out DIR`: an int8 checkpoint written once, ahead of time.
    struct Quantize: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write an int8 copy of a CLIP or SigLIP checkpoint, which loads as a model by itself.",
            discussion: """
                DIR gets a model.safetensors holding each transformer block's linear layers as int8 (per output \
                row, with their fp32 scales, and the layer-norm outlier channels' columns in fp32), everything else \
                as fp32, and the checkpoint's config, preprocessor and tokenizer files. `--model DIR` then runs at \
                int8 without --precision; its embeddings are identical to `--precision int8` on the original, and \
                it keeps the original's model identity, so indexes built with either are searched by both.
                """)

        @Argument(help: "A CLIP or SigLIP checkpoint directory, or a cached hub name (name or name@revision).")
        var model: String

        @Option(
            help: ArgumentHelp(
                "The directory to write (created if needed; must not hold a model.safetensors).", valueName: "dir"))
        var out: String

        func run() async throws {
            try await reportingErrors {
                // A local directory needs only config.json + model.safetensors (the other files are copied if
                // present); a hub name goes through the cache lookup.
                let local = URL(fileURLWithPath: model)
                let source =
                    FileManager.default.fileExists(atPath: local.appendingPathComponent("config.json").path)
                    ? local : try ModelLocator.resolve(model)
                let output = URL(fileURLWithPath: out)
                var logger = Logger(label: "vlm.clip")
                logger.logLevel = .warning  // the line below says it all
                let result = try CLIPWeights.quantizeCheckpoint(from: source, to: output, logger: logger)
                let mb = { (bytes: Int) in String(format: "%.1f MB", Double(bytes) / 1e6) }
                print(
                    "\(source.path) → \(output.appendingPathComponent("model.safetensors").path): "
                        + "\(CLIPWeights.int8Scheme), \(mb(result.bytes)) (the source: \(mb(result.sourceBytes))), "
                        + "\(result.blocksWithOutliers) of \(result.blocks) blocks with outlier channels in fp32; "
                        + "copied \(result.copied.joined(separator: ", "))")
            }
        }
    }
}
