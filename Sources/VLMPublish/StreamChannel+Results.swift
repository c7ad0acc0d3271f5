import Foundation
import VLMCore

extension StreamChannel {
    // MARK: - Results

    /// Turns one pipeline result into its topic's JSON document and queues it.
    func publish(_ result: StreamResult) {
        // Thumbnails are encoded outside the lock (JPEG encoding takes milliseconds).
        var thumbnail: Payload.Thumbnail?
        if case .event(let event) = result, settings.thumbnails, event.type != .update, let thumbnails,
            let image = thumbnails.thumbnail(stream: stream, pts: event.peakPTS, maxBytes: settings.thumbnailMaxBytes),
            image.jpeg.count <= settings.thumbnailMaxBytes
        {
            thumbnail = Payload.Thumbnail(
                width: image.width, height: image.height, pts: image.pts, data: Data(image.jpeg).base64EncodedString())
        }
        state.withLock { s in
            switch result {
            case .score:
                return  // per-frame scores stay local (JSON Lines / terminal); events summarise them for robots
            case .event(let e):
                s.stats.events += 1
                let body = Payload.Event(event: e, thumbnail: thumbnail)
                enqueue(
                    "events", qos: settings.qos, durable: true, &s,
                    payload: PayloadEncoder.encode(header("event", &s), body))
            case .caption(let c):
                s.stats.captions += 1
                enqueue(
                    "captions", qos: settings.qos, durable: true, &s,
                    payload: PayloadEncoder.encode(header("caption", &s), c))
            case .labels(let l):
                s.stats.labels += 1
                enqueue(
                    "labels", qos: settings.qos, durable: true, &s,
                    payload: PayloadEncoder.encode(header("labels", &s), l))
            case .status(_, let value, let detail):
                s.streamState = value
                s.streamDetail = detail.map { String($0.unicodeScalars.prefix(1000)) }
                announceStatus(front: false, &s)
            case .answer(let a):
                enqueue(
                    "answers", qos: settings.qos, durable: true, &s,
                    payload: PayloadEncoder.encode(header("answer", &s), a))
            }
        }
    }

    // MARK: - Stats

    /// libmosquitto's last error line, if any (e.g. `certificate verify failed`).
    var lastProblem: String? { state.withLock { $0.lastProblem } }

    /// A snapshot of the counters.
    func statistics() -> MQTTStatistics {
        state.withLock { s in
            var stats = s.stats
            stats.connected = s.connected
            stats.pending = s.outbox.pending.count
            stats.inflight = s.inflight.count
            return stats
        }
    }

    /// Publishes the counters on `stats` (QoS 0: a stale sample is worth nothing after a reconnect).
    func publishStats() {
        state.withLock { s in
            let t = s.stats
            let body = Payload.Stats(
                uptimeSeconds: ResultJSON.number(Date().timeIntervalSince(started)) ?? 0, connected: s.connected,
                reconnects: t.reconnects, published: t.published, dropped: t.dropped, discardedQoS0: t.discardedQoS0,
                outboxPending: s.outbox.pending.count, outboxRecovered: t.recovered, inflight: s.inflight.count,
                events: t.events, captions: t.captions, labels: t.labels, controlAccepted: t.controlAccepted,
                controlRejected: t.controlRejected)
            enqueue("stats", qos: 0, durable: false, &s, payload: PayloadEncoder.encode(header("stats", &s), body))
        }
    }
}
