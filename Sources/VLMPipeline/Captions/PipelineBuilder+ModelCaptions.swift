import CLIP
import Logging
import VLMCaption
import VLMCore
import VLMGraph

/// What a source needs for model captions: the caption model's preprocessing (for ``Frame/captionImage``) and
/// where to leave each sampled frame's caption image.
struct CaptionTap: Sendable {
    var preprocessing: ImagePreprocessing
    var remember: @Sendable (Frame) -> Void
}

/// The captioner that caption options name, for `run` and `index` alike: a GIT checkpoint or a remote endpoint.
enum ModelCaptioner {
    /// The GIT checkpoint loaded now (its linears at `precision`: `--precision int8` runs the caption model at int8
    /// too), or the endpoint's captioner with its API key read from the environment, with how many captions may run
    /// at once; nil when the options name neither (the CLIP-vocabulary captioner runs).
    static func make(
        _ options: CaptionOptions, precision: Precision, logger: Logger, gitLogger: Logger
    ) throws -> (captioner: any ImageCaptioner, maxInFlight: Int)? {
        guard options.model != nil || options.endpoint != nil else { return nil }
        try options.validate()
        if let endpoint = options.endpoint {
            let captioner = try EndpointCaptioner(
                options: endpoint, apiKey: try endpoint.apiKey(), maxTokens: options.maxTokens)
            logger.info(
                """
                caption endpoint: \(endpoint.redactedURL), model \(endpoint.model), timeout \(endpoint.timeout) s, \
                \(endpoint.attempts) attempt(s), \(endpoint.maxInFlight) in flight at most
                """)
            return (captioner, endpoint.maxInFlight)
        }
        guard let git = try GITImageCaptioner.load(options: options, precision: precision, logger: gitLogger) else {
            return nil
        }
        // A standing question the model cannot take is refused now, not once per trigger.
        for question in options.ask { try git.check(question: question) }
        logger.info("caption model ready: \(options.model ?? ""), \(git.framesPerCaption) frame(s) a caption")
        return (git, 1)
    }
}

extension CaptionOptions {
    /// Which captioner these options make, as an index records it beside a video's captions (`video.captioner`):
    /// `git <model>`, `endpoint <model> at <url without credentials>`, or `clip-vocabulary` (with the vocabulary
    /// file when one is given). A video captioned by another captioner is captioned again.
    public var captionerIdentity: String {
        if let model { return "git \(model)" }
        if let endpoint { return "endpoint \(endpoint.model) at \(endpoint.redactedURL)" }
        return vocabulary.map { "clip-vocabulary \($0)" } ?? "clip-vocabulary"
    }

    /// Whether a model or an endpoint writes the captions from pixels (else the CLIP vocabulary ranks sentences).
    public var usesImageCaptioner: Bool { model != nil || endpoint != nil }
}

extension PipelineBuilder {
    /// The background caption stage when the spec's captions name a model (`--caption-model`, `captions.model`)
    /// or a remote endpoint (`--caption-endpoint`, `captions.endpoint`) (see `ModelCaptioner.make`); coalesced
    /// triggers and failed captions counted in `metrics`. Nil without either (the CLIP-vocabulary captioner runs).
    func makeModelCaptions(metrics: PipelineMetrics) throws -> BackgroundCaptioner? {
        guard let options = spec.captions,
            let made = try ModelCaptioner.make(
                options, precision: spec.encoder.precision ?? .fp32, logger: logger, gitLogger: quiet("vlm.git"))
        else { return nil }
        return BackgroundCaptioner(
            captioner: made.captioner, settings: options.rolling, images: CaptionImageStore(), questions: options.ask,
            maxInFlight: made.maxInFlight, logger: quiet("vlm.caption"), onCoalesce: { metrics.captionCoalesced() },
            onFailure: { metrics.captionFailed() })
    }

    /// The source side of `stage`: make its images, leave them in its store.
    static func captionTap(_ stage: BackgroundCaptioner) -> CaptionTap {
        let store = stage.images
        return CaptionTap(preprocessing: stage.captioner.preprocessing, remember: { store.remember($0) })
    }
}
