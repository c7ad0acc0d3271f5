import Foundation
import VLMCore

extension StageGraph {
    /// Per-stream reorder state of the results stage.
    private struct StreamOrder {
        var next = 0
        var pending: [Int: (EncodedFrame, UInt64)] = [:]
        var lastEmbeddings: [Embedding] = []
        var end: (tickets: Int, pts: Double)?
        var finished = false
    }

    /// The results stage: puts each stream's frames back in admission (pts) order, fills in reused embeddings,
    /// runs the analyzers and hands their results to every sink; finishes streams and then sinks.
    func runResults() {
        var streams: [String: StreamOrder] = [:]
        for source in sources { streams[source.source.stream] = StreamOrder() }
        while let message = resultQueue.pop() {
            switch message {
            case .encoded(let frame, let ticket, let admittedAt):
                streams[frame.stream, default: StreamOrder()].pending[ticket] = (frame, admittedAt)
                flush(frame.stream, &streams[frame.stream, default: StreamOrder()])
            case .ended(let stream, let tickets, let pts):
                streams[stream, default: StreamOrder()].end = (tickets, pts)
                flush(stream, &streams[stream, default: StreamOrder()])
            case .report(let result):
                deliver([result])
            }
        }
        // Every producer is gone; a stream still open lost frames to a failed encoder. Close it anyway.
        for stream in streams.keys.sorted() where !(streams[stream]?.finished ?? true) {
            finishStream(stream, at: streams[stream]?.end?.pts ?? 0)
        }
        for sink in sinks { sink.finish() }
    }

    private func flush(_ stream: String, _ order: inout StreamOrder) {
        while let (frame, admittedAt) = order.pending.removeValue(forKey: order.next) {
            order.next += 1
            var frame = frame
            if frame.reused {
                frame.embeddings = order.lastEmbeddings
            } else {
                order.lastEmbeddings = frame.embeddings
            }
            analyze(frame)
            metrics.frameLatency(nanoseconds: nowNanos() - admittedAt)
            onProgress(stream, frame.time.seconds)
        }
        if let end = order.end, order.next >= end.tickets, !order.finished {
            order.finished = true
            finishStream(stream, at: end.pts)
        }
    }

    private func analyze(_ frame: EncodedFrame) {
        metrics.framesIn(.analyze)
        let start = nowNanos()
        var results: [StreamResult] = []
        for analyzer in analyzers { results += analyzer.analyze(frame) }
        metrics.latency(.analyze, nanoseconds: nowNanos() - start)
        metrics.framesOut(.analyze)
        deliver(results)
    }

    private func finishStream(_ stream: String, at pts: Double) {
        var results: [StreamResult] = []
        for analyzer in analyzers { results += analyzer.finish(stream: stream, at: pts) }
        results.append(.status(stream: stream, state: "ended", detail: nil))
        deliver(results)
    }

    private func deliver(_ results: [StreamResult]) {
        guard !results.isEmpty else { return }
        metrics.framesIn(.sink)
        let start = nowNanos()
        for result in results {
            for sink in sinks { sink.consume(result) }
        }
        metrics.latency(.sink, nanoseconds: nowNanos() - start)
        metrics.framesOut(.sink)
        metrics.delivered(results)
    }
}
