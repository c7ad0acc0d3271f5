import Foundation

/// Gathers queued items into encoder batches within a latency budget.
///
/// Live: a batch closes when it holds `maxBatch` units or `latencyBudget` seconds after its first item arrived,
/// whichever comes first, so a lone frame waits at most the budget. Files (`latencyBudget == nil`): batches are
/// always full, except the last one before the queue closes.
public struct Batcher<Element: Sendable>: Sendable {
    /// Most units (e.g. encoder images) per batch; a single item larger than this still forms a batch alone.
    public var maxBatch: Int
    /// Seconds a batch may wait for more items after its first; `nil` waits for a full batch.
    public var latencyBudget: Double?
    /// How many units an item counts for (a frame with tiles counts one per view).
    public var units: @Sendable (Element) -> Int

    /// A batcher of up to `maxBatch` units, closing batches after `latencyBudget` seconds when set.
    public init(maxBatch: Int, latencyBudget: Double?, units: @escaping @Sendable (Element) -> Int = { _ in 1 }) {
        self.maxBatch = max(1, maxBatch)
        self.latencyBudget = latencyBudget
        self.units = units
    }

    /// The next batch from `queue`: waits for a first item, then collects more under the rules above. Returns an
    /// empty array once the queue is closed and drained.
    public func nextBatch(from queue: BoundedQueue<Element>) -> [Element] {
        guard let first = queue.pop() else { return [] }
        var batch = [first]
        var size = units(first)
        let deadline = latencyBudget.map { Date().addingTimeInterval($0) } ?? .distantFuture
        while size < maxBatch {
            guard let next = queue.pop(until: deadline) else { break }
            batch.append(next)
            size += units(next)
        }
        return batch
    }
}
