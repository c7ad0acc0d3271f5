import Logging
import ServiceLifecycle
import VLMCore
import VLMGraph
import VLMPublish

/// The MQTT publisher as a service, and its place in the graph:
///
/// - `sink` is what the graph delivers results to; the graph's own `finish()` does not close the broker
///   connection, so the drain order is the service group's: graph drained → outbox flushed → broker closed.
/// - `attach(_:)` puts every stream's queries under MQTT control, and with a caption model answers one-off
///   questions on `<prefix>/<stream>/ask` (`MQTTAskService`).
/// - `run()` waits for the graceful shutdown, then flushes every stream's outbox (up to the settings' flush
///   deadline), publishes `offline` and disconnects.
public struct MQTTService: Service {
    /// The publisher.
    public let publisher: MQTTPublisher
    /// The graph's sink (results go to `publisher`; `finish()` is left to this service).
    public let sink: any ResultSink
    /// One-off questions, once `attach(_:)` found a caption model.
    private let ask = Locked<MQTTAskService?>(nil)

    /// Connects (waiting up to 2 s, then warning once and buffering) for `streams`.
    public init(
        settings: MQTTSettings, streams: [String], logger: Logger, thumbnails: (any ThumbnailProviding)? = nil
    ) throws {
        publisher = try MQTTPublisher(settings: settings, streams: streams, logger: logger, thumbnails: thumbnails)
        sink = Forwarding(publisher)
    }

    /// Puts every stream's queries under `<prefix>/<stream>/queries/set|add|remove`, and, when the pipeline has a
    /// caption model, answers `<prefix>/<stream>/ask` and puts its standing questions under
    /// `<prefix>/<stream>/questions/set|add|remove`.
    public func attach(_ built: BuiltPipeline) throws {
        if let answerer = built.answerer {
            let service = try MQTTAskService(
                settings: publisher.settings, streams: built.sources.map(\.stream), session: publisher.session,
                answerer: answerer, logger: publisher.logger)
            ask.withLock { $0 = service }
        }
        if let questions = built.questions {
            for source in built.sources { try publisher.attach(stream: source.stream, questions: questions) }
        }
        let control: (any QueryControlling)? = built.controller ?? built.matcher
        guard let controller = control else { return }
        for source in built.sources { try publisher.attach(stream: source.stream, controller: controller) }
    }

    public func run() async throws {
        try? await gracefulShutdown()
        ask.current?.stop()
        let publisher = publisher
        await blocking { publisher.finish() }
    }

    /// Hands results on and leaves `finish()` to the service.
    private final class Forwarding: ResultSink {
        let publisher: MQTTPublisher
        init(_ publisher: MQTTPublisher) { self.publisher = publisher }
        func consume(_ result: StreamResult) { publisher.consume(result) }
        func finish() {}
    }
}
