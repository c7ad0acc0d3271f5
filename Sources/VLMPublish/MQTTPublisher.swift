import Foundation
import Logging
import VLMCore

/// Publishes a pipeline's results to MQTT scene topics and takes query changes from control topics.
///
/// Topics, under `<prefix>/<stream>/` (payload schemas in `Configs/schemas/`):
/// - `events` (start/update/end), `captions`, `labels`: QoS `settings.qos`, through the on-disk outbox.
/// - `status`: retained `online`/`offline` (and the pipeline's stream states); `offline` is also the Last Will.
/// - `queries`: retained, the active query set; changed by `queries/set|add|remove` (JSON, see `ControlRequest`).
/// - `stats`: every `settings.statsInterval` seconds, QoS 0. `errors`: answers to refused control messages, QoS 0.
///
/// Each stream connects with its own client id `<clientID>-<stream>` and a persistent session (clean_session
/// false), so each stream has its own Last Will and outbox. An unreachable broker is not fatal: one warning is
/// logged, the stream runs, and QoS≥1 messages wait in the outbox (bounded, oldest dropped and counted) until the
/// broker is reachable.
public final class MQTTPublisher: ResultSink {
    /// The validated settings.
    public let settings: MQTTSettings
    /// Names this run in every payload (`session`), so subscribers can tell runs apart.
    public let session: String
    /// Where the publisher logs (a service beside it, such as `MQTTAskService`, logs there too).
    public let logger: Logger
    private let thumbnails: (any ThumbnailProviding)?
    private let channels = Locked<[String: StreamChannel]>([:])
    private let finished = Locked(false)

    /// Validates `settings`, opens the outboxes and starts connecting for `streams` (more streams are opened on
    /// their first result). Waits up to `connectWait` seconds for the broker and logs one warning if it is not
    /// reachable by then.
    public init(
        settings: MQTTSettings, streams: [String] = [], logger: Logger = Logger(label: "vlm.mqtt"),
        thumbnails: (any ThumbnailProviding)? = nil, connectWait: Double = 2
    ) throws {
        try settings.validate()
        self.settings = settings
        self.session = String(UUID().uuidString.prefix(8)).lowercased()
        self.logger = logger
        self.thumbnails = thumbnails
        for stream in streams { _ = try channel(stream) }
        guard !streams.isEmpty, connectWait > 0 else { return }
        if !waitUntilConnected(timeout: connectWait) {
            let problem = channels.withLock { $0.values.compactMap(\.lastProblem).first }.map { " (\($0))" } ?? ""
            let line =
                "MQTT broker \(settings.broker.redacted) is not reachable\(problem); running anyway, messages wait "
                + "in the outbox \(settings.outboxDirectory) until it is"
            logger.warning("\(line)")
        }
    }

    // MARK: - ResultSink

    /// Publishes one result on its stream's topic (per-frame scores are not published).
    public func consume(_ result: StreamResult) {
        let stream: String
        switch result {
        case .score: return
        case .event(let e): stream = e.stream
        case .caption(let c): stream = c.stream
        case .labels(let l): stream = l.stream
        case .status(let name, _, _): stream = name
        case .answer(let a): stream = a.stream
        }
        do {
            try channel(stream).publish(result)
        } catch {
            logger.error("MQTT: cannot publish for stream \(stream): \(error)")
        }
    }

    /// Flushes every stream's outbox (up to `settings.flushDeadline` seconds), publishes `offline`, disconnects.
    public func finish() {
        let first = finished.withLock { done -> Bool in
            defer { done = true }
            return !done
        }
        guard first else { return }
        let all = channels.withLock { Array($0.values) }
        let deadline = Date().addingTimeInterval(settings.flushDeadline)
        DispatchQueue.concurrentPerform(iterations: all.count) { all[$0].finish(deadline: deadline) }
    }

    // MARK: - Control

    /// Lets `<prefix>/<stream>/queries/set|add|remove` change `controller`'s queries, and keeps the retained
    /// `queries` topic equal to its active set.
    public func attach(stream: String, controller: QueryControlling) throws {
        try channel(stream).attach(controller)
    }

    /// Lets `<prefix>/<stream>/questions/set|add|remove` change the caption stage's standing questions, and keeps
    /// the retained `questions` topic equal to them.
    public func attach(stream: String, questions: any QuestionControlling) throws {
        try channel(stream).attach(questions: questions)
    }

    /// The queries changed by another route (the live web page): republish every attached stream's retained
    /// `queries` topic, as an MQTT control message would have.
    public func announce(queries: [String]) {
        for channel in channels.withLock({ Array($0.values) }) { channel.queriesChanged(queries) }
    }

    // MARK: - Inspection

    /// Counters of one stream's channel (nil for a stream never seen).
    public func statistics(stream: String) -> MQTTStatistics? {
        channels.withLock { $0[stream] }?.statistics()
    }

    /// libmosquitto's last error line for `stream` (e.g. why TLS failed), for diagnostics.
    public func lastProblem(stream: String) -> String? {
        channels.withLock { $0[stream] }?.lastProblem
    }

    /// Waits until every open stream is connected; false on timeout.
    @discardableResult
    public func waitUntilConnected(timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let all = channels.withLock { Array($0.values) }
            if all.allSatisfy({ $0.statistics().connected }) { return true }
            Thread.sleep(forTimeInterval: 0.01)
        }
        return false
    }

    /// Waits until the broker acknowledged `stream`'s control subscriptions; false on timeout.
    @discardableResult
    public func waitUntilControllable(stream: String, timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if statistics(stream: stream)?.controlSubscribed == true { return true }
            Thread.sleep(forTimeInterval: 0.01)
        }
        return false
    }

    /// Waits until every stream's outbox is empty and nothing is in flight; false on timeout.
    @discardableResult
    public func waitUntilDelivered(timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let all = channels.withLock { Array($0.values) }
            if all.allSatisfy({
                let s = $0.statistics()
                return s.pending == 0 && s.inflight == 0
            }) {
                return true
            }
            Thread.sleep(forTimeInterval: 0.01)
        }
        return false
    }

    // MARK: - Channels

    private func channel(_ stream: String) throws -> StreamChannel {
        try channels.withLock { all in
            if let existing = all[stream] { return existing }
            let channel = try StreamChannel(
                stream: stream, settings: settings, session: session, logger: logger, thumbnails: thumbnails)
            try channel.start()
            all[stream] = channel
            return channel
        }
    }
}
