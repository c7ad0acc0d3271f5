import Foundation
import VLMCore

// MARK: - Source and gate

extension StageGraph {
    /// The decode stage: runs the source's decoder loop, pushing each frame into the queue behind it.
    func runSource(_ source: GraphSource, into queue: BoundedQueue<Frame>) {
        var lastDecoded = 0
        defer { queue.close() }
        do {
            try source.source.run { frame in
                let decoded = source.source.decodedFrames
                metrics.decoded(decoded - lastDecoded)
                lastDecoded = decoded
                metrics.framesIn(.decode)
                guard queue.push(frame) else {
                    metrics.dropped(.decode)  // sampled as the graph stopped: counted, so the summary adds up
                    return false
                }
                metrics.framesOut(.decode)
                return !isStopping
            }
            metrics.decoded(source.source.decodedFrames - lastDecoded)
        } catch {
            logger.error("source \(source.source.stream) failed: \(error)")
            fail(error)
        }
    }

    /// The gate stage: reuses embeddings of unchanged frames, then takes a flow-limiter slot (waiting for files,
    /// dropping for live sources) and numbers the frame for in-order delivery.
    func runGate(_ source: GraphSource, from queue: BoundedQueue<Frame>) {
        let stream = source.source.stream
        let live = source.source.isLive
        var tickets = 0
        var lastPTS = 0.0
        var encodedOnce = false
        while let frame = queue.pop() {
            let start = nowNanos()
            metrics.framesIn(.gate)
            lastPTS = frame.time.seconds
            // The gate sees every frame (it keeps its reference), but the first frame is always encoded.
            let changed = source.gate?.shouldEncode(frame) ?? true
            let reuse = encodedOnce && !changed
            if !reuse {
                if live {
                    guard limiter.tryAcquire() else {
                        metrics.dropped(.gate)
                        continue
                    }
                } else {
                    limiter.acquire()
                }
                encodedOnce = true
            } else {
                metrics.reused()
            }
            let item = AdmittedFrame(
                frame: frame, ticket: tickets, reuse: reuse, holdsSlot: !reuse, admittedAt: nowNanos())
            metrics.latency(.gate, nanoseconds: nowNanos() - start)
            guard encodeQueue.push(item) else {
                if !reuse { limiter.release() }
                metrics.dropped(.gate)  // admitted as the graph stopped
                break
            }
            tickets += 1
            metrics.framesOut(.gate)
        }
        resultQueue.push(.ended(stream: stream, tickets: tickets, pts: lastPTS))
    }
}

// MARK: - Encoder

extension StageGraph {
    /// One encoder worker: takes batches and encodes every view of the frames that need it.
    func runEncoder(_ encoder: any ImageEncoding, batcher: Batcher<AdmittedFrame>) {
        while true {
            let batch = batcher.nextBatch(from: encodeQueue)
            if batch.isEmpty { return }
            let toEncode = batch.filter { !$0.reuse }
            metrics.framesIn(.encode, toEncode.count)
            var embeddings: [Embedding] = []
            if !toEncode.isEmpty {
                let images = toEncode.flatMap { $0.frame.views.map(\.image) }
                let start = nowNanos()
                do {
                    embeddings = try encoder.encode(images: images)
                } catch {
                    logger.error("encoder failed: \(error)")
                    limiter.release(toEncode.count)
                    fail(error)
                    continue
                }
                let elapsed = nowNanos() - start
                for _ in toEncode { metrics.latency(.encode, nanoseconds: elapsed / UInt64(toEncode.count)) }
                metrics.framesOut(.encode, toEncode.count)
            }
            var offset = 0
            for item in batch {
                let frame = item.frame
                var vectors: [Embedding] = []
                if !item.reuse {
                    vectors = Array(embeddings[offset..<offset + frame.views.count])
                    offset += frame.views.count
                }
                let encoded = EncodedFrame(
                    stream: frame.stream, sequence: frame.sequence, time: frame.time, embeddings: vectors,
                    boxes: frame.views.map(\.box), reused: item.reuse)
                if item.holdsSlot { limiter.release() }
                resultQueue.push(.encoded(encoded, ticket: item.ticket, admittedAt: item.admittedAt))
            }
        }
    }
}
