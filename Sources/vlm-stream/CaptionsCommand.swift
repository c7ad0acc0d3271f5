import ArgumentParser
import CLIP
import Foundation
import Logging
import VLMCaption
import VLMCore

/// `vlm-stream captions warm`: the caption vocabulary's text embedding cache.
struct CaptionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "captions",
        abstract: "Prepare the caption vocabulary's text embedding cache.",
        subcommands: [Warm.self]
    )

    /// `vlm-stream captions warm`: encode the vocabulary's short sentences once, so the first `run --captions` on
    /// this machine starts fast.
    struct Warm: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Encode the caption vocabulary's sentences into the cache for --model.")

        @OptionGroup var model: ModelOptions
        @OptionGroup var captions: CaptionCacheOptions
        @Option(help: "Slots to pre-encode completely (2: subjects and subject + action; 3 adds places).")
        var depth = 2

        func run() async throws {
            try await reportingErrors {
                let encoder = try CLIPModel.load(directory: try model.directory(), logger: quietLogger("vlm.clip"))
                let start = Date()
                let captioner = try captions.captioner(encoder: encoder, logger: quietLogger("vlm.captions"))
                let prepared = try captioner.prepare(depth: depth)
                print(
                    "\(prepared) sentences ready (\(captioner.store.encodedCount) encoded) in "
                        + String(format: "%.2f s", Date().timeIntervalSince(start)) + "; cache "
                        + (captioner.store.cacheURL?.path ?? "off"))
            }
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

/// A bare CLIP text tower and tokenizer as a `TextEncoding` (for benchmarks with random weights).
struct TextTower: TextEncoding {
    let tokenizer: CLIPTokenizer
    let model: CLIPTextModel
    let modelIdentity: String

    var embeddingSize: Int { model.embeddingSize }
    var logitScale: Float { model.logitScale }

    func encode(texts: [String]) throws -> [Embedding] {
        try model.encode(tokenIDs: tokenizer.encode(texts))
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
