import Logging
import VLMGraph
import VLMPipeline
import VLMPublish

/// `outputs.mqtt` / `--mqtt` for `run`: the publisher as an extra sink, the thumbnail cache fed by the sources,
/// and the query matcher under MQTT control.
struct MQTTOutput {
    let publisher: MQTTPublisher

    /// Connects (waiting up to 2 s, then warning once and buffering) and adds the publisher to `builder`'s sinks.
    init(settings: MQTTSettings, spec: PipelineSpec, logger: Logger, builder: inout PipelineBuilder) throws {
        var thumbnails: FrameThumbnailCache?
        if settings.thumbnails {
            let cache = FrameThumbnailCache()
            builder.frameTap = { cache.remember($0) }
            thumbnails = cache
        }
        publisher = try MQTTPublisher(
            settings: settings, streams: spec.sources.map(\.streamName), logger: logger, thumbnails: thumbnails)
        builder.extraSinks.append(publisher)
    }

    /// Puts every stream's queries under `<prefix>/<stream>/queries/set|add|remove`.
    func attach(_ built: BuiltPipeline) throws {
        guard let matcher = built.matcher else { return }
        for source in built.sources { try publisher.attach(stream: source.stream, controller: matcher) }
    }
}
