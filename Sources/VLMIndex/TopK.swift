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
        select(scores, k: k, rank: nil)
    }

    /// `select` with ties broken by `rank[index]` (lower first) instead of the index: the same frames win whatever
    /// order the rows are stored in (a local copy appends in commit order; a full read is in (video, pts) order).
    static func select(_ scores: UnsafeBufferPointer<Float>, k: Int, rank: UnsafeBufferPointer<Int32>?) -> [Entry] {
        guard k > 0 else { return [] }
        @inline(__always) func key(_ i: Int) -> Int { rank.map { Int($0[i]) } ?? i }
        @inline(__always) func less(_ a: Entry, _ b: Entry) -> Bool {
            a.score != b.score ? a.score < b.score : key(a.index) > key(b.index)
        }
        var heap: [Entry] = []
        heap.reserveCapacity(min(k, scores.count))
        for i in 0..<scores.count {
            let s = scores[i]
            if heap.count < k {
                guard !s.isNaN else { continue }
                heap.append(Entry(index: i, score: s))
                siftUp(&heap, heap.count - 1, less)
            } else if s > heap[0].score || (rank != nil && s == heap[0].score && key(i) < key(heap[0].index)) {
                heap[0] = Entry(index: i, score: s)
                siftDown(&heap, 0, less)
            }
        }
        return heap.sorted { $0.score != $1.score ? $0.score > $1.score : key($0.index) < key($1.index) }
    }

    /// `select` over an array.
    public static func select(_ scores: [Float], k: Int) -> [Entry] {
        scores.withUnsafeBufferPointer { select($0, k: k) }
    }

    // MARK: - Heap (min at the root; a later rank counts as smaller on ties so earlier frames win)

    private static func siftUp(_ heap: inout [Entry], _ start: Int, _ less: (Entry, Entry) -> Bool) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / 2
            guard less(heap[child], heap[parent]) else { return }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private static func siftDown(_ heap: inout [Entry], _ start: Int, _ less: (Entry, Entry) -> Bool) {
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
