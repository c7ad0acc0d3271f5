import Foundation
import VLMCore

/// A real `mosquitto` broker for tests, on a free loopback port, with its own config, persistence and log in a
/// temporary directory. Never the system broker: the Debian package may run one on 1883.
public final class Mosquitto: Sendable {

    /// Why the broker could not be started.
    public struct LaunchError: Error, CustomStringConvertible {
        /// What went wrong, with the broker's log tail.
        public var description: String
    }

    /// The loopback port the broker listens on.
    public let port: Int
    /// Config, persistence and log directory (removed on deinit).
    public let directory: URL
    private let process = Locked<ChildProcess?>(nil)

    /// `mqtt://127.0.0.1:<port>`.
    public var url: String { "mqtt://127.0.0.1:\(port)" }
    /// The broker's log file.
    public var logFile: URL { directory.appendingPathComponent("mosquitto.log") }

    /// Started as root, mosquitto drops to the `mosquitto` user, which cannot write our temporary directory;
    /// `user <self>` keeps it as whoever runs the tests (the option is ignored when not root).
    static var runAs: String { String(cString: getpwuid(geteuid()).pointee.pw_name) }

    /// The broker binary: on PATH, or where Debian installs it (/usr/sbin).
    public static var executable: URL? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let candidates =
            path.split(separator: ":").map(String.init) + ["/usr/sbin", "/usr/local/sbin", "/opt/homebrew/sbin"]
        return candidates.map { URL(fileURLWithPath: $0).appendingPathComponent("mosquitto") }
            .first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }

    /// Writes a config (persistence on, so sessions survive a graceful restart) and starts the broker.
    /// With `tls`, the listener speaks only TLS with that CA, certificate and key (PEM paths).
    public init(persistence: Bool = true, tls: (ca: String, cert: String, key: String)? = nil) throws {
        directory = try Fixtures.temporaryDirectory("mosquitto")
        port = try Mosquitto.freePort()
        let tlsLines = tls.map { "cafile \($0.ca)\ncertfile \($0.cert)\nkeyfile \($0.key)\n" } ?? ""
        let config = """
            listener \(port) 127.0.0.1
            \(tlsLines)
            allow_anonymous true
            user \(Mosquitto.runAs)
            persistence \(persistence)
            persistence_location \(directory.path)/
            autosave_interval 1
            max_queued_messages 0
            max_inflight_messages 0
            log_dest file \(logFile.path)
            log_type error
            log_type warning
            log_type notice
            log_type information
            connection_messages true

            """
        try config.write(to: directory.appendingPathComponent("mosquitto.conf"), atomically: true, encoding: .utf8)
        try start()
    }

    deinit {
        kill()
        try? FileManager.default.removeItem(at: directory)
    }

    // MARK: - Lifecycle

    /// Starts the broker and waits until it accepts connections.
    public func start() throws {
        guard let binary = Mosquitto.executable else {
            throw LaunchError(description: "mosquitto not found; run scripts/install-deps")
        }
        let process = try ChildProcess(
            binary.path, ["-c", directory.appendingPathComponent("mosquitto.conf").path],
            output: directory.appendingPathComponent("stdout.log"))
        self.process.withLock { $0 = process }
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if Mosquitto.accepts(port: port) { return }
            guard process.isRunning else { break }
            Thread.sleep(forTimeInterval: 0.02)
        }
        let log = (try? String(contentsOf: logFile, encoding: .utf8)) ?? ""
        throw LaunchError(description: "mosquitto did not start on port \(port): \(log.suffix(500))")
    }

    /// Graceful stop (SIGTERM: the broker saves its persistent sessions and closes connections).
    public func stop() {
        signal(SIGTERM)
    }

    /// Hard stop (SIGKILL).
    public func kill() {
        signal(SIGKILL)
    }

    /// `stop()` then `start()` on the same port, with sessions and retained messages kept.
    public func restart(downFor seconds: Double = 0) throws {
        stop()
        if seconds > 0 { Thread.sleep(forTimeInterval: seconds) }
        try start()
    }

    /// Whether the broker process is alive.
    public var isRunning: Bool { process.withLock { $0?.isRunning ?? false } }

    /// The broker's log so far (for failure messages).
    public func log() -> String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }

    private func signal(_ number: Int32) {
        let running = process.withLock { process -> ChildProcess? in
            defer { process = nil }
            return process
        }
        guard let running else { return }
        if number == SIGKILL {
            running.send(SIGKILL)
            running.wait(timeout: 10)
        } else {
            running.terminate(grace: 10)
        }
    }

    // MARK: - Ports

    /// A port the kernel just handed out on 127.0.0.1 (bound, then released for the broker).
    public static func freePort() throws -> Int {
        let (fd, port) = try LoopbackSocket.listen()
        close(fd)
        return port
    }

    /// True when something accepts TCP connections on 127.0.0.1:`port`.
    public static func accepts(port: Int) -> Bool {
        guard let fd = LoopbackSocket.connect(port: port) else { return false }
        close(fd)
        return true
    }
}
