import Foundation
import Hummingbird
import Logging
import NIOCore

/// The archive web server: `buildArchiveRouter` behind Hummingbird's HTTP/1.1 server.
public enum ArchiveServer {
    /// Runs until SIGINT/SIGTERM. `onListening` gets the bound port (useful with port 0).
    public static func run(
        archive: Archive, options: ServeOptions, logger: Logger,
        onListening: @escaping @Sendable (Int) async -> Void = { _ in }
    ) async throws {
        try await application(archive: archive, options: options, logger: logger, onListening: onListening)
            .runService()
    }

    /// The application, for callers that run it in their own service group or task (tests).
    public static func application(
        archive: Archive, options: ServeOptions, logger: Logger,
        onListening: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let router = buildArchiveRouter(archive: archive, options: options)
        let idle = options.idleTimeout.components
        return Application(
            router: router,
            server: .http1(configuration: .init(idleTimeout: .seconds(max(1, idle.seconds)))),
            configuration: .init(address: .hostname(options.host, port: options.port), serverName: "vlm-stream"),
            onServerRunning: { channel in await onListening(channel.localAddress?.port ?? options.port) },
            logger: logger)
    }
}
