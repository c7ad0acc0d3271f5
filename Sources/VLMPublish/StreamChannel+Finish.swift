import CMosquitto
import Foundation
import VLMCore

extension StreamChannel {
    // MARK: - Shutdown

    /// Drains the outbox until `deadline`, publishes the retained `offline` status, then disconnects cleanly.
    /// Whatever is still unacknowledged stays in the outbox file and is replayed by the next run.
    func finish(deadline: Date) {
        state.withLock { s in
            s.finishing = true
            s.streamState = "offline"
            s.streamDetail = "stopped"
            s.offlineEntry = announceStatus(front: false, &s)
        }
        // Disconnected now: give a reconnect one second, not the whole deadline (what is left stays on disk).
        let connected = state.withLock { $0.connected }
        waitUntil(connected ? deadline : min(deadline, Date().addingTimeInterval(1))) {
            $0.outbox.pending.isEmpty && $0.inflight.isEmpty
        }
        // Past the deadline with a backlog: say `offline` directly (not behind the backlog) if still connected.
        let direct = state.withLock { s -> Bool in
            guard !s.offlineAcked, s.connected else { return false }
            var header = header("status", &s)
            header.sentAt = PayloadEncoder.timestamp()
            let payload = PayloadEncoder.encode(
                header, StreamStatus(stream: stream, state: "offline", detail: "stopped"))
            let message = MQTTMessage(
                topic: "\(topic)/status", payload: payload, qos: max(1, settings.qos), retained: true)
            let result = client.publish(message)
            guard result.code == MOSQ_ERR_SUCCESS.rawValue else { return false }
            let entry = OutboxEntry(id: UInt64.max, message: message, durable: false)
            s.inflight[result.mid] = entry
            s.offlineEntry = entry.id
            return true
        }
        if direct { waitUntil(Date().addingTimeInterval(1)) { $0.offlineAcked } }
        stopTimer()
        client.stop()
        let (left, path) = state.withLock { s -> (Int, String) in
            let left = s.outbox.pending.filter(\.durable).count + s.inflight.values.filter(\.durable).count
            s.outbox.close()
            return (left, s.outbox.directory.path)
        }
        if left > 0 {
            logger.warning(
                "MQTT: \(left) messages unacknowledged at exit; kept in \(path) for the next run",
                metadata: ["stream": "\(stream)"])
        }
    }

    private func waitUntil(_ deadline: Date, _ done: (inout State) -> Bool) {
        while Date() < deadline, !state.withLock(done) {
            Thread.sleep(forTimeInterval: 0.005)
        }
    }
}
