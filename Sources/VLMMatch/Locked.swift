import Foundation

/// A value guarded by a lock: the one place in VLMMatch where shared mutable state lives.
///
/// `Mutex` from the Synchronization module would do, but it needs macOS 15 and the package supports macOS 13.
/// Every access goes through `withLock`, so the `@unchecked Sendable` is honest: `NSLock` serialises all reads
/// and writes of `value`.
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
