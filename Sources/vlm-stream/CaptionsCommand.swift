import ArgumentParser
import CLIP
import Foundation
import Logging
import VLMCaption
import VLMCore
import VLMGraph
import VLMPipeline

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
        @OptionGroup var captions: CaptionRunOptions
        @Option(help: "Slots to pre-encode completely (2: subjects and subject + action; 3 adds places).")
        var depth = 2

        func validate() throws {
            let modelOptions =
                ["--caption-model", "--caption-beams", "--caption-max-tokens", "--ask"]
                + CaptionRunOptions.endpointFlags
            let given = captions.given.filter(modelOptions.contains)
            guard given.isEmpty else {
                throw ValidationError(
                    "captions warm prepares the CLIP vocabulary; \(given.joined(separator: ", ")) apply to run")
            }
        }

        func run() async throws {
            try await reportingErrors {
                let encoder = try CLIPModel.load(directory: try model.directory(), logger: quietLogger("vlm.clip"))
                let start = Date()
                let captioner = try captions.options().makeCaptioner(
                    encoder: encoder, logger: quietLogger("vlm.captions"))
                let prepared = try captioner.prepare(depth: depth)
                print(
                    "\(prepared) sentences ready (\(captioner.store.encodedCount) encoded) in "
                        + String(format: "%.2f s", Date().timeIntervalSince(start)) + "; cache "
                        + (captioner.store.cacheURL?.path ?? "off"))
            }
        }
    }
}

/// `--caption-*`: the captioner's vocabulary, cache, beam and triggers (for `run --captions` and `captions warm`).
/// Every option is nil until given; the defaults are VLMCaption's (`CaptionOptions`).
struct CaptionRunOptions: ParsableArguments {
    private static let defaults = CaptionOptions()

    @Option(
        help: ArgumentHelp("Caption vocabulary YAML (default: the built-in Configs/captions.yaml).", valueName: "file"))
    var captionVocabulary: String?
    @Option(
        help: ArgumentHelp(
            "Text embedding cache directory (default: $XDG_CACHE_HOME/vlm-stream or ~/.cache/vlm-stream).",
            valueName: "dir"))
    var captionCache: String?
    @Option(help: "Beam width of the caption sentence search. Default \(defaults.beamWidth).")
    var captionBeam: Int?
    @Option(help: "Seconds of frames averaged into a caption's window. Default \(defaults.rolling.window).")
    var captionWindow: Double?
    @Option(
        help: ArgumentHelp(
            "Cosine distance from the last captioned window that triggers a new caption. "
                + "Default \(defaults.rolling.drift)."))
    var captionDrift: Double?
    @Option(help: "Seconds after which a caption is re-checked without drift. Default \(defaults.rolling.maxInterval).")
    var captionInterval: Double?
    @Option(help: "Seconds that must pass between two captions. Default \(defaults.rolling.minInterval).")
    var captionMinInterval: Double?
    @Option(
        help: ArgumentHelp(
            "A GIT checkpoint (directory or hub name) that writes the captions from the frames (implies --captions).",
            valueName: "dir|name"))
    var captionModel: String?
    @Option(help: "Beams of the caption model's search (default: its generation_config.json, else 1: greedy).")
    var captionBeams: Int?
    @Option(help: "Most tokens the caption model generates per caption (default: its generation_config.json).")
    var captionMaxTokens: Int?
    @Option(
        name: .customLong("ask"),
        help: ArgumentHelp(
            "A question the caption model answers on each caption trigger, reported when the answer changes "
                + "(repeatable; needs --caption-model or --caption-endpoint)."))
    var ask: [String] = []
    @Option(
        help: ArgumentHelp(
            "An OpenAI-compatible chat-completions endpoint whose vision model writes the captions and answers "
                + "(the base URL, e.g. http://127.0.0.1:11434/v1, or the full .../chat/completions URL; implies "
                + "--captions). API key: $\(EndpointOptions.defaultKeyVariable).", valueName: "url"))
    var captionEndpoint: String?
    @Option(help: ArgumentHelp("The model name sent to --caption-endpoint (required with it).", valueName: "name"))
    var captionEndpointModel: String?
    @Option(
        help: ArgumentHelp(
            "The environment variable holding the endpoint's API key (default \(EndpointOptions.defaultKeyVariable); "
                + "a named variable must be set).", valueName: "var"))
    var captionEndpointKeyEnv: String?
    @Option(help: ArgumentHelp("Seconds one endpoint request may take. Default 30.", valueName: "seconds"))
    var captionEndpointTimeout: Double?
    @Option(
        help: ArgumentHelp(
            "Requests per caption or answer before it is given up (retries back off 0.5 s, 1 s, …). Default 3.",
            valueName: "n"))
    var captionEndpointAttempts: Int?
    @Option(
        help: ArgumentHelp(
            "Endpoint requests in progress at once; later triggers wait and coalesce. Default 2.", valueName: "n"))
    var captionEndpointMaxInFlight: Int?

