import Foundation
import Logging
import Prometheus
import ServiceLifecycle
import VLMCore
import VLMGraph
import VLMPublish

/// `run`'s whole system, composed from a spec and run as services in one `ServiceGroup`:
///
/// ```
///   ShutdownEscalation   second SIGINT/SIGTERM → exit at once
///   MetricsService       Prometheus endpoint (with `metricsPort`)
///   MQTTService          publisher, query control (with `outputs.mqtt`)
///   GraphService         the stage graph
/// ```
///
/// The group starts them in that order and shuts them down in reverse, each after the one before it returned: on
/// SIGINT/SIGTERM (or the end of every input) the sources stop and the graph drains, then the MQTT outbox is flushed
/// and the broker connection closed, then the metrics server stops.
public final class PipelineApplication: Sendable {
    /// The built graph and the parts around it.
    public let built: BuiltPipeline
    /// The graph's service (its summary, whether a signal stopped it).
    public let graph: GraphService
    /// The metrics endpoint, when served.
    public let metrics: MetricsService?
    /// The MQTT publisher's service, when publishing.
    public let mqtt: MQTTService?
    private let services: [ServiceGroupConfiguration.ServiceConfiguration]
    private let logger: Logger
    private let metricsHost: String

    /// Builds everything `spec` names: the graph (results for standard output through `stdout`), the MQTT publisher
    /// (with `mqtt` settings), the metrics endpoint. `onProgress(stream, pts)` sees each finished frame.
    public init(
        spec: PipelineSpec, mqtt settings: MQTTSettings?, drainTimeout: Double, stdout: LineWriter = .stdout,
        logger: Logger, onProgress: @escaping @Sendable (String, Double) -> Void = { _, _ in }
    ) throws {
        let registry = PrometheusCollectorRegistry()
        var builder = PipelineBuilder(
            spec: spec, logger: logger, metricsFactory: PrometheusMetricsFactory(registry: registry))
        var mqtt: MQTTService?
        if let settings {
            var thumbnails: FrameThumbnailCache?
            if settings.thumbnails {
                let cache = FrameThumbnailCache()
                builder.frameTap = { cache.remember($0) }
                thumbnails = cache
            }
            let service = try MQTTService(
                settings: settings, streams: spec.sources.map(\.streamName), logger: logger, thumbnails: thumbnails)
            builder.extraSinks.append(service.sink)
            mqtt = service
        }
        let built = try builder.build(stdout: stdout, onProgress: onProgress)
        // MQTT control messages change the live query set of every stream.
        try mqtt?.attach(built)
        let metrics = try spec.metricsPort.map {
            try MetricsService(registry: registry, host: spec.metricsHost, port: $0)
        }
        let graph = GraphService(graph: built.graph, drainTimeout: drainTimeout)

        typealias Configuration = ServiceGroupConfiguration.ServiceConfiguration
        var services: [Configuration] = [
            Configuration(
                service: ShutdownEscalation(message: "interrupted again; exiting without draining"),
                serviceName: "signals")
        ]
        if let metrics {
            services.append(
                Configuration(
                    service: metrics, failureTerminationBehavior: .gracefullyShutdownGroup, serviceName: "metrics"))
        }
        if let mqtt {
            services.append(
                Configuration(service: mqtt, failureTerminationBehavior: .gracefullyShutdownGroup, serviceName: "mqtt"))
        }
        services.append(
            Configuration(
                service: graph, successTerminationBehavior: .gracefullyShutdownGroup,
                failureTerminationBehavior: .gracefullyShutdownGroup, serviceName: "graph"))
        self.built = built
        self.graph = graph
        self.metrics = metrics
        self.mqtt = mqtt
        self.services = services
        self.logger = logger
        self.metricsHost = spec.metricsHost
    }

    /// The metrics endpoint's URL, when served.
    public var metricsURL: String? {
        metrics.map { "http://\(metricsHost):\($0.server.port)/metrics" }
    }

    /// Runs every service until the graph drained and the rest shut down; returns the graph's summary. Throws
    /// `PipelineError.drainTimeout` when a drain after a signal outlasted its deadline.
    public func run() async throws -> RunSummary {
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: services, gracefulShutdownSignals: [.sigint, .sigterm], logger: logger))
        try await group.run()
        return graph.summary
    }
}
