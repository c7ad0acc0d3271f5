import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO
import VLMCore

/// The index in a PostgreSQL database (postgres-nio), shared by every machine that names the same URL.
///
/// The store interface is synchronous (the index writer commits on the graph's results thread), so this store
/// holds one `PostgresConnection` and waits on its `EventLoopFuture`s: the work runs on NIO's event loop, never on a
/// Swift concurrency thread, so blocking callers cannot starve it. Transactions on one store take turns on that
/// connection; a connection that fails is dropped and the next transaction connects again. Values are always bound
/// parameters (`PostgresQuery` interpolation); the only literal SQL is the constant schema.
final class PostgresStore: IndexStore {
    let url: PostgresURL
    private let connection = Locked<PostgresConnection?>(nil)
    private let logger: Logger
    /// A second connection that only LISTENs (so a long transaction never delays a wake-up).
    private let listener = Locked<PostgresConnection?>(nil)

    /// Connects to `url`, creating or migrating the schema (under an advisory lock, so workers that start together
    /// migrate once).
    init(url: PostgresURL) throws {
        self.url = url
        var logger = Logger(label: "vlm.index.postgres")
        logger.logLevel = .critical
        self.logger = logger
        try connection.withLock { c in
            let conn = try connect()
            c = conn
            try PostgresSchema.migrate(conn, logger: logger, location: url.display)
        }
    }

    deinit { close() }

    /// Calls `onNotify` for every NOTIFY on `channel` (a constant name), on a dedicated connection. Best effort:
    /// when that connection drops, callers fall back to polling.
    func listen(channel: String, _ onNotify: @escaping @Sendable () -> Void) throws {
        let conn = try connect()
        conn.addListener(channel: channel) { _, _ in onNotify() }
        do {
            _ = try PostgresWait.value(conn.query(PostgresQuery(unsafeSQL: "LISTEN \(channel)"), logger: logger))
        } catch {
            _ = try? PostgresWait.value(conn.close(), seconds: 5)
            throw Self.translate(error, location: url.display)
        }
        let old = listener.withLock { l -> PostgresConnection? in
            defer { l = conn }
            return l
        }
        _ = old.map { try? PostgresWait.value($0.close(), seconds: 5) }
    }

    func close() {
        let listening = listener.withLock { l -> PostgresConnection? in
            defer { l = nil }
            return l
        }
        _ = listening.map { try? PostgresWait.value($0.close(), seconds: 5) }
        let conn = connection.withLock { c -> PostgresConnection? in
            defer { c = nil }
            return c
        }
        _ = conn.map { try? PostgresWait.value($0.close(), seconds: 5) }
    }

    private func connect() throws -> PostgresConnection {
        var configuration = PostgresConnection.Configuration(
            host: url.host, port: url.port, username: url.user, password: url.password, database: url.database,
            tls: try tls())
        configuration.options.connectTimeout = .seconds(5)
        do {
            return try PostgresWait.value(
                PostgresConnection.connect(
                    on: MultiThreadedEventLoopGroup.singleton.any(), configuration: configuration, id: 1, logger: logger
                ))
        } catch {
            // A server that answered and refused (a wrong password, no such database, no TLS where it is required)
            // will refuse again: that is a wrong URL, not an outage to wait out.
            if let psql = error as? PSQLError,
                psql.code == .sslUnsupported
                    || psql.serverInfo?[.sqlState].map({ $0.hasPrefix("28") || $0 == "3D000" }) == true
            {
                throw IndexError.refused(path: url.display, reason: Self.reason(error))
            }
            throw IndexError.unreachable(path: url.display, reason: Self.reason(error))
        }
    }

    private func tls() throws -> PostgresConnection.Configuration.TLS {
        switch url.sslMode {
        case .disable: return .disable
        case .prefer: return .prefer(try NIOSSLContext(configuration: .makeClientConfiguration()))
        case .require: return .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
        }
    }

    // MARK: - IndexStore

    func write<T>(_ body: (any IndexTransaction) throws -> T) throws -> T {
        try transaction("BEGIN", body)
    }

    func read<T>(_ body: (any IndexTransaction) throws -> T) throws -> T {
        try transaction("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", body)
    }

    func checkpoint() throws -> Int64 {
        try read { tx in try (tx as? PostgresTransaction)?.databaseBytes() ?? 0 }
    }

    /// Runs `body` in one write transaction with PostgreSQL's own statements (the job queue).
    @discardableResult
    func postgres<T>(_ body: (PostgresTransaction) throws -> T) throws -> T {
        try transaction("BEGIN") { tx in
            guard let pg = tx as? PostgresTransaction else {
                throw IndexError.database(path: url.display, reason: "not a PostgreSQL transaction")
            }
            return try body(pg)
        }
    }

    private func transaction<T>(_ begin: String, _ body: (any IndexTransaction) throws -> T) throws -> T {
        try connection.withLock { c in
            let conn: PostgresConnection
            if let open = c, !open.isClosed {
                conn = open
            } else {
                conn = try connect()
                c = conn
            }
            let tx = PostgresTransaction(connection: conn, logger: logger, location: url.display)
            do {
                try tx.run(PostgresQuery(unsafeSQL: begin))
                let value = try body(tx)
                try tx.run("COMMIT")
                return value
            } catch {
                if conn.isClosed {
                    c = nil
                } else if error is PostgresWait.NoAnswer || (try? tx.run("ROLLBACK")) == nil {
                    // A connection that stopped answering is dropped without waiting on it again. The close keeps
                    // it alive until its channel is inactive: postgres-nio asserts that a connection is closed by
                    // the time it is deinitialized, and a debug build stopped on that while the database was down.
                    conn.close().whenComplete { _ in withExtendedLifetime(conn) {} }
                    c = nil
                }
                throw Self.translate(error, location: url.display)
            }
        }
    }

    // MARK: - Errors

    static func translate(_ error: any Error, location: String) -> any Error {
        if error is IndexError { return error }
        if let silent = error as? PostgresWait.NoAnswer {
            return IndexError.unreachable(path: location, reason: silent.description)
        }
        if let psql = error as? PSQLError {
            // No answer from the server, or the server ending the connection (class 08 connection exception, class
            // 57 operator intervention: shutdown, crash, starting up) is an outage, not a failed statement.
            let state = psql.serverInfo?[.sqlState] ?? ""
            if psql.serverInfo == nil || state.hasPrefix("08") || state.hasPrefix("57") {
                return IndexError.unreachable(path: location, reason: reason(error))
            }
        }
        return IndexError.database(path: location, reason: reason(error))
    }

    /// PSQLError's description hides details on purpose; this names the server's message or the connection failure.
    static func reason(_ error: any Error) -> String {
        guard let psql = error as? PSQLError else { return "\(error)" }
        if let info = psql.serverInfo, let message = info[.message] {
            return [info[.sqlState].map { "SQLSTATE \($0)" }, message].compactMap { $0 }.joined(separator: ": ")
        }
        if let underlying = psql.underlying { return "\(psql.code): \(underlying)" }
        return "\(psql.code)"
    }
}
