import VLMCaption
import VLMCore
import VLMGraph

/// What a source needs for model captions: the caption model's preprocessing (for ``Frame/captionImage``) and
/// where to leave each sampled frame's caption image.
struct CaptionTap: Sendable {
    var preprocessing: ImagePreprocessing
    var remember: @Sendable (Frame) -> Void
}

extension PipelineBuilder {
    /// The background caption stage when the spec's captions name a model (`--caption-model`, `captions.model`)
    /// or a remote endpoint (`--caption-endpoint`, `captions.endpoint`): the GIT checkpoint loaded now, or the
    /// endpoint's captioner with its API key read from the environment; coalesced triggers and failed captions
    /// counted in `metrics`. Nil without either (the CLIP-vocabulary captioner runs then).
    func makeModelCaptions(metrics: PipelineMetrics) throws -> BackgroundCaptioner? {
        guard let options = spec.captions, options.model != nil || options.endpoint != nil else { return nil }
        try options.validate()
        let captioner: any ImageCaptioner
        var maxInFlight = 1
        if let endpoint = options.endpoint {
            captioner = try EndpointCaptioner(
                options: endpoint, apiKey: try endpoint.apiKey(), maxTokens: options.maxTokens)
            maxInFlight = endpoint.maxInFlight
            logger.info(
                """
                caption endpoint: \(endpoint.redactedURL), model \(endpoint.model), timeout \(endpoint.timeout) s, \
                \(endpoint.attempts) attempt(s), \(endpoint.maxInFlight) in flight at most
                """)
        } else {
            // `--precision int8` (encoder.precision) runs the caption model at int8 too.
            guard
                let git = try GITImageCaptioner.load(
                    options: options, precision: spec.encoder.precision ?? .fp32, logger: quiet("vlm.git"))
            else { return nil }
            captioner = git
            logger.info("caption model ready: \(options.model ?? ""), \(git.framesPerCaption) frame(s) a caption")
        }
        return BackgroundCaptioner(
            captioner: captioner, settings: options.rolling, images: CaptionImageStore(), questions: options.ask,
            maxInFlight: maxInFlight, logger: quiet("vlm.caption"), onCoalesce: { metrics.captionCoalesced() },
            onFailure: { metrics.captionFailed() })
    }

    /// The source side of `stage`: make its images, leave them in its store.
    static func captionTap(_ stage: BackgroundCaptioner) -> CaptionTap {
        let store = stage.images
        return CaptionTap(preprocessing: stage.captioner.preprocessing, remember: { store.remember($0) })
    }
}
