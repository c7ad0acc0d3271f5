import Dispatch
import VLMCore

/// Runs blocking work (a graph's drain, an MQTT flush, a socket close) on a Dispatch thread, so it never holds one
/// of Swift concurrency's few cooperative threads.
func blocking<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        DispatchQueue.global().async { continuation.resume(returning: body()) }
    }
}

/// A continuation resumed by whichever of several events comes first (the graph drained, a deadline passed).
final class FirstOf<T: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<T, Never>?
        var value: T?
    }

    private let state = Locked(State())

    /// Waits for the first `resume`.
    func wait() async -> T {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { s -> T? in
                if let value = s.value { return value }
                s.continuation = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    /// Resumes the waiter with `value` unless another value came first.
    func resume(_ value: T) {
        let continuation = state.withLock { s -> CheckedContinuation<T, Never>? in
            guard s.value == nil else { return nil }
            s.value = value
            defer { s.continuation = nil }
            return s.continuation
        }
        continuation?.resume(returning: value)
    }
}
