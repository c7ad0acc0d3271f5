import Dispatch
import Foundation
import Logging
import VLMCore

/// One-off questions over MQTT: a robot publishes `{"question": "is the door open?"}` to `<prefix>/<stream>/ask`
/// and gets the caption model's answer about that stream's latest frame.
///
/// The reply goes where the requester asked:
/// - MQTT 5: to the message's Response Topic, with its Correlation Data echoed (`mosquitto_rr` works as is);
/// - MQTT 3.1.1 (no properties): to `<prefix>/<stream>/ask/reply`, with the payload's `request_id` echoed.
///
/// Replies are `vlm-stream.ask-reply` documents (`Configs/schemas/ask-reply.json`): the answer and the time of the
/// frame it is about, or the reason it was refused. This service has its own connection, `<clientID>-ask`, on MQTT 5
/// with a clean session: a question asked while vlm-stream is offline is not kept for later, since its answer would
/// be about a frame the robot no longer sees. Questions are answered one at a time, after the caption in progress;
/// at most `maxWaiting` wait, and more are refused at once ("busy") rather than queued without bound.
public final class MQTTAskService: Sendable {
    /// Questions waiting for the model, beyond which new ones are refused.
    public static let maxWaiting = 8

    private let settings: MQTTSettings
    private let session: String
    /// The stream each `<prefix>/<stream>/ask` topic belongs to (names may contain '/', so topics are not split).
    private let streams: [String: String]
    private let answerer: any LatestFrameAnswering
    private let logger: Logger
    private let client: Locked<MQTTClient?> = Locked(nil)
    private let queue = DispatchQueue(label: "vlm.mqtt.ask")
    private let state = Locked((waiting: 0, sequence: [String: Int]()))

    /// Answers `<prefix>/<stream>/ask` for each of `streams` (`session` as the publisher's) with `answerer`.
    public init(
        settings: MQTTSettings, streams: [String], session: String, answerer: any LatestFrameAnswering, logger: Logger
    ) throws {
        self.settings = settings
        self.session = session
        let topics = Dictionary(streams.map { ("\(settings.prefix)/\($0)/ask", $0) }, uniquingKeysWith: { a, _ in a })
        self.streams = topics
        self.answerer = answerer
        self.logger = logger
        let link = Locked(WeakService())
        var handlers = MQTTClient.Handlers()
        handlers.connected = { code in
            guard code == 0, let service = link.current.service else { return }
            for topic in topics.keys.sorted() {
                do {
                    _ = try service.client.current?.subscribe(topic, qos: 1)
                } catch {
                    service.logger.warning("MQTT ask: cannot subscribe to \(topic): \(error)")
                }
            }
        }
        handlers.message = { message in link.current.service?.received(message) }
        let client = try MQTTClient(
            MQTTClient.Configuration(
                clientID: "\(settings.clientID)-ask", cleanSession: true, broker: settings.broker,
                tlsFiles: settings.tlsFiles, keepalive: settings.keepalive, protocolVersion: .v5),
            handlers: handlers)
        self.client.withLock { $0 = client }
        link.withLock { $0.service = self }
        try client.start()
    }

    /// Disconnects; questions still waiting are dropped.
    public func stop() {
        client.withLock { $0 }?.stop()
    }

    // MARK: - Requests

    /// A question arrived (network thread): validate it, then answer it on the service's queue.
    private func received(_ message: MQTTMessage) {
        guard let stream = streams[message.topic] else { return }
        let request: AskRequest
        do {
            if let topic = message.responseTopic, topic.hasPrefix("\(settings.prefix)/") {
                throw ResponseTopicRefused(prefix: settings.prefix)
            }
            request = try AskRequest.parse(message.payload)
        } catch {
            reply(to: message, stream: stream, request: nil, outcome: .failure(error))
            return
        }
        let accepted = state.withLock { s -> Bool in
            guard s.waiting < Self.maxWaiting else { return false }
            s.waiting += 1
            return true
        }
        guard accepted else {
            reply(to: message, stream: stream, request: request, outcome: .failure(Busy()))
            return
        }
        queue.async { [self] in
            defer { state.withLock { $0.waiting -= 1 } }
            let outcome = Result { try answerer.answerLatest(request.question, stream: stream) }
            reply(to: message, stream: stream, request: request, outcome: outcome)
        }
    }

    /// Weak link from libmosquitto's callbacks back to the service (set once, before the client starts).
    private struct WeakService {
        weak var service: MQTTAskService?
    }

    private struct Busy: Error, CustomStringConvertible {
        var description: String { "busy: \(MQTTAskService.maxWaiting) questions are already waiting; ask again later" }
    }

    /// The requester's Response Topic, or `<prefix>/<stream>/ask/reply`. A response topic under this run's prefix
    /// is not used (a requester could otherwise publish replies over the stream's own scene topics): the reply goes
    /// to `ask/reply` and says why (`AskRequest.parse` is never reached for such a message).
    private func destination(_ message: MQTTMessage, stream: String) -> String {
        guard let topic = message.responseTopic, !topic.hasPrefix("\(settings.prefix)/") else {
            return "\(settings.prefix)/\(stream)/ask/reply"
        }
        return topic
    }

    private struct ResponseTopicRefused: Error, CustomStringConvertible {
        var prefix: String
        var description: String { "a response topic under '\(prefix)/' is refused; use a topic of your own" }
    }

    /// Publishes the answer or the refusal where the requester listens (QoS 1, not retained).
    private func reply(
        to message: MQTTMessage, stream: String, request: AskRequest?,
        outcome: Result<(pts: Double, answer: String), any Error>
    ) {
        let (seq, topic) = state.withLock { s -> (Int, String) in
            let seq = (s.sequence[stream] ?? 0) + 1
            s.sequence[stream] = seq
            return (seq, destination(message, stream: stream))
        }
        var body = Payload.AskReply(question: request?.question, requestID: request?.requestID)
        switch outcome {
        case .success(let answer):
            body.pts = answer.pts
            body.answer = answer.answer
        case .failure(let error):
            body.error = "\(error)"
            logger.info("MQTT ask on \(message.topic) refused: \(error)")
        }
        let header = Payload.Header(
            schema: Payload.schema("ask-reply"), stream: stream, session: session, seq: seq,
            sentAt: PayloadEncoder.timestamp())
        let reply = MQTTMessage(
            topic: topic, payload: PayloadEncoder.encode(header, body), qos: 1,
            correlationData: message.correlationData)
        guard let client = client.current, client.publish(reply).accepted else {
            logger.warning("MQTT ask: the reply to \(message.topic) could not be sent")
            return
        }
    }
}
