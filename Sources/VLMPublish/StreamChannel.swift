import CMosquitto
import Foundation
import Logging
import VLMCore

/// One stream's connection to the broker: its own client id (so its Last Will marks just this stream offline), its
/// own outbox, and the ordering rules that keep QoS≥1 messages in order across reconnects.
///
/// Ordering: at most `maxInflight` messages are handed to libmosquitto at a time. When the connection drops, the
/// ones libmosquitto holds are resent by libmosquitto itself on reconnect (the session is persistent), so new
/// messages are held back (`barrier`) until all of those are acknowledged; only then does the outbox drain on.
final class StreamChannel: Sendable {
    struct State {
        var outbox: Outbox
        var inflight: [Int32: OutboxEntry] = [:]
        var connected = false
        var barrier = false
        var everConnected = false
        var finishing = false
        var stats = MQTTStatistics()
        var sequence: [String: Int] = [:]
        var streamState = "online"
        var streamDetail: String?
        var controller: QueryControlling?
        /// The caption stage's standing questions, under `questions/set|add|remove` (nil: no caption model).
        var questions: (any QuestionControlling)?
        var controlBacklog = 0
        var offlineEntry: UInt64?
        var offlineAcked = false
        var loggedDown = false
        var ticks = 0
        /// libmosquitto's last error line (shown when the broker is not reachable).
        var lastProblem: String?
        /// When the in-flight window last moved (a message handed over into an empty window, an acknowledgement,
        /// a connect): the acknowledgement watchdog measures from here.
        var ackProgress = Date()
        /// Reconnects forced by the acknowledgement watchdog.
        var ackTimeouts = 0
    }

    /// Weak link from libmosquitto's callbacks back to the channel (set once, before the client starts).
    private struct WeakChannel {
        weak var channel: StreamChannel?
    }

    let stream: String
    let settings: MQTTSettings
    let topic: String
    let session: String
    let logger: Logger
    let thumbnails: (any ThumbnailProviding)?
    let state: Locked<State>
    let started = Date()
    let client: MQTTClient
    let controlQueue: DispatchQueue
    private let timer = Locked<DispatchSourceTimer?>(nil)

    static let controlBacklogLimit = 64

    init(
        stream: String, settings: MQTTSettings, session: String, logger: Logger,
        thumbnails: (any ThumbnailProviding)?
    ) throws {
        let safe = StreamChannel.topicSafe(stream)
        self.stream = stream
        self.settings = settings
        self.topic = "\(settings.prefix)/\(safe)"
        self.session = session
        self.logger = logger
        self.thumbnails = thumbnails
        let clientID = "\(settings.clientID)-\(safe)"
        let outbox = try Outbox(
            directory: URL(fileURLWithPath: settings.outboxDirectory).appendingPathComponent(clientID),
            limit: settings.outboxLimit)
        var initial = State(outbox: outbox)
        initial.stats.recovered = outbox.recovered
        self.state = Locked(initial)
        self.controlQueue = DispatchQueue(label: "vlm.mqtt.control.\(safe)")
        let link = Locked(WeakChannel())
        var handlers = MQTTClient.Handlers()
        handlers.connected = { rc in link.withLock { $0.channel }?.connected(rc) }
        handlers.disconnected = { rc in link.withLock { $0.channel }?.disconnected(rc) }
        handlers.published = { mid in link.withLock { $0.channel }?.acknowledged(mid) }
        handlers.message = { message in link.withLock { $0.channel }?.received(message) }
        handlers.problem = { text in link.withLock { $0.channel }?.state.withLock { $0.lastProblem = text } }
        handlers.subscribed = { _ in link.withLock { $0.channel }?.state.withLock { $0.stats.controlSubscribed = true }
        }
        let will = MQTTMessage(
            topic: "\(settings.prefix)/\(safe)/status",
            payload: PayloadEncoder.encode(
                Payload.Header(
                    schema: Payload.schema("status"), stream: stream, session: session, seq: 0,
                    sentAt: PayloadEncoder.timestamp()),
                StreamStatus(stream: stream, state: "offline", detail: "connection lost (Last Will)")),
            qos: max(1, settings.qos), retained: true)
        self.client = try MQTTClient(
            MQTTClient.Configuration(
                clientID: clientID, cleanSession: false, broker: settings.broker, tlsFiles: settings.tlsFiles,
                keepalive: settings.keepalive, will: will, maxInflight: settings.maxInflight),
            handlers: handlers)
        link.withLock { $0.channel = self }
        if outbox.recovered > 0 {
            logger.info(
                "MQTT outbox: replaying \(outbox.recovered) unacknowledged messages of an earlier run",
                metadata: ["stream": "\(stream)"])
        }
    }

