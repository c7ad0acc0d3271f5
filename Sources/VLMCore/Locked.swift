import Foundation

/// A value guarded by a condition lock: shared by every module for state touched from more than one thread.
///
/// `Synchronization.Mutex` would do for the plain lock, but it needs macOS 15 and has no condition variable;
/// this works wherever Foundation does. The value is only reachable inside `withLock`, so the `@unchecked`
/// promise is kept by construction.
public final class Locked<Value>: @unchecked Sendable {
    private let condition = NSCondition()
    private var value: Value

    /// Wraps `value`.
    public init(_ value: Value) {
        self.value = value
    }

    /// Runs `body` with exclusive access to the value.
    @discardableResult
    public func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        condition.lock()
        defer { condition.unlock() }
        return try body(&value)
    }

    /// Waits (releasing the lock meanwhile) until `ready` holds or `deadline` passes, then runs `body` under the
    /// lock. `body` gets whether `ready` held. Call `signal()` after changes others may be waiting for.
    @discardableResult
    public func wait<R>(
        until deadline: Date = .distantFuture, for ready: (Value) -> Bool, then body: (inout Value, Bool) throws -> R
    ) rethrows -> R {
        condition.lock()
        defer { condition.unlock() }
        var isReady = ready(value)
        while !isReady {
            // Foundation on Linux traps converting `.distantFuture` to a timespec: wait without a deadline then.
            if deadline == .distantFuture {
                condition.wait()
            } else if !condition.wait(until: deadline) {
                isReady = ready(value)
                break
            }
            isReady = ready(value)
        }
        return try body(&value, isReady)
    }

    /// Wakes every waiter so it re-checks its condition.
    public func signal() {
        condition.lock()
        condition.broadcast()
        condition.unlock()
    }

    /// Runs `body` under the lock and wakes every waiter afterwards.
    @discardableResult
    public func update<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        condition.lock()
        defer {
            condition.broadcast()
            condition.unlock()
        }
        return try body(&value)
    }

    /// A copy of the current value.
    public var current: Value { withLock { $0 } }
}
