import Foundation
import Testing
import VLMCore
import VLMGraph

@Suite("Bounded queues and the flow limiter")
struct QueueTests {
    @Test("block never drops and keeps order, however slow the consumer")
    func blockKeepsEverything() throws {
        let queue = BoundedQueue<Int>(name: "t", capacity: 2, policy: .block)
        DispatchQueue.global().async {
            for i in 0..<200 { queue.push(i) }
            queue.close()
        }
        var received: [Int] = []
        while let value = queue.pop() {
            if received.count % 50 == 0 { Thread.sleep(forTimeInterval: 0.01) }
            received.append(value)
        }
        #expect(received == Array(0..<200))
        #expect(queue.stats.dropped == 0)
        #expect(queue.stats.maxDepth <= 2)
    }

    @Test("drop-oldest bounds depth, counts drops and keeps the newest")
    func dropOldest() {
        let dropped = Locked([Int]())
        let queue = BoundedQueue<Int>(
            name: "t", capacity: 3, policy: .dropOldest, onDrop: { v in dropped.withLock { $0.append(v) } })
        for i in 0..<10 { #expect(queue.push(i)) }
        #expect(queue.stats.depth == 3)
        #expect(queue.stats.dropped == 7)
        #expect(dropped.current == Array(0..<7))
        queue.close()
        var rest: [Int] = []
        while let v = queue.pop() { rest.append(v) }
        #expect(rest == [7, 8, 9])
    }

    @Test("keep-latest holds only the newest element")
    func keepLatest() {
        let queue = BoundedQueue<Int>(name: "t", capacity: 4, policy: .keepLatest)
        for i in 0..<10 { queue.push(i) }
        #expect(queue.stats.depth == 1)
        #expect(queue.stats.dropped == 9)
        #expect(queue.tryPop() == 9)
        #expect(queue.tryPop() == nil)
    }

    @Test("close refuses pushes, drains, then ends; a blocked producer is released")
    func closeDrains() throws {
        let queue = BoundedQueue<Int>(name: "t", capacity: 1, policy: .block)
        queue.push(1)
        let pushResult = Locked<Bool?>(nil)
        let thread = Thread {
            let accepted = queue.push(2)
            pushResult.withLock { $0 = accepted }
        }
        thread.start()
        Thread.sleep(forTimeInterval: 0.05)
        #expect(pushResult.current == nil, "push must wait while the queue is full")
        queue.close()
        for _ in 0..<100 where pushResult.current == nil { Thread.sleep(forTimeInterval: 0.01) }
        #expect(pushResult.current == false)
        #expect(queue.pop() == 1)
        #expect(queue.pop() == nil)
        #expect(queue.push(3) == false)
    }

    @Test("pop(until:) times out on an empty open queue")
    func popTimeout() {
        let queue = BoundedQueue<Int>(name: "t", capacity: 1, policy: .block)
        let start = Date()
        #expect(queue.pop(until: Date().addingTimeInterval(0.05)) == nil)
        #expect(Date().timeIntervalSince(start) >= 0.04)
    }

    @Test("the flow limiter refuses live frames when full and makes file frames wait")
    func flowLimiter() throws {
        let limiter = FlowLimiter(maxInFlight: 2)
        #expect(limiter.tryAcquire())
        #expect(limiter.tryAcquire())
        #expect(!limiter.tryAcquire())
        #expect(limiter.refused == 1)
        let acquired = Locked(false)
        let thread = Thread {
            limiter.acquire()
            acquired.withLock { $0 = true }
        }
        thread.start()
        Thread.sleep(forTimeInterval: 0.05)
        #expect(!acquired.current, "acquire must wait for a slot")
        limiter.release()
        for _ in 0..<100 where !acquired.current { Thread.sleep(forTimeInterval: 0.01) }
        #expect(acquired.current)
        #expect(limiter.inFlight == 2)
        #expect(limiter.admitted == 3)
    }
}

@Suite("Batcher")
struct BatcherTests {
    @Test("a live batch closes at the latency budget with what it has")
    func latencyBudget() {
        let queue = BoundedQueue<Int>(name: "t", capacity: 16, policy: .block)
        let batcher = Batcher<Int>(maxBatch: 8, latencyBudget: 0.05)
        queue.push(1)
        queue.push(2)
        let start = Date()
        let batch = batcher.nextBatch(from: queue)
        let waited = Date().timeIntervalSince(start)
        #expect(batch == [1, 2])
        #expect(waited >= 0.04 && waited < 1.0)
    }

    @Test("a full batch leaves at once; units count views")
    func fullBatch() {
        let queue = BoundedQueue<Int>(name: "t", capacity: 16, policy: .block)
        let batcher = Batcher<Int>(maxBatch: 4, latencyBudget: 10, units: { $0 })
        for v in [1, 2, 1, 3, 1] { queue.push(v) }
        let start = Date()
        #expect(batcher.nextBatch(from: queue) == [1, 2, 1])
        #expect(Date().timeIntervalSince(start) < 1)
    }

    @Test("without a budget (files) a batch waits until full or the queue closes")
    func fileBatches() {
        let queue = BoundedQueue<Int>(name: "t", capacity: 16, policy: .block)
        let batcher = Batcher<Int>(maxBatch: 3, latencyBudget: nil)
        DispatchQueue.global().async {
            for i in 0..<7 {
                Thread.sleep(forTimeInterval: 0.01)
                queue.push(i)
            }
            queue.close()
        }
        #expect(batcher.nextBatch(from: queue) == [0, 1, 2])
        #expect(batcher.nextBatch(from: queue) == [3, 4, 5])
        #expect(batcher.nextBatch(from: queue) == [6])
        #expect(batcher.nextBatch(from: queue) == [])
    }
}
