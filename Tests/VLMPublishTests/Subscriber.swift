import Foundation
import TestSupport
import VLMCore
import VLMPublish

/// A test-side MQTT client (our libmosquitto wrapper) that records every message it receives.
/// Persistent session by default, resubscribing on every connect.
final class Subscriber: Sendable {
    private struct State {
        var received: [MQTTMessage] = []
        var connections = 0
        var acks = 0
        var client: MQTTClient?
    }

    private let state = Locked(State())
    let filters: [String]

    init(
        _ url: String, id: String = "test-sub-\(UUID().uuidString.prefix(6))", filters: [String],
        cleanSession: Bool = false
    ) throws {
        self.filters = filters
        var handlers = MQTTClient.Handlers()
        handlers.connected = { [weak self] rc in
            guard let self, rc == 0 else { return }
            let client = self.state.withLock { s in
                s.connections += 1
                return s.client
            }
            for filter in filters { _ = try? client?.subscribe(filter, qos: 1) }
        }
        handlers.subscribed = { [weak self] _ in self?.state.withLock { $0.acks += 1 } }
        handlers.message = { [weak self] m in self?.state.withLock { $0.received.append(m) } }
        let configuration = MQTTClient.Configuration(
            clientID: id, cleanSession: cleanSession, broker: try MQTTSettings.parseURL(url), keepalive: 5,
            reconnectDelayMin: 1, reconnectDelayMax: 1)
        let client = try MQTTClient(configuration, handlers: handlers)
        state.withLock { $0.client = client }
        try client.start()
    }

    /// Waits for the first SUBACKs.
    func waitReady(timeout: Double = 10) -> Bool {
        poll(timeout) { self.state.withLock { $0.acks >= self.filters.count } }
    }

    var messages: [MQTTMessage] { state.withLock { $0.received } }

    /// Messages whose topic ends with `/<suffix>`.
    func messages(_ suffix: String) -> [MQTTMessage] { messages.filter { $0.topic.hasSuffix("/" + suffix) } }

    /// Waits until `condition` holds for the messages so far.
    @discardableResult
    func wait(timeout: Double = 10, until condition: @escaping ([MQTTMessage]) -> Bool) -> Bool {
        poll(timeout) { condition(self.messages) }
    }

    func publish(_ topic: String, _ payload: [UInt8], qos: Int = 1) {
        _ = state.withLock { $0.client }?.publish(MQTTMessage(topic: topic, payload: payload, qos: qos))
    }

    func stop() {
        state.withLock { $0.client }?.stop()
    }
}

/// Polls `condition` every 10 ms until it holds or `timeout` seconds pass.
func poll(_ timeout: Double, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if condition() { return true }
        Thread.sleep(forTimeInterval: 0.01)
    }
    return condition()
}

/// A plain query set: what VLMMatch's controller does with queries, minus the text encoder.
final class QueryList: QueryControlling, Sendable {
    private let queries: Locked<[String]>

    init(_ queries: [String]) { self.queries = Locked(queries) }

    var activeQueries: [String] { queries.current }
    func setQueries(_ new: [String]) throws { queries.withLock { $0 = new } }
    func addQueries(_ new: [String]) throws { queries.withLock { q in q += new.filter { !q.contains($0) } } }
    func removeQueries(_ old: [String]) { queries.withLock { $0.removeAll { old.contains($0) } } }
}

/// Settings for a test broker: a private outbox directory, short flush deadline.
func testSettings(_ url: String, outbox: URL, clientID: String = "vlm-test-\(UUID().uuidString.prefix(6))")
    throws -> MQTTSettings
{
    var settings = try MQTTSettings(url: url)
    settings.clientID = clientID
    settings.outboxDirectory = outbox.path
    settings.statsInterval = 1
    settings.flushDeadline = 5
    return settings
}

/// An event result for `stream`.
func event(_ type: QueryEvent.Kind, _ query: String, stream: String = "cam", at pts: Double) -> StreamResult {
    .event(
        QueryEvent(
            type: type, stream: stream, query: query, startPTS: max(0, pts - 1), endPTS: type == .start ? nil : pts,
            peakScore: 0.8, peakPTS: pts, box: Box(x: 0.1, y: 0.2, width: 0.5, height: 0.5)))
}

/// The schema for a topic (`vlm/cam/events` → event.json).
func schemaKind(of topic: String) -> String? {
    let kinds = [
        "events": "event", "captions": "caption", "labels": "labels", "status": "status",
        "queries": "queries", "stats": "stats", "errors": "error", "answers": "answer",
    ]
    return topic.split(separator: "/").last.flatMap { kinds[String($0)] }
}
