import Foundation
import Logging
import VLMCore

/// How to build the rolling captioner: vocabulary, cache, beam and trigger settings (the pipeline file's
/// `captions:` section and the CLI's `--caption-*` options map onto this).
public struct CaptionOptions: Sendable, Equatable {
    /// Vocabulary YAML; `nil` uses the built-in Configs/captions.yaml.
    public var vocabulary: String?
    /// Text embedding cache directory; `nil` uses `$XDG_CACHE_HOME/vlm-stream` or `~/.cache/vlm-stream`.
    public var cacheDirectory: String?
    /// Beam width of the sentence search.
    public var beamWidth: Int
    /// Window, drift and interval settings.
    public var rolling: RollingCaptionSettings
    /// A GIT checkpoint (directory or hub name) that writes the captions from the frames' pixels instead of the
    /// vocabulary search; nil keeps the CLIP-vocabulary captioner.
    public var model: String?
    /// Beams of the model's search (nil: its generation_config.json, else 1: greedy).
    public var modelBeams: Int?
    /// Most tokens the model generates per caption (nil: its generation_config.json).
    public var maxTokens: Int?
    /// Standing questions the model answers on every caption trigger (`--ask`, `ask:`); they need `model` or
    /// `endpoint`.
    public var ask: [String] = []
    /// A remote vision-language model that writes the captions and answers instead of `model`.
    public var endpoint: EndpointOptions?

    public init(
        vocabulary: String? = nil, cacheDirectory: String? = nil, beamWidth: Int = 8,
        rolling: RollingCaptionSettings = .init()
    ) {
        self.vocabulary = vocabulary
        self.cacheDirectory = cacheDirectory
        self.beamWidth = beamWidth
        self.rolling = rolling
    }

    /// Checks the numbers; the message names the setting and a sensible value.
    public func validate() throws {
        func bad(_ detail: String) -> CaptionError { .invalidOption(detail) }
        guard beamWidth >= 1 else { throw bad("caption beam width must be at least 1 (try 8)") }
        guard beamWidth <= BeamSearchCaptioner.maxBeamWidth else {
            throw bad("caption beam width must be at most \(BeamSearchCaptioner.maxBeamWidth) (try 8)")
        }
        guard rolling.window > 0, rolling.window <= 86_400 else {
            throw bad("caption window must be positive seconds, at most 86400 (try 2)")
        }
        if let modelBeams, !(1...16).contains(modelBeams) {
            throw bad("caption model beams must be between 1 and 16 (try 1: greedy)")
        }
        if let maxTokens, !(1...512).contains(maxTokens) {
            throw bad("caption max tokens must be between 1 and 512 (try 20)")
        }
        if model != nil && endpoint != nil {
            throw bad(
                "give either a caption model (--caption-model, captions.model) or a caption endpoint "
                    + "(--caption-endpoint, captions.endpoint), not both")
        }
        if modelBeams != nil && model == nil {
            throw bad("caption beams set the caption model's search; give --caption-model (captions.model)")
        }
        if maxTokens != nil && model == nil && endpoint == nil {
            throw bad(
                "caption max tokens set the caption model's search; give --caption-model (captions.model) or "
                    + "--caption-endpoint (captions.endpoint)")
        }
        if !ask.isEmpty && model == nil && endpoint == nil {
            throw bad(
                "questions (--ask, captions.ask) need a caption model (--caption-model, captions.model) or a caption "
                    + "endpoint (--caption-endpoint, captions.endpoint)")
        }
        try endpoint?.validate()
        if ask.contains(where: { $0.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty }) {
            throw bad("a question (--ask, captions.ask) is empty; ask something, e.g. \"is the door open?\"")
        }
        guard (0...2).contains(rolling.drift) else {
            throw bad("caption drift is a cosine distance in 0...2 (try 0.05)")
        }
        guard rolling.maxInterval > 0, rolling.maxInterval.isFinite, rolling.minInterval >= 0,
            rolling.minInterval <= rolling.maxInterval
        else {
            throw bad("caption intervals need 0 <= min interval <= max interval (try 1 and 10)")
        }
    }

    // MARK: - Building

    /// The beam-search captioner over `encoder`'s text tower (the model that encodes the frames), with the cache
    /// file for that model opened.
    public func makeCaptioner(encoder: any TextEncoding, logger: Logger) throws -> BeamSearchCaptioner {
        try validate()
        let vocabulary = try vocabulary.map { try CaptionVocabulary.load(from: URL(fileURLWithPath: $0)) } ?? .builtIn
        let directory = cacheDirectory.map { URL(fileURLWithPath: $0) } ?? TextEmbeddingStore.defaultCacheDirectory()
        let store = TextEmbeddingStore(
            encoder: encoder,
            cacheURL: TextEmbeddingStore.cacheURL(modelIdentity: encoder.modelIdentity, in: directory), logger: logger)
        return BeamSearchCaptioner(vocabulary: vocabulary, store: store, beamWidth: beamWidth, logger: logger)
    }

    /// The rolling caption analyzer, with the vocabulary's short sentences encoded (or loaded from the cache) now,
    /// before the first frame arrives.
    public func makeAnalyzer(encoder: any TextEncoding, logger: Logger) throws -> RollingCaptioner {
        let captioner = try makeCaptioner(encoder: encoder, logger: logger)
        let start = Date()
        let prepared = try captioner.prepare()
        let seconds = String(format: "%.2f", Date().timeIntervalSince(start))
        logger.info("captions ready: \(prepared) texts, \(captioner.store.encodedCount) encoded in \(seconds) s")
        return RollingCaptioner(captioner: captioner, settings: rolling, logger: logger)
    }
}
