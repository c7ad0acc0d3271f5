import Foundation
import VLMCore

extension StreamChannel {
    // MARK: - Control topics

    /// Starts taking `queries/set|add|remove` for this stream and publishes the retained `queries` topic.
    func attach(_ controller: QueryControlling) {
        let connected = state.withLock { s -> Bool in
            s.controller = controller
            return s.connected
        }
        guard connected else { return }  // `connected(_:)` subscribes and announces on (re)connect
        subscribeControl()
        state.withLock { s in announceQueries(controller.activeQueries, front: false, &s) }
    }

    /// Subscribes (QoS 1) to the three control topics; the persistent session keeps what arrives while offline.
    func subscribeControl() {
        for action in ControlRequest.Action.allCases {
            do {
                try client.subscribe("\(topic)/queries/\(action.rawValue)", qos: 1)
            } catch {
                logger.warning("MQTT subscribe failed: \(error)", metadata: ["stream": "\(stream)"])
            }
        }
    }

    /// A control message arrived (network thread): queue it for the control queue, refusing floods outright.
    func received(_ message: MQTTMessage) {
        let prefix = "\(topic)/queries/"
        let questionPrefix = "\(topic)/questions/"
        let isQuestion = message.topic.hasPrefix(questionPrefix)
        guard message.topic.hasPrefix(prefix) || isQuestion,
            let action = ControlRequest.Action(
                rawValue: String(message.topic.dropFirst(isQuestion ? questionPrefix.count : prefix.count)))
        else { return }
        let accepted = state.withLock { s -> Bool in
            guard s.controlBacklog < StreamChannel.controlBacklogLimit else { return false }
            s.controlBacklog += 1
            return true
        }
        guard accepted else {
            reject(message, reason: "too many control messages at once; this one was discarded")
            return
        }
        controlQueue.async { [self] in
            defer { state.withLock { $0.controlBacklog -= 1 } }
            if isQuestion {
                handleQuestions(message, action: action)
            } else {
                handle(message, action: action)
            }
        }
    }

    /// Validates and applies one control message; the new set takes effect on the next frame.
    private func handle(_ message: MQTTMessage, action: ControlRequest.Action) {
        guard let controller = state.withLock({ $0.controller }) else { return }
        let request: ControlRequest
        do {
            request = try ControlRequest.parse(message.payload, action: action)
        } catch {
            reject(message, reason: "\(error)")
            return
        }
        let active: [String]
        do {
            active = try request.apply(to: controller)
        } catch {
            reject(message, reason: "\(error)")
            return
        }
        logger.info(
            "MQTT control: queries \(request.action.rawValue) → \(active.count) active",
            metadata: ["stream": "\(stream)"])
        state.withLock { s in
            s.stats.controlAccepted += 1
            announceQueries(active, front: false, &s)
        }
    }

    /// The set changed elsewhere (the live page): announce it if this stream is under control.
    func queriesChanged(_ active: [String]) {
        state.withLock { s in
            guard s.controller != nil else { return }
            announceQueries(active, front: false, &s)
        }
    }

    /// Answers a refused control message on `errors` (QoS 0, so hostile input cannot fill the outbox).
    func reject(_ message: MQTTMessage, reason: String) {
        state.withLock { s in
            s.stats.controlRejected += 1
            let body = Payload.ControlError(
                topic: String(message.topic.prefix(200)), error: reason, payloadBytes: message.payload.count)
            enqueue("errors", qos: 0, durable: false, &s, payload: PayloadEncoder.encode(header("error", &s), body))
        }
    }
}
