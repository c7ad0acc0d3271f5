import Foundation
import Logging
import VLMCore

/// Everything `run --captions` needs, as the command line and pipeline files spell it
/// (`captions`, `srt`, `vtt`, `caption_vocabulary`, `caption_cache`, `caption_beam`, `caption_window`,
/// `caption_drift`, `caption_interval`, `caption_min_interval`), and the factory that builds the analyzer and sinks.
public struct CaptionOptions: Sendable, Equatable, Codable {
    /// Produce rolling captions (implied by `srt`/`vtt`).
    public var enabled: Bool
    /// Subtitle files to write.
    public var srt: String?
    public var vtt: String?
    /// Vocabulary YAML; `nil` uses the built-in Configs/captions.yaml.
    public var vocabulary: String?
    /// Text embedding cache directory; `nil` uses `$XDG_CACHE_HOME/vlm-stream` or `~/.cache/vlm-stream`.
    public var cacheDirectory: String?
    /// Beam width of the sentence search.
    public var beamWidth: Int
    /// Window, drift and interval settings.
    public var rolling: RollingCaptionSettings

    public init(
        enabled: Bool = false, srt: String? = nil, vtt: String? = nil, vocabulary: String? = nil,
        cacheDirectory: String? = nil, beamWidth: Int = 8, rolling: RollingCaptionSettings = .init()
    ) {
        self.enabled = enabled
        self.srt = srt
        self.vtt = vtt
        self.vocabulary = vocabulary
        self.cacheDirectory = cacheDirectory
        self.beamWidth = beamWidth
        self.rolling = rolling
    }

    /// Whether any caption output was asked for.
    public var isActive: Bool { enabled || srt != nil || vtt != nil }

    /// Checks the numbers; the message names the option and a sensible value.
    public func validate() throws {
        func bad(_ detail: String) -> CaptionError { .invalidOption(detail) }
        guard beamWidth >= 1 else { throw bad("caption beam width must be at least 1 (try 8)") }
        guard rolling.window > 0 else { throw bad("caption window must be positive seconds (try 2)") }
        guard (0...2).contains(rolling.drift) else { throw bad("caption drift is a cosine distance in 0...2 (try 0.05)") }
        guard rolling.maxInterval > 0, rolling.minInterval >= 0, rolling.minInterval <= rolling.maxInterval else {
            throw bad("caption intervals need 0 <= min interval <= max interval (try 1 and 10)")
        }
    }

    // MARK: - Building

    /// The rolling caption analyzer over `encoder`'s text tower (the same model that encodes the frames), with the
    /// sentences of the vocabulary's first two slots encoded or loaded from the cache.
    public func makeAnalyzer(encoder: any TextEncoding, logger: Logger) throws -> RollingCaptioner {
        try validate()
        let vocabulary = try vocabulary.map { try CaptionVocabulary.load(from: URL(fileURLWithPath: $0)) } ?? .builtIn
        let directory = cacheDirectory.map { URL(fileURLWithPath: $0) } ?? TextEmbeddingStore.defaultCacheDirectory()
        let store = TextEmbeddingStore(
            encoder: encoder,
            cacheURL: TextEmbeddingStore.cacheURL(modelIdentity: encoder.modelIdentity, in: directory), logger: logger)
        let captioner = BeamSearchCaptioner(vocabulary: vocabulary, store: store, beamWidth: beamWidth, logger: logger)
        let start = Date()
        let prepared = try captioner.prepare()
        let seconds = String(format: "%.2f", Date().timeIntervalSince(start))
        logger.info("captions ready: \(prepared) sentences, \(store.encodedCount) encoded in \(seconds) s")
        return RollingCaptioner(captioner: captioner, settings: rolling, logger: logger)
    }

    /// The subtitle writers asked for (files are created now, so a bad path fails before the run starts).
    public func makeSinks(logger: Logger) throws -> [any ResultSink] {
        var sinks: [any ResultSink] = []
        if let srt { sinks.append(try SubtitleWriter(url: URL(fileURLWithPath: srt), format: .srt, logger: logger)) }
        if let vtt { sinks.append(try SubtitleWriter(url: URL(fileURLWithPath: vtt), format: .vtt, logger: logger)) }
        return sinks
    }

    // MARK: - Codable (pipeline files)

    enum CodingKeys: String, CodingKey {
        case enabled = "captions", srt, vtt
        case vocabulary = "caption_vocabulary", cacheDirectory = "caption_cache", beamWidth = "caption_beam"
        case window = "caption_window", drift = "caption_drift", maxInterval = "caption_interval"
        case minInterval = "caption_min_interval"
    }

    /// Reads the caption keys of a pipeline file (all optional; other keys are ignored).
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = RollingCaptionSettings()
        self.init(
            enabled: try c.decodeIfPresent(Bool.self, forKey: .enabled) ?? false,
            srt: try c.decodeIfPresent(String.self, forKey: .srt),
            vtt: try c.decodeIfPresent(String.self, forKey: .vtt),
            vocabulary: try c.decodeIfPresent(String.self, forKey: .vocabulary),
            cacheDirectory: try c.decodeIfPresent(String.self, forKey: .cacheDirectory),
            beamWidth: try c.decodeIfPresent(Int.self, forKey: .beamWidth) ?? 8,
            rolling: RollingCaptionSettings(
                window: try c.decodeIfPresent(Double.self, forKey: .window) ?? defaults.window,
                drift: try c.decodeIfPresent(Double.self, forKey: .drift) ?? defaults.drift,
                maxInterval: try c.decodeIfPresent(Double.self, forKey: .maxInterval) ?? defaults.maxInterval,
                minInterval: try c.decodeIfPresent(Double.self, forKey: .minInterval) ?? defaults.minInterval))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(enabled, forKey: .enabled)
        try c.encodeIfPresent(srt, forKey: .srt)
        try c.encodeIfPresent(vtt, forKey: .vtt)
        try c.encodeIfPresent(vocabulary, forKey: .vocabulary)
        try c.encodeIfPresent(cacheDirectory, forKey: .cacheDirectory)
        try c.encode(beamWidth, forKey: .beamWidth)
        try c.encode(rolling.window, forKey: .window)
        try c.encode(rolling.drift, forKey: .drift)
        try c.encode(rolling.maxInterval, forKey: .maxInterval)
        try c.encode(rolling.minInterval, forKey: .minInterval)
    }
}