    /// The endpoint options, which apply only to `run`.
    static let endpointFlags = [
        "--caption-endpoint", "--caption-endpoint-model", "--caption-endpoint-key-env", "--caption-endpoint-timeout",
        "--caption-endpoint-attempts", "--caption-endpoint-max-in-flight",
    ]

    func validate() throws {
        do {
            var options = options()
            // The endpoint's model may come from the pipeline file: the merged spec checks it.
            if options.endpoint?.model.isEmpty == true, captionEndpointModel == nil { options.endpoint?.model = "-" }
            try options.validate()
        } catch let error as UserFacingError {
            throw ValidationError(error.description)
        }
    }

    /// The options given, for errors about options that cannot apply.
    var given: [String] {
        let options: [(String, Bool)] = [
            ("--caption-vocabulary", captionVocabulary != nil), ("--caption-cache", captionCache != nil),
            ("--caption-beam", captionBeam != nil), ("--caption-window", captionWindow != nil),
            ("--caption-drift", captionDrift != nil), ("--caption-interval", captionInterval != nil),
            ("--caption-min-interval", captionMinInterval != nil), ("--caption-model", captionModel != nil),
            ("--caption-beams", captionBeams != nil), ("--caption-max-tokens", captionMaxTokens != nil),
            ("--ask", !ask.isEmpty), ("--caption-endpoint", captionEndpoint != nil),
            ("--caption-endpoint-model", captionEndpointModel != nil),
            ("--caption-endpoint-key-env", captionEndpointKeyEnv != nil),
            ("--caption-endpoint-timeout", captionEndpointTimeout != nil),
            ("--caption-endpoint-attempts", captionEndpointAttempts != nil),
            ("--caption-endpoint-max-in-flight", captionEndpointMaxInFlight != nil),
        ]
        return options.filter(\.1).map(\.0)
    }

    /// VLMCaption's options: `base` (the defaults, or a pipeline file's `captions:`) with the given ones set.
    func options(over base: CaptionOptions = CaptionOptions()) -> CaptionOptions {
        var options = base
        if let captionVocabulary { options.vocabulary = captionVocabulary }
        if let captionCache { options.cacheDirectory = captionCache }
        if let captionBeam { options.beamWidth = captionBeam }
        if let captionWindow { options.rolling.window = captionWindow }
        if let captionDrift { options.rolling.drift = captionDrift }
        if let captionInterval { options.rolling.maxInterval = captionInterval }
        if let captionMinInterval { options.rolling.minInterval = captionMinInterval }
        if let captionModel { options.model = captionModel }
        if let captionBeams { options.modelBeams = captionBeams }
        if let captionMaxTokens { options.maxTokens = captionMaxTokens }
        if !ask.isEmpty { options.ask = ask }
        if let captionEndpoint {
            // Over a pipeline file's endpoint, only the URL changes (its model and settings stay).
            if options.endpoint == nil { options.endpoint = EndpointOptions(url: captionEndpoint, model: "") }
            options.endpoint?.url = captionEndpoint
        }
        if options.endpoint != nil {
            if let captionEndpointModel { options.endpoint?.model = captionEndpointModel }
            if let captionEndpointKeyEnv { options.endpoint?.keyVariable = captionEndpointKeyEnv }
            if let captionEndpointTimeout { options.endpoint?.timeout = captionEndpointTimeout }
            if let captionEndpointAttempts { options.endpoint?.attempts = captionEndpointAttempts }
            if let captionEndpointMaxInFlight { options.endpoint?.maxInFlight = captionEndpointMaxInFlight }
        }
        return options
    }

    /// Endpoint settings given without an endpoint (here or in the pipeline file) are refused, not ignored.
    func checkEndpointSettings(over base: CaptionOptions?) throws {
        let settings = given.filter { Self.endpointFlags.dropFirst().contains($0) }
        guard !settings.isEmpty, captionEndpoint == nil, base?.endpoint == nil else { return }
        throw OptionError(
            "\(settings.joined(separator: ", ")) set\(settings.count == 1 ? "s" : "") the caption endpoint; give "
                + "--caption-endpoint URL (or captions.endpoint in the pipeline file)")
    }

    /// Sets the given options on the spec's captions; they need captions on (`--captions`, `--srt`, `--vtt` or a
    /// `captions:` section).
    func apply(to spec: inout PipelineSpec) throws {
        let names = given
        guard !names.isEmpty else { return }
        try checkEndpointSettings(over: spec.captions)
        let implied = captionModel != nil || captionEndpoint != nil
        guard let captions = spec.captions ?? (implied ? CaptionOptions() : nil) else {
            throw OptionError(
                "\(names.joined(separator: ", ")) set\(names.count == 1 ? "s" : "") caption options, but captions are "
                    + "off; add --captions (or a `captions:` section in the pipeline file)")
        }
        spec.captions = options(over: captions)
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