    /// Connects in the background and starts the once-a-second timer (outbox fsync, periodic stats).
    func start() throws {
        try client.start()
        let statsEvery = settings.statsInterval > 0 ? max(1, Int(settings.statsInterval.rounded())) : 0
        let source = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "vlm.mqtt.timer"))
        source.schedule(deadline: .now() + 1, repeating: 1)
        source.setEventHandler { [weak self] in
            guard let self else { return }
            let tick = self.state.withLock { s -> Int in
                s.outbox.sync()
                s.ticks += 1
                return s.ticks
            }
            if statsEvery > 0 && tick % statsEvery == 0 { self.publishStats() }
            self.checkAcknowledgements()
        }
        source.resume()
        timer.withLock { $0 = source }
    }

    // MARK: - Publishing

    /// The next `seq` for messages of `kind`.
    func header(_ kind: String, _ s: inout State) -> Payload.Header {
        let seq = (s.sequence[kind] ?? 0) + 1
        s.sequence[kind] = seq
        return Payload.Header(
            schema: Payload.schema(kind), stream: stream, session: session, seq: seq,
            sentAt: PayloadEncoder.timestamp())
    }

    /// Queues a message for `<prefix>/<stream>/<subtopic>` and sends what the window allows.
    /// Durable messages go to disk first; QoS 0 messages skip the outbox and are dropped while disconnected.
    @discardableResult
    func enqueue(
        _ subtopic: String, qos: Int, retained: Bool = false, durable: Bool, front: Bool = false,
        _ s: inout State, payload: [UInt8]
    ) -> UInt64? {
        let message = MQTTMessage(topic: "\(topic)/\(subtopic)", payload: payload, qos: qos, retained: retained)
        if qos == 0 {
            if s.connected, client.publish(message).code == MOSQ_ERR_SUCCESS.rawValue {
                s.stats.published += 1
            } else {
                s.stats.discardedQoS0 += 1
            }
            return nil
        }
        let before = s.outbox.dropped
        let entry = s.outbox.append(message, durable: durable, front: front, inflight: s.inflight.count)
        s.stats.dropped += s.outbox.dropped - before
        pump(&s)
        return entry.id
    }

    /// Hands queued messages to libmosquitto while connected, past the reconnect barrier, and within the window.
    func pump(_ s: inout State) {
        guard s.connected, !s.barrier else { return }
        while s.inflight.count < settings.maxInflight, let entry = s.outbox.popNext() {
            let result = client.publish(entry.message)
            if result.accepted {
                if s.inflight.isEmpty { s.ackProgress = Date() }
                s.inflight[result.mid] = entry
                if result.code == MOSQ_ERR_NO_CONN.rawValue {
                    // libmosquitto queued it and resends it on reconnect, ahead of anything we send later.
                    s.connected = false
                    s.barrier = true
                    return
                }
            } else {
                logger.warning(
                    "MQTT publish to \(entry.message.topic) failed: \(MQTTError.message(result.code)); message dropped")
                s.outbox.acknowledge(entry)
                s.stats.dropped += 1
            }
        }
    }

    // MARK: - libmosquitto callbacks (network thread)

    func connected(_ rc: Int32) {
        guard rc == 0 else {
            let reason = mosquitto_connack_string(rc).map { String(cString: $0) } ?? "code \(rc)"
            logger.warning("MQTT broker \(settings.broker.redacted) refused the connection: \(reason)")
            return
        }
        let (controller, questions) = state.withLock { s -> (QueryControlling?, (any QuestionControlling)?) in
            if s.everConnected {
                s.stats.reconnects += 1
                logger.info("MQTT reconnected to \(settings.broker.redacted)", metadata: ["stream": "\(stream)"])
            }
            s.everConnected = true
            s.connected = true
            s.ackProgress = Date()
            s.loggedDown = false
            s.barrier = !s.inflight.isEmpty
            return (s.controller, s.questions)
        }
        if controller != nil { subscribeControl() }
        if questions != nil { subscribeQuestions() }
        state.withLock { s in
            // Retained state first (ahead of any backlog), so the broker shows us online as soon as possible: the
            // states still waiting move to the front in order (each keeps its `seq`; the last is the current one),
            // or, when none is waiting, the current state is announced again (the Last Will may have replaced it).
            if let controller, !s.outbox.moveToFront(topic: "\(topic)/queries") {
                announceQueries(controller.activeQueries, front: true, &s)
            }
            if let questions, !s.outbox.moveToFront(topic: "\(topic)/questions") {
                announceQuestions(questions.activeQuestions, front: true, &s)
            }
            if !s.outbox.moveToFront(topic: "\(topic)/status") { announceStatus(front: true, &s) }
            pump(&s)
        }
    }

    func disconnected(_ rc: Int32) {
        state.withLock { s in
            s.connected = false
            s.stats.controlSubscribed = false
            if !s.inflight.isEmpty { s.barrier = true }
            if rc != 0 && !s.loggedDown {
                s.loggedDown = true
                let kept = s.outbox.pending.count + s.inflight.count
                logger.warning(
                    "MQTT connection to \(settings.broker.redacted) lost; reconnecting, \(kept) messages kept",
                    metadata: ["stream": "\(stream)"])
            }
        }
    }

    func acknowledged(_ mid: Int32) {
        state.withLock { s in
            guard let entry = s.inflight.removeValue(forKey: mid) else { return }
            s.ackProgress = Date()
            s.outbox.acknowledge(entry)
            s.stats.published += 1
            if entry.id == s.offlineEntry { s.offlineAcked = true }
            if s.inflight.isEmpty {
                s.barrier = false
                s.outbox.compactIfIdle(inflight: 0)
            }
            pump(&s)
        }
    }

    // MARK: - Retained state

    /// Queues the retained `status` (volatile: regenerated on every connect, never replayed from disk).
    @discardableResult
    func announceStatus(front: Bool, _ s: inout State) -> UInt64? {
        let payload = PayloadEncoder.encode(
            header("status", &s), StreamStatus(stream: stream, state: s.streamState, detail: s.streamDetail))
        return enqueue(
            "status", qos: max(1, settings.qos), retained: true, durable: false, front: front, &s, payload: payload)
    }

    /// Queues the retained `queries` topic with the active query set.
    func announceQueries(_ queries: [String], front: Bool, _ s: inout State) {
        let payload = PayloadEncoder.encode(header("queries", &s), Payload.Queries(queries: queries))
        enqueue(
            "queries", qos: max(1, settings.qos), retained: true, durable: false, front: front, &s, payload: payload)
    }

    /// The stream's name made safe for one topic level (`/`, `+`, `#` become `_`).
    static func topicSafe(_ name: String) -> String {
        let cleaned = String(name.map { "/+#\u{0}".contains($0) ? "_" : $0 })
        return cleaned.isEmpty ? "_" : cleaned
    }

    /// The acknowledgement watchdog (timer queue): a message in flight on a live connection with no
    /// acknowledgement for `settings.ackTimeout` seconds makes the client reconnect, so libmosquitto resends it;
    /// without this, one lost PUBACK (or a message libmosquitto never wrote) stopped QoS≥1 output for good.
    func checkAcknowledgements() {
        let stalled = state.withLock { s -> Int? in
            guard s.connected, !s.finishing, !s.inflight.isEmpty,
                Date().timeIntervalSince(s.ackProgress) > settings.ackTimeout
            else { return nil }
            s.ackProgress = Date()
            s.ackTimeouts += 1
            return s.inflight.count
        }
        guard let stalled else { return }
        let line =
            "MQTT: \(stalled) message(s) unacknowledged for \(settings.ackTimeout) s on a live connection; "
            + "reconnecting so they are sent again"
        logger.warning("\(line)", metadata: ["stream": "\(stream)"])
        client.reconnect()
    }

    func stopTimer() {
        timer.withLock {
            $0?.cancel()
            $0 = nil
        }
    }
}
