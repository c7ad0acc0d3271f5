/// Selection of the `k` largest scores with a bounded min-heap: O(n log k), one pass, no full sort.
public enum TopK {
    /// One selected entry.
    public struct Entry: Sendable, Equatable {
        public var index: Int
        public var score: Float

        /// An entry: row `index` scored `score`.
        public init(index: Int, score: Float) {
            self.index = index
            self.score = score
        }
    }

    /// The `k` largest of `scores` (NaN never selected), best first; ties keep the lower index first.
    public static func select(_ scores: UnsafeBufferPointer<Float>, k: Int) -> [Entry] {
        guard k > 0 else { return [] }
        var heap: [Entry] = []
        heap.reserveCapacity(min(k, scores.count))
        for i in 0..<scores.count {
            let s = scores[i]
            if heap.count < k {
                guard !s.isNaN else { continue }
                heap.append(Entry(index: i, score: s))
                siftUp(&heap, heap.count - 1)
            } else if s > heap[0].score {
                heap[0] = Entry(index: i, score: s)
                siftDown(&heap, 0)
            }
        }
        return heap.sorted { $0.score != $1.score ? $0.score > $1.score : $0.index < $1.index }
    }

    /// `select` over an array.
    public static func select(_ scores: [Float], k: Int) -> [Entry] {
        scores.withUnsafeBufferPointer { select($0, k: k) }
    }

    // MARK: - Heap (min at the root; a later index counts as smaller on ties so earlier frames win)

    @inline(__always)
    private static func less(_ a: Entry, _ b: Entry) -> Bool {
        a.score != b.score ? a.score < b.score : a.index > b.index
    }

    private static func siftUp(_ heap: inout [Entry], _ start: Int) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / 2
            guard less(heap[child], heap[parent]) else { return }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private static func siftDown(_ heap: inout [Entry], _ start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            guard left < heap.count else { return }
            var smallest = left
            if left + 1 < heap.count && less(heap[left + 1], heap[left]) { smallest = left + 1 }
            guard less(heap[smallest], heap[parent]) else { return }
            heap.swapAt(smallest, parent)
            parent = smallest
        }
    }
}
