import ArgumentParser
import CLIP
import Foundation
import Logging
import VLMCaption
import VLMCore

/// `vlm-stream bench captions`: first start (empty cache) against cached start, and the cost of one caption.
struct BenchCaptionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "captions",
        abstract: "Time caption start-up with an empty and with a filled text embedding cache.",
        discussion: """
            Uses a fresh temporary cache. With --random-text-tower, the text tower is ViT-B/32-sized with random \
            weights (the tokenizer still comes from --model), so timings match the real checkpoint's.
            """)

    @OptionGroup var model: ModelOptions
    @Option(help: "Caption vocabulary YAML (default: the built-in Configs/captions.yaml).")
    var captionVocabulary: String?
    @Option(help: "Beam width.")
    var captionBeam = 8
    @Flag(help: "Use a ViT-B/32-sized text tower with random weights instead of --model's weights.")
    var randomTextTower = false
    @Option(help: "Captions to time after start-up (random windows).")
    var windows = 5

    func run() async throws {
        try await reportingErrors {
            let directory = try model.directory()
            let loadStart = Date()
            let encoder: any TextEncoding =
                randomTextTower
                ? try TextTower.randomViTB32(tokenizerDirectory: directory)
                : try CLIPModel.load(directory: directory, logger: quietLogger("vlm.clip"))
            let loadSeconds = Date().timeIntervalSince(loadStart)
            let vocabulary =
                try captionVocabulary.map { try CaptionVocabulary.load(from: URL(fileURLWithPath: $0)) }
                ?? .builtIn
            let cache = FileManager.default.temporaryDirectory.appendingPathComponent(
                "vlm-caption-bench-\(UUID().uuidString.prefix(8))")
            defer { try? FileManager.default.removeItem(at: cache) }
            print("text tower: \(encoder.modelIdentity), loaded in \(String(format: "%.2f", loadSeconds)) s")
            var rng = SystemRandomNumberGenerator()
            let targets = (0..<max(1, windows)).map { _ in
                Embedding((0..<encoder.embeddingSize).map { _ in Float.random(in: -1...1, using: &rng) })
                    .normalized()
            }
            for run in ["first start (empty cache)", "cached start"] {
                let start = Date()
                let store = TextEmbeddingStore(
                    encoder: encoder,
                    cacheURL: TextEmbeddingStore.cacheURL(modelIdentity: encoder.modelIdentity, in: cache),
                    logger: quietLogger("vlm.captions"))
                let captioner = BeamSearchCaptioner(
                    vocabulary: vocabulary, store: store, beamWidth: captionBeam, logger: quietLogger("vlm.captions"))
                let prepared = try captioner.prepare()
                let ready = Date().timeIntervalSince(start)
                var captionSeconds: [Double] = []
                for target in targets {
                    let t = Date()
                    _ = try captioner.caption(
                        CaptionWindow(stream: "bench", startPTS: 0, endPTS: 1, embeddings: [target]), limit: 1)
                    captionSeconds.append(Date().timeIntervalSince(t))
                }
                store.save()
                let total = Date().timeIntervalSince(start)
                print(
                    "\(run): \(prepared) sentences prepared in \(String(format: "%.3f", ready)) s; "
                        + "\(targets.count) captions: first \(String(format: "%.3f", captionSeconds[0])) s, "
                        + "median \(String(format: "%.4f", median(captionSeconds))) s; "
                        + "\(store.encodedCount) texts encoded; total \(String(format: "%.3f", total)) s")
            }
        }
    }
}
