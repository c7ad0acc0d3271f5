import Foundation

/// A value guarded by a lock: the one place in this module where shared mutable state lives.
///
/// `NSLock` is not `Sendable`-annotated, so this box states the invariant by hand: `value` is only touched inside
/// `withLock`.
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) {
        self.value = value
    }

    /// Runs `body` with exclusive access to the value.
    func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
