import Foundation
import VLMCore

/// Scratch workspaces kept between calls so a forward pass allocates nothing once warm. Concurrent callers each
/// take their own workspace; the lock only guards the free list (a workspace is used by one caller at a time: it
/// is either in the list or held by the one `with` call that took it out).
final class ScratchPool<Scratch: AnyObject>: Sendable {
    private let free = Locked<[Scratch]>([])
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
            free.withLock { free in
                if let index = free.firstIndex(where: { capacity($0) >= count }) { return free.remove(at: index) }
                return nil
            } ?? make(count)
        defer {
            free.withLock { free in
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
