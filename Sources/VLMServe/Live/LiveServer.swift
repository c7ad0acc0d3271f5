import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import VLMCore

/// What the live view of a running pipeline reads and changes: the `LiveFeed` of its results, the query set and
/// the latest frame of each stream. Built by the pipeline (`VLMPipeline`), which owns
/// the parts; this module only serves them.
public struct LiveSources: Sendable {
    /// Results and scores of the run.
    public var feed: LiveFeed
    /// The live query set (the same one MQTT control messages change), or nil when the run has no matcher.
    public var queries: (any QueryControlling)?
    /// The latest sampled frame of `stream` as JPEG (at most the given bytes), or nil before the first frame.
    public var thumbnail: @Sendable (_ stream: String, _ maxBytes: Int) -> [UInt8]?
    /// Told after a query change made through the page (e.g. to announce the new set on MQTT).
    public var onQueriesChanged: @Sendable ([String]) -> Void

    /// The parts of a live view.
    public init(
        feed: LiveFeed, queries: (any QueryControlling)?,
        thumbnail: @escaping @Sendable (String, Int) -> [UInt8]? = { _, _ in nil },
        onQueriesChanged: @escaping @Sendable ([String]) -> Void = { _ in }
    ) {
        self.feed = feed
        self.queries = queries
        self.thumbnail = thumbnail
        self.onQueriesChanged = onQueriesChanged
    }
}

/// A running pipeline's HTTP server: `buildLiveRouter` (Prometheus `/metrics`, and with `LiveSources` the Live page,
/// its Server-Sent Events and query control) behind Hummingbird's HTTP/1.1 server, as a service of the pipeline's
/// service group.
///
/// On the group's graceful shutdown (after the graph drained) it ends every open event stream, so the server can
/// stop: an open `text/event-stream` response would otherwise hold its connection, and the shutdown, forever.
public struct LiveServer: Service {
    let app: Application<RouterResponder<BasicRequestContext>>
    let feed: LiveFeed?
    let address: String
    /// nil while starting, true once listening, false once it failed or stopped.
    let listening = Locked<Bool?>(nil)

    /// A server on `options.host:options.port` (0 picks a free port, passed to `onListening`) for `metrics`
    /// (Prometheus' text exposition format 0.0.4) and, when given, the live view of `live`.
    public init(
        live: LiveSources?, metrics: @escaping @Sendable () -> [UInt8], options: ServeOptions, logger: Logger,
        onListening: @escaping @Sendable (Int) async -> Void = { _ in }
    ) {
        let router = buildLiveRouter(live: live, metrics: metrics, options: options)
        let idle = options.idleTimeout.components
        feed = live?.feed
        address = "\(options.host):\(options.port)"
        let listening = listening
        app = Application(
            router: router,
            server: .http1(configuration: .init(idleTimeout: .seconds(max(1, idle.seconds)))),
            configuration: .init(address: .hostname(options.host, port: options.port), serverName: "vlm-stream"),
            onServerRunning: { channel in
                listening.withLock { $0 = true }
                await onListening(channel.localAddress?.port ?? options.port)
            },
            logger: logger)
    }

    /// How long open requests get to end once a graceful shutdown begins. An event stream whose client stopped
    /// reading waits in a write that never completes; past this the server is cancelled, closing every connection,
    /// so a run always exits.
    public static let shutdownGrace: Duration = .seconds(5)

    public func run() async throws {
        let feed = feed
        let app = app
        do {
            try await withGracefulShutdownHandler {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await app.run() }
                    group.addTask {
                        try await gracefulShutdown()
                        try await Task.sleep(for: Self.shutdownGrace)
                    }
                    // The server's end, or the grace period's: either way the other is cancelled.
                    _ = try await group.next()
                    group.cancelAll()
                }
            } onGracefulShutdown: {
                feed?.close()
            }
        } catch is CancellationError where listening.current == true {
            // The grace period ran out: the server was cancelled with requests still open.
        } catch {
            // Before it listened, the failure is the address (in use, not an address of this machine).
            let listened = listening.withLock { state -> Bool in
                defer { state = false }
                return state == true
            }
            guard listened else { throw LiveServerError(address: address, error: error) }
            throw error
        }
        listening.withLock { $0 = false }
        feed?.close()
    }

    /// Returns true once the server listens, false if it failed first (or a graceful shutdown began).
    public func waitUntilListening() async -> Bool {
        while true {
            switch listening.current {
            case true?: return true
            case false?: return false
            case nil:
                if Task.isShuttingDownGracefully || Task.isCancelled { return false }
                try? await Task.sleep(for: .milliseconds(10))
            }
        }
    }
}

/// Runs `service` once `server` listens, not at all when it cannot: a run whose `--http` address is taken fails
/// at once with the address's error instead of processing its input first.
public struct AfterListening<Wrapped: Service>: Service {
    let server: LiveServer
    let service: Wrapped

    /// `service`, started once `server` listens.
    public init(_ service: Wrapped, after server: LiveServer) {
        self.server = server
        self.service = service
    }

    public func run() async throws {
        guard await server.waitUntilListening() else { return }
        try await service.run()
    }
}

/// An HTTP server (the live view, `serve`) could not listen on `address`.
public struct LiveServerError: Error, CustomStringConvertible, UserFacingError {
    /// `host:port` as given.
    public var address: String
    /// Why, and what to do, for the user.
    public var reason: String

    /// The error for `error`, SwiftNIO's failure to bind: the usual errnos get their own advice.
    public init(address: String, error: any Error) {
        self.address = address
        guard let io = error as? IOError else {
            reason = "\(error); choose another address or port"
            return
        }
        switch io.errnoCode {
        case EADDRINUSE: reason = "the port is in use; stop the other server or choose another port"
        case EADDRNOTAVAIL: reason = "no interface of this machine has that address; use 127.0.0.1 or one of its own"
        case EACCES: reason = "a port below 1024 needs more privileges; choose a port above 1023"
        default: reason = "\(String(cString: strerror(io.errnoCode))); choose another address or port"
        }
    }

    public var description: String { "cannot serve HTTP on \(address): \(reason)" }
}
