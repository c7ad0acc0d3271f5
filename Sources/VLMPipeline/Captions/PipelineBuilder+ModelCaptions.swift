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
    /// The background caption stage when the spec's captions name a model (`--caption-model`, `captions.model`):
    /// the GIT checkpoint loaded now, its coalesced triggers counted in `metrics`. Nil without a model (the
    /// CLIP-vocabulary captioner runs then).
    func makeModelCaptions(metrics: PipelineMetrics) throws -> BackgroundCaptioner? {
        guard let options = spec.captions, options.model != nil else { return nil }
        try options.validate()
        guard let captioner = try GITImageCaptioner.load(options: options, logger: quiet("vlm.git")) else {
            return nil
        }
        logger.info("caption model ready: \(options.model ?? ""), \(captioner.framesPerCaption) frame(s) a caption")
        return BackgroundCaptioner(
            captioner: captioner, settings: options.rolling, images: CaptionImageStore(), questions: options.ask,
            logger: quiet("vlm.caption"), onCoalesce: { metrics.captionCoalesced() })
    }

    /// The source side of `stage`: make its images, leave them in its store.
    static func captionTap(_ stage: BackgroundCaptioner) -> CaptionTap {
        let store = stage.images
        return CaptionTap(preprocessing: stage.captioner.preprocessing, remember: { store.remember($0) })
    }
}
