import Foundation
import ServiceLifecycle
import UnixSignals

/// The second SIGINT/SIGTERM: the `ServiceGroup` turns the first into a graceful shutdown and ignores the rest;
/// this service counts them and on the second writes `message` (if any) to standard error and exits with `status`
/// at once, without waiting for the drain. Put it first in the group, so it is shut down last.
public struct ShutdownEscalation: Service {
    /// The line written before exiting (without `error: `), or nil for none.
    public var message: String?
    /// The exit status.
    public var status: Int32

    /// Exits with `status` on the second signal.
    public init(message: String? = nil, status: Int32 = 130) {
        self.message = message
        self.status = status
    }

    public func run() async throws {
        var count = 0
        for await _ in await UnixSignalsSequence(trapping: .sigint, .sigterm).cancelOnGracefulShutdown() {
            count += 1
            guard count >= 2 else { continue }
            if let message { FileHandle.standardError.write(Data("error: \(message)\n".utf8)) }
            exit(status)
        }
    }
}
