import Foundation

/// Scratch workspaces kept between calls so a forward pass allocates nothing once warm. Concurrent callers each
/// take their own workspace; the lock only guards the free list.
final class ScratchPool<Scratch: AnyObject>: @unchecked Sendable {
    private let lock = NSLock()
    private var free: [Scratch] = []
    private let capacity: @Sendable (Scratch) -> Int
    private let make: @Sendable (Int) -> Scratch

    /// `capacity` reports how many items (images, sequences…) a workspace fits; `make` builds one for at least n.
    init(capacity: @escaping @Sendable (Scratch) -> Int, make: @escaping @Sendable (Int) -> Scratch) {
        self.capacity = capacity
        self.make = make
    }

    /// Runs `body` with a workspace for at least `count` items, returning it to the pool afterwards.
    func with<R>(count: Int, _ body: (Scratch) throws -> R) rethrows -> R {
        let scratch: Scratch =
            lock.withLock {
                if let index = free.firstIndex(where: { capacity($0) >= count }) { return free.remove(at: index) }
                return nil
            } ?? make(count)
        defer {
            lock.withLock {
                free.append(scratch)
                // Keep the largest few; a burst of odd batch sizes must not pin memory forever.
                if free.count > 4 {
                    free.sort { capacity($0) > capacity($1) }
                    free.removeLast(free.count - 4)
                }
            }
        }
        return try body(scratch)
    }
}
