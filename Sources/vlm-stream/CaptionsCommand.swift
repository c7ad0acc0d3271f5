import ArgumentParser
import CLIP
import Foundation
import Logging
import VLMCaption
import VLMCore

/// `vlm-stream captions warm|bench`: the caption vocabulary's text embedding cache.
struct CaptionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "captions",
        abstract: "Prepare or measure the caption vocabulary's text embedding cache.",
        subcommands: [Warm.self, Bench.self]
    )

    /// `vlm-stream captions warm`: encode the vocabulary's short sentences once, so the first `run --captions` on
    /// this machine starts fast.
    struct Warm: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Encode the caption vocabulary's sentences into the cache for --model.")

        @OptionGroup var model: ModelOptions
        @OptionGroup var captions: CaptionCacheOptions

        func run() async throws {
            try await reportingErrors {
                let encoder = try TextTower.load(directory: try model.directory())
                let start = Date()
                let captioner = try captions.captioner(encoder: encoder, logger: Logger(label: "vlm.captions"))
                let prepared = try captioner.prepare()
                print(
                    "\(prepared) sentences ready (\(captioner.store.encodedCount) encoded) in "
                        + String(format: "%.2f s", Date().timeIntervalSince(start)) + "; cache "
                        + (captioner.store.cacheURL?.path ?? "off"))
            }
        }
    }

    /// `vlm-stream captions bench`: first start (empty cache) against cached start, and the cost of one caption.
    struct Bench: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
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
                let encoder = randomTextTower
                    ? try TextTower.randomViTB32(tokenizerDirectory: directory) : try TextTower.load(directory: directory)
                let loadSeconds = Date().timeIntervalSince(loadStart)
                let vocabulary = try captionVocabulary.map { try CaptionVocabulary.load(from: URL(fileURLWithPath: $0)) }
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
                        logger: Logger(label: "vlm.captions"))
                    let captioner = BeamSearchCaptioner(
                        vocabulary: vocabulary, store: store, beamWidth: captionBeam, logger: Logger(label: "bench"))
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

        private func median(_ values: [Double]) -> Double {
            let sorted = values.sorted()
            return sorted[sorted.count / 2]
        }
    }
}

/// `--caption-vocabulary`, `--caption-cache`, `--caption-beam` for commands that build a captioner.
struct CaptionCacheOptions: ParsableArguments {
    @Option(help: "Caption vocabulary YAML (default: the built-in Configs/captions.yaml).")
    var captionVocabulary: String?
    @Option(help: "Directory of the text embedding cache (default: $XDG_CACHE_HOME/vlm-stream or ~/.cache/vlm-stream).")
    var captionCache: String?
    @Option(help: "Beam width of the caption search.")
    var captionBeam = 8

    func captioner(encoder: any TextEncoding, logger: Logger) throws -> BeamSearchCaptioner {
        let vocabulary = try captionVocabulary.map { try CaptionVocabulary.load(from: URL(fileURLWithPath: $0)) }
            ?? .builtIn
        let directory = captionCache.map { URL(fileURLWithPath: $0) } ?? TextEmbeddingStore.defaultCacheDirectory()
        let store = TextEmbeddingStore(
            encoder: encoder,
            cacheURL: TextEmbeddingStore.cacheURL(modelIdentity: encoder.modelIdentity, in: directory), logger: logger)
        return BeamSearchCaptioner(vocabulary: vocabulary, store: store, beamWidth: captionBeam, logger: logger)
    }
}

/// CLIP's text tower and tokenizer as a `TextEncoding`.
struct TextTower: TextEncoding {
    let tokenizer: CLIPTokenizer
    let model: CLIPTextModel
    let modelIdentity: String

    var embeddingSize: Int { model.embeddingSize }
    var logitScale: Float { model.logitScale }

    func encode(texts: [String]) throws -> [Embedding] {
        try model.encode(tokenIDs: tokenizer.encode(texts))
    }

    static func load(directory: URL) throws -> TextTower {
        let weights = try CLIPWeights.load(directory: directory)
        let model = CLIPTextModel(weights: weights)
        return TextTower(
            tokenizer: try CLIPTokenizer(directory: directory, contextLength: model.contextLength), model: model,
            modelIdentity: "clip-text:" + directory.standardizedFileURL.path)
    }

    /// ViT-B/32's text tower (12 × 512, 8 heads, 77 positions, 512-d projection) with seeded random weights; the
    /// vision tower is shrunk to almost nothing since only text is encoded.
    static func randomViTB32(tokenizerDirectory: URL) throws -> TextTower {
        var vision = CLIPConfig.Vision()
        vision.hiddenSize = 64
        vision.intermediateSize = 128
        vision.numHiddenLayers = 1
        vision.numAttentionHeads = 2
        vision.imageSize = 32
        vision.patchSize = 16
        let config = CLIPConfig(text: CLIPConfig.Text(), vision: vision, projectionDim: 512)
        let model = CLIPTextModel(weights: try CLIPWeights.random(config: config))
        return TextTower(
            tokenizer: try CLIPTokenizer(directory: tokenizerDirectory, contextLength: model.contextLength),
            model: model, modelIdentity: "random-vit-b32-text-seed1")
    }
}
