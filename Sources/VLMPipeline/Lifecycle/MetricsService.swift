import Foundation
import Prometheus
import ServiceLifecycle

/// The Prometheus endpoint as a service: serves until the graceful shutdown reaches it (after the graph drained and
/// MQTT flushed, so the last scrape sees the final counters), then closes its socket.
public struct MetricsService: Service {
    /// The server (already listening).
    public let server: MetricsServer

    /// Serves `registry` on `host:port` (0 picks a free port; see `server.port`).
    public init(registry: PrometheusCollectorRegistry, host: String, port: Int) throws {
        server = try MetricsServer(registry: registry, host: host, port: port)
    }

    public func run() async throws {
        try? await gracefulShutdown()
        let server = server
        await blocking { server.stop() }
    }
}
