import DequeModule
import Foundation
import VLMCore

/// What a full queue does with the next element (GStreamer `queue` leaky modes, MediaPipe's flow policies).
public enum QueuePolicy: String, Sendable, Codable, CaseIterable {
    /// The producer waits until there is room: nothing is ever dropped (files).
    case block
    /// The oldest queued element is dropped to make room: the consumer sees the most recent `capacity` elements.
    case dropOldest = "drop-oldest"
    /// Everything queued is replaced by the newest element: the consumer always gets the freshest frame.
    case keepLatest = "keep-latest"
}

/// A counter snapshot of one queue.
public struct QueueStats: Sendable, Equatable {
    /// Elements accepted by `push` (including ones later dropped).
    public var pushed = 0
    /// Elements handed to a consumer.
    public var popped = 0
    /// Elements discarded by the policy.
    public var dropped = 0
    /// The most elements ever queued at once.
    public var maxDepth = 0
    /// Elements queued now.
    public var depth = 0
}

/// A bounded multi-producer multi-consumer FIFO joining two stages, with a declared policy for a full queue.
///
/// `close()` ends the stream: further pushes are refused, and consumers drain what is queued and then get `nil`.
public final class BoundedQueue<Element: Sendable>: Sendable {
    private struct State {
        var items = Deque<Element>()
        var closed = false
        var stats = QueueStats()
    }

    /// The queue's name in logs and metrics.
    public let name: String
    /// Most elements held at once (at least 1).
    public let capacity: Int
    /// What `push` does when the queue is full.
    public let policy: QueuePolicy
    private let state = Locked(State())
    private let onDrop: @Sendable (Element) -> Void
    private let onDepth: @Sendable (Int) -> Void

    /// A queue of `capacity` elements; `onDrop` sees each element the policy discards, `onDepth` each new depth.
    public init(
        name: String, capacity: Int, policy: QueuePolicy,
        onDrop: @escaping @Sendable (Element) -> Void = { _ in },
        onDepth: @escaping @Sendable (Int) -> Void = { _ in }
    ) {
        self.name = name
        self.capacity = max(1, capacity)
        self.policy = policy
        self.onDrop = onDrop
        self.onDepth = onDepth
    }

    // MARK: - Producing

    /// Enqueues `element` following the policy (waiting for room under `.block`). Returns false when the queue is
    /// closed; the element is then not kept.
    @discardableResult
    public func push(_ element: Element) -> Bool {
        let capacity = self.capacity
        let policy = self.policy
        var dropped: [Element] = []
        let depth: Int? = state.wait(
            for: { s in s.closed || policy != .block || s.items.count < capacity },
            then: { s, _ in
                guard !s.closed else { return nil }
                switch policy {
                case .block:
                    break
                case .dropOldest:
                    while s.items.count >= capacity, let old = s.items.popFirst() { dropped.append(old) }
                case .keepLatest:
                    dropped.append(contentsOf: s.items)
                    s.items.removeAll()
                }
                s.items.append(element)
                s.stats.pushed += 1
                s.stats.dropped += dropped.count
                s.stats.depth = s.items.count
                s.stats.maxDepth = max(s.stats.maxDepth, s.items.count)
                return s.items.count
            })
        guard let depth else { return false }
        state.signal()
        for element in dropped { onDrop(element) }
        onDepth(depth)
        return true
    }

    /// Refuses further pushes; consumers drain what is left and then receive `nil`. Idempotent.
    public func close() {
        state.update { $0.closed = true }
    }

    // MARK: - Consuming

    /// The next element, waiting for one; `nil` once the queue is closed and empty.
    public func pop() -> Element? {
        pop(until: .distantFuture)
    }

    /// The next element if one arrives before `deadline`; `nil` on timeout, or when closed and empty.
    public func pop(until deadline: Date) -> Element? {
        let result: (Element, Int)? = state.wait(
            until: deadline,
            for: { s in s.closed || !s.items.isEmpty },
            then: { s, _ in
                guard let first = s.items.popFirst() else { return nil }
                s.stats.popped += 1
                s.stats.depth = s.items.count
                return (first, s.items.count)
            })
        guard let (element, depth) = result else { return nil }
        state.signal()
        onDepth(depth)
        return element
    }

    /// The next element if one is queued now, without waiting.
    public func tryPop() -> Element? {
        pop(until: .distantPast)
    }

    // MARK: - Introspection

    /// Counters so far.
    public var stats: QueueStats { state.withLock { $0.stats } }
    /// True once `close()` was called.
    public var isClosed: Bool { state.withLock { $0.closed } }
}
