import Foundation
import VLMCore

/// A throw-away PostgreSQL cluster for tests: `initdb` into a temporary directory, `postgres` on a free loopback
/// port (trust authentication, fsync off), stopped and removed on deinit. Never the system cluster.
///
/// PostgreSQL refuses to run as root, so as root every server binary runs through `runuser -u nobody`, and the
/// directory is handed to that user.
public final class PostgresServer: Sendable {
    /// Why the cluster could not be started.
    public struct LaunchError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Debian's server binaries (`postgresql-15`), or a `pg_ctl` on PATH.
    public static var binDirectory: URL? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let debian =
            (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql"))?.sorted(by: >)
            .map { "/usr/lib/postgresql/\($0)/bin" } ?? []
        return (debian + path.split(separator: ":").map(String.init))
            .map { URL(fileURLWithPath: $0) }
            .first {
                FileManager.default.isExecutableFile(atPath: $0.appendingPathComponent("initdb").path)
                    && FileManager.default.isExecutableFile(atPath: $0.appendingPathComponent("postgres").path)
            }
    }

    /// True when `initdb` and `postgres` exist (tests are enabled on this).
    public static var isAvailable: Bool { binDirectory != nil }

    /// The loopback port the server listens on.
    public let port: Int
    /// The cluster's directory (removed on deinit).
    public let directory: URL
    private let bin: URL
    private let process = Locked<ChildProcess?>(nil)

    /// The superuser the tests connect as (trust authentication on loopback).
    public static let user = "vlm"

    /// The cluster's data directory.
    public var dataDirectory: URL { directory.appendingPathComponent("data") }
    /// The server log.
    public var logFile: URL { directory.appendingPathComponent("postgres.log") }

    /// `postgres://vlm@127.0.0.1:<port>/<database>?sslmode=disable`.
    public func url(database: String = "postgres") -> String {
        "postgres://\(Self.user)@127.0.0.1:\(port)/\(database)?sslmode=disable"
    }

    /// Creates and starts a cluster.
    public init() throws {
        guard let bin = Self.binDirectory else {
            throw LaunchError(description: "PostgreSQL server binaries not found; run scripts/install-deps")
        }
        self.bin = bin
        directory = try Fixtures.temporaryDirectory("postgres")
        port = try Mosquitto.freePort()
        try Self.handOver(directory)
        try run("initdb", ["-D", dataDirectory.path, "-U", Self.user, "--auth=trust", "-E", "UTF8", "--no-sync"])
        try start()
    }

    deinit {
        kill()
        try? FileManager.default.removeItem(at: directory)
    }

    // MARK: - Lifecycle

    /// Starts the server and waits until it accepts connections.
    public func start() throws {
        let args = [
            "-D", dataDirectory.path, "-p", String(port), "-k", directory.path, "-c", "listen_addresses=127.0.0.1",
            "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
            "-c", "max_connections=100",
        ]
        let process = try ChildProcess(
            "/bin/sh", ["-c", Self.command(bin.appendingPathComponent("postgres").path, args)], output: logFile)
        self.process.withLock { $0 = process }
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if (try? run("pg_isready", ["-h", "127.0.0.1", "-p", String(port), "-q"])) != nil { return }
            guard process.isRunning else { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        throw LaunchError(description: "postgres did not start on port \(port): \(log().suffix(800))")
    }

    /// Fast shutdown (`pg_ctl stop -m fast`): connections are closed, committed data stays.
    public func stop() {
        _ = try? run("pg_ctl", ["stop", "-D", dataDirectory.path, "-m", "fast", "-w", "-t", "30"])
        let running = process.withLock { p -> ChildProcess? in
            defer { p = nil }
            return p
        }
        running?.wait(timeout: 10)
    }

    /// Hard stop of the whole cluster.
    public func kill() {
        _ = try? run("pg_ctl", ["stop", "-D", dataDirectory.path, "-m", "immediate", "-w", "-t", "10"])
        let running = process.withLock { p -> ChildProcess? in
            defer { p = nil }
            return p
        }
        running?.terminate(grace: 5)
    }

    /// Creates a database and returns its URL.
    public func createDatabase(_ name: String) throws -> String {
        try run("createdb", ["-h", "127.0.0.1", "-p", String(port), "-U", Self.user, name])
        return url(database: name)
    }

    /// The server log so far.
    public func log() -> String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }

    // MARK: - Running tools as the unprivileged user

    private static var isRoot: Bool { geteuid() == 0 }

    /// A shell command running `tool` (as `nobody` when root).
    private static func command(_ tool: String, _ arguments: [String]) -> String {
        let quoted = ([tool] + arguments).map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }
        let line = quoted.joined(separator: " ")
        return isRoot ? "exec runuser -u nobody -- \(line)" : "exec \(line)"
    }

    /// Gives `directory` to `nobody` when root (the server's files must be its own).
    private static func handOver(_ directory: URL) throws {
        guard isRoot else { return }
        guard let user = getpwnam("nobody") else { throw LaunchError(description: "no user 'nobody' to run postgres") }
        guard chown(directory.path, user.pointee.pw_uid, user.pointee.pw_gid) == 0 else {
            throw LaunchError(description: "cannot chown \(directory.path) to nobody")
        }
    }

    /// Runs a server tool to completion; throws with its output when it fails.
    @discardableResult
    private func run(_ tool: String, _ arguments: [String]) throws -> String {
        let output = directory.appendingPathComponent("tool-\(UUID().uuidString.prefix(8)).log")
        let child = try ChildProcess(
            "/bin/sh", ["-c", Self.command(bin.appendingPathComponent(tool).path, arguments)], output: output)
        defer { try? FileManager.default.removeItem(at: output) }
        let status = child.wait(timeout: 120)
        let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
        guard status == 0 else {
            throw LaunchError(description: "\(tool) failed (status \(status.map(String.init) ?? "timeout")): \(text)")
        }
        return text
    }
}
