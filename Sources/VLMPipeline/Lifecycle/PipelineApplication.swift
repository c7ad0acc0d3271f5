import Foundation
import Logging
import Prometheus
import ServiceLifecycle
import VLMCore
import VLMGraph
import VLMPublish
import VLMServe

/// `run`'s whole system, composed from a spec and run as services in one `ServiceGroup`:
///
/// ```
///   ShutdownEscalation   second SIGINT/SIGTERM → exit at once
///   LiveServer           HTTP: Prometheus /metrics (`metricsPort`), with `--http` also the Live page and its API
///   MQTTService          publisher, query control (with `outputs.mqtt`)
///   GraphService         the stage graph
/// ```
///
/// The group starts them in that order and shuts them down in reverse, each after the one before it returned: on
/// SIGINT/SIGTERM (or the end of every input) the sources stop and the graph drains, then the MQTT outbox is flushed
/// and the broker connection closed, then the HTTP server ends its event streams and stops (so the last scrape sees
/// the final counters).
public final class PipelineApplication: Sendable {
    /// The built graph and the parts around it.
    public let built: BuiltPipeline
    /// The graph's service (its summary, whether a signal stopped it).
    public let graph: GraphService
    /// The HTTP server (live view and metrics), when served.
    public let http: LiveServer?
    /// What the live view shows, when served.
    public let feed: LiveFeed?
    /// Where the HTTP server listens (`host`, and the port asked for: 0 until `onListening` says which).
    public let httpOptions: ServeOptions?
    /// True when the server shows the live view (`--http`), false for metrics alone (`metricsPort`).
    public let servesLiveView: Bool
    /// The MQTT publisher's service, when publishing.
    public let mqtt: MQTTService?
    private let services: [ServiceGroupConfiguration.ServiceConfiguration]
    private let logger: Logger

    /// Builds everything `spec` names: the graph (results for standard output through `stdout`), the MQTT publisher
    /// (with `mqtt` settings), the HTTP server: with `http` the live view and `/metrics`, else with
    /// `spec.metricsPort` `/metrics` alone (the same server, on `spec.metricsHost`). `onProgress(stream, pts)` sees
    /// each finished frame; `onListening(port)` is called once the HTTP server listens.
    public init(
        spec: PipelineSpec, mqtt settings: MQTTSettings?, http: ServeOptions? = nil, drainTimeout: Double,
        stdout: LineWriter = .stdout, logger: Logger,
        onProgress: @escaping @Sendable (String, Double) -> Void = { _, _ in },
        onListening: @escaping @Sendable (Int) async -> Void = { _ in }
    ) throws {
        let registry = PrometheusCollectorRegistry()
        var builder = PipelineBuilder(
            spec: spec, logger: logger, metricsFactory: PrometheusMetricsFactory(registry: registry))
        let httpOptions =
            http
            ?? spec.metricsPort.map { port in
                var options = ServeOptions()
                options.host = spec.metricsHost
                options.port = port
                return options
            }
        // One cache of recent frames serves MQTT event thumbnails and the live page's latest frame.
        var thumbnails: FrameThumbnailCache?
        if settings?.thumbnails == true || http != nil {
            let cache = FrameThumbnailCache(capacity: settings?.thumbnails == true ? 64 : 2)
            builder.frameTap = { cache.remember($0) }
            thumbnails = cache
        }
        var mqtt: MQTTService?
        if let settings {
            let service = try MQTTService(
                settings: settings, streams: spec.sources.map(\.streamName), logger: logger,
                thumbnails: settings.thumbnails ? thumbnails : nil)
            builder.extraSinks.append(service.sink)
            mqtt = service
        }
        let feed = http.map { _ in LiveFeed(streams: spec.sources.map(\.streamName)) }
        if let feed {
            builder.extraSinks.append(feed)
            builder.keepsMatcher = true  // queries may be added from the page
        }
        let built = try builder.build(stdout: stdout, onProgress: onProgress)
        // MQTT control messages change the live query set of every stream.
        try mqtt?.attach(built)
        var server: LiveServer?
        if let httpOptions {
            var sources: LiveSources?
            if let feed {
                built.matcher?.observeScores { feed.record(scores: $0) }
                let publisher = mqtt?.publisher
                let frames = thumbnails
                sources = LiveSources(
                    feed: feed, queries: built.controller ?? built.matcher,
                    thumbnail: { stream, maxBytes in frames?.latest(stream: stream, maxBytes: maxBytes)?.jpeg },
                    onQueriesChanged: { publisher?.announce(queries: $0) })
            }
            var quiet = logger
            quiet.logLevel = max(logger.logLevel, .warning)
            server = LiveServer(
                live: sources, metrics: { registry.emitToBuffer() }, options: httpOptions, logger: quiet,
                onListening: onListening)
        }
        let graph = GraphService(graph: built.graph, drainTimeout: drainTimeout)

        typealias Configuration = ServiceGroupConfiguration.ServiceConfiguration
        var services: [Configuration] = [
            Configuration(
                service: ShutdownEscalation(message: "interrupted again; exiting without draining"),
                serviceName: "signals")
        ]
        if let server {
            services.append(
                Configuration(
                    service: server, failureTerminationBehavior: .gracefullyShutdownGroup, serviceName: "http"))
        }
        if let mqtt {
            services.append(
                Configuration(service: mqtt, failureTerminationBehavior: .gracefullyShutdownGroup, serviceName: "mqtt"))
        }
        // The graph starts once the HTTP server listens (a taken port fails the run before any input is read).
        let graphService: any Service = server.map { AfterListening(graph, after: $0) } ?? graph
        services.append(
            Configuration(
                service: graphService, successTerminationBehavior: .gracefullyShutdownGroup,
                failureTerminationBehavior: .gracefullyShutdownGroup, serviceName: "graph"))
        self.built = built
        self.graph = graph
        self.http = server
        self.feed = feed
        self.httpOptions = httpOptions
        self.servesLiveView = feed != nil
        self.mqtt = mqtt
        self.services = services
        self.logger = logger
    }

    /// Runs every service until the graph drained and the rest shut down; returns the graph's summary. Throws
    /// `PipelineError.drainTimeout` when a drain after a signal outlasted its deadline, `LiveServerError` when
    /// the HTTP server could not listen.
    public func run() async throws -> RunSummary {
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: services, gracefulShutdownSignals: [.sigint, .sigterm], logger: logger))
        try await group.run()
        return graph.summary
    }
}
