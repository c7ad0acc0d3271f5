import Foundation
import VLMCore

/// Decodes ahead on its own thread so decoding overlaps encoding: up to `depth` frames wait in a bounded queue
/// (the decoder blocks when it is full, so memory stays bounded). Read it to the end or `cancel()` it.
public final class PrefetchingFrameSource: IndexFrameSource, @unchecked Sendable {
    // @unchecked: every mutable property is guarded by `condition`; `inner` is read only by the prefetch thread
    // (its `cancel` and `duration` are thread-safe by the protocol's contract).
    private let inner: any IndexFrameSource
    private let condition = NSCondition()
    private let depth: Int
    // Guarded by `condition`.
    private var queue: [Frame] = []
    private var finished = false
    private var failure: (any Error)?
    private var stopped = false

    /// Wraps `inner`, which from now on is read only by the prefetch thread.
    public init(_ inner: any IndexFrameSource, depth: Int = 16) {
        self.inner = inner
        self.depth = max(1, depth)
        let thread = Thread { [self] in run() }
        thread.name = "vlm-index-decode"
        thread.start()
    }

    public var duration: Double? { inner.duration }

    public func nextFrame() throws -> Frame? {
        condition.lock()
        defer { condition.unlock() }
        while queue.isEmpty && !finished { condition.wait() }
        if !queue.isEmpty {
            let frame = queue.removeFirst()
            condition.broadcast()
            return frame
        }
        if let failure { throw failure }
        return nil
    }

    public func cancel() {
        condition.lock()
        stopped = true
        condition.broadcast()
        condition.unlock()
        inner.cancel()
    }

    private func run() {
        while true {
            condition.lock()
            while queue.count >= depth && !stopped { condition.wait() }
            let stop = stopped
            condition.unlock()
            if stop { break }
            do {
                guard let frame = try inner.nextFrame() else { break }
                condition.lock()
                queue.append(frame)
                condition.broadcast()
                condition.unlock()
            } catch {
                condition.lock()
                failure = error
                condition.unlock()
                break
            }
        }
        condition.lock()
        finished = true
        condition.broadcast()
        condition.unlock()
    }
}
