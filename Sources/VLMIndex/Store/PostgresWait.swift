import Dispatch
import Foundation
import NIOCore
import VLMCore

/// A bounded wait for one PostgreSQL round trip.
///
/// When the server goes away between two statements of a transaction (a fast shutdown right after `BEGIN` was
/// answered), postgres-nio can leave the next query's future pending forever on a connection whose socket is
/// already closed: `EventLoopFuture.wait()` then blocks the indexing thread for good, and a worker never notices
/// the outage. Every statement is one round trip of bounded size (chunks are read in keyset pages), so no answer
/// while the connection is closed, or within `PostgresWait.answerTimeout` at all, means the connection is lost: it is closed and the caller sees
/// `IndexError.unreachable`, which the worker's backoff and the job queue's lease already handle.
enum PostgresWait {
    /// Seconds one statement may go unanswered before its connection counts as lost.
    static let answerTimeout: Double = 30

    /// Thrown when no answer came (translated to `IndexError.unreachable`).
    struct NoAnswer: Error, CustomStringConvertible {
        var seconds: Double
        var description: String { "the connection was lost without an answer (or none came in \(Int(seconds)) s)" }
    }

    /// The future's value, waiting at most `seconds`; sooner lost when `closed` turns true (the connection's socket
    /// is gone) and the answer still has not come a moment later.
    static func value<T: Sendable>(
        _ future: EventLoopFuture<T>, seconds: Double = answerTimeout, closed: () -> Bool = { false }
    ) throws -> T {
        let done = DispatchSemaphore(value: 0)
        let result = Locked<Result<T, any Error>?>(nil)
        future.whenComplete { outcome in
            result.withLock { $0 = outcome }
            done.signal()
        }
        let deadline = Date().addingTimeInterval(seconds)
        var closedSeen = false
        while true {
            if done.wait(timeout: .now() + 0.25) == .success, let outcome = result.current { return try outcome.get() }
            if Date() >= deadline { throw NoAnswer(seconds: seconds) }
            // Closed on one look and still unanswered a quarter second later: the answer will never come.
            if closedSeen { throw NoAnswer(seconds: seconds) }
            closedSeen = closed()
        }
    }
}
