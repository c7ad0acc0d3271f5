import Foundation
import VLMCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A child process started with `posix_spawn`, with an empty signal mask and default signal handlers.
///
/// Foundation's `Process` passes on the test runner's blocked signals (SIGTERM, SIGINT, SIGHUP are blocked in its
/// threads), so a broker or `vlm-stream` started that way never sees SIGTERM. This one can be stopped gracefully.
public final class ChildProcess: Sendable {
    public let pid: pid_t
    /// The raw wait status once reaped.
    private let status = Locked<Int32?>(nil)

    /// Starts `executable` with `arguments` and our environment with `environment` added; stdout and stderr go to
    /// `output` (or /dev/null). `descriptors` maps a descriptor number in the child to one of ours (e.g. Chromium's
    /// `--remote-debugging-pipe` reads 3, writes 4).
    public init(
        _ executable: String, _ arguments: [String], environment: [String: String] = [:], output: URL? = nil,
        descriptors: [Int32: Int32] = [:]
    ) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        let path = output?.path ?? "/dev/null"
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        for (child, ours) in descriptors.sorted(by: { $0.key < $1.key }) {
            posix_spawn_file_actions_adddup2(&actions, ours, child)
        }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let variables = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let envp = variables.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { envp.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard rc == 0 else {
            throw Mosquitto.LaunchError(description: "cannot start \(executable): \(String(cString: strerror(rc)))")
        }
        self.pid = pid
    }

    /// True until the process has exited (reaps it when it has).
    public var isRunning: Bool {
        status.withLock { status in
            if status != nil { return false }
            var raw: Int32 = 0
            if waitpid(pid, &raw, WNOHANG) == pid {
                status = raw
                return false
            }
            return true
        }
    }

    /// Sends `signal`.
    public func send(_ signal: Int32) {
        if isRunning { kill(pid, signal) }
    }

    /// Waits up to `timeout` seconds for the exit; returns the raw wait status, or nil if it is still running.
    @discardableResult
    public func wait(timeout: Double) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        return status.current
    }

    /// SIGTERM, then SIGKILL if it has not exited after `grace` seconds.
    public func terminate(grace: Double = 5) {
        send(SIGTERM)
        if wait(timeout: grace) == nil {
            send(SIGKILL)
            wait(timeout: 5)
        }
    }

    deinit {
        if isRunning {
            kill(pid, SIGKILL)
            var raw: Int32 = 0
            waitpid(pid, &raw, 0)
        }
    }
}
