import Dispatch
import Testing
import VLMCore

@testable import VLMTensor

/// The fork-join pool behind `Parallel` (vlm_parallel_for): every index exactly once, whatever the region sizes, the
/// number of concurrent callers, or nesting.
@Suite("Parallel regions")
struct ParallelTests {
    /// Runs `regions` regions of 1…`maxCount` indices each and counts, per region, how often each index ran.
    static func exercise(regions: Int, maxCount: Int) -> Bool {
        var allOnce = true
        for region in 0..<regions {
            let count = region % maxCount + 1
            let hits = UnsafeMutablePointer<Int>.allocate(capacity: count)
            hits.initialize(repeating: 0, count: count)
            defer { hits.deallocate() }
            let shared = SendablePointer(hits)
            if region % 2 == 0 {
                Parallel.forEachIndex(count) { shared.base[$0] += 1 }  // each index is one thread's only
            } else {
                Parallel.forEachRange(count, grain: 1) { range in for i in range { shared.base[i] += 1 } }
            }
            allOnce = allOnce && (0..<count).allSatisfy { hits[$0] == 1 }
        }
        return allOnce
    }

    @Test("every index runs exactly once over thousands of back-to-back regions")
    func backToBack() {
        #expect(Self.exercise(regions: 5000, maxCount: 37))
    }

    @Test("concurrent callers each get all their indices (one on the pool, the others on libdispatch)")
    func concurrentCallers() {
        let results = Locked([Bool]())
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            let ok = Self.exercise(regions: 500, maxCount: 19)
            results.withLock { $0.append(ok) }
        }
        #expect(results.withLock { $0 } == [true, true, true, true])
    }

    @Test("mapParts covers every item once, in order, for any count", arguments: [0, 1, 2, 3, 8, 37])
    func mapParts(count: Int) {
        let doubled = Parallel.mapParts(count) { range in range.map { $0 * 2 } }
        #expect(doubled == (0..<count).map { $0 * 2 })
    }

    @Test("a region inside a region runs serially on its caller")
    func nesting() {
        let inner = Locked([Int]())
        Parallel.forEachIndex(max(2, Parallel.workers)) { outer in
            #expect(Parallel.available == 1)
            Parallel.forEachIndex(3) { i in inner.withLock { $0.append(outer * 10 + i) } }
        }
        #expect(Parallel.available == Parallel.workers)
        let expected = (0..<max(2, Parallel.workers)).flatMap { o in (0..<3).map { o * 10 + $0 } }
        #expect(inner.withLock { $0.sorted() } == expected)
    }
}
