import Foundation
import VLMCore

extension StreamChannel {
    // MARK: - Standing questions

    /// Starts taking `questions/set|add|remove` for this stream and publishes the retained `questions` topic.
    func attach(questions controller: any QuestionControlling) {
        let connected = state.withLock { s -> Bool in
            s.questions = controller
            return s.connected
        }
        guard connected else { return }  // `connected(_:)` subscribes and announces on (re)connect
        subscribeQuestions()
        state.withLock { s in announceQuestions(controller.activeQuestions, front: false, &s) }
    }

    /// Subscribes (QoS 1) to the three question topics.
    func subscribeQuestions() {
        for action in ControlRequest.Action.allCases {
            do {
                try client.subscribe("\(topic)/questions/\(action.rawValue)", qos: 1)
            } catch {
                logger.warning("MQTT subscribe failed: \(error)", metadata: ["stream": "\(stream)"])
            }
        }
    }

    /// Validates and applies one question message (control queue); the new questions are asked from the next
    /// caption trigger on. A refusal (bad payload, a question the model cannot take) goes to `errors`.
    func handleQuestions(_ message: MQTTMessage, action: ControlRequest.Action) {
        guard let controller = state.withLock({ $0.questions }) else { return }
        let active: [String]
        do {
            active = try QuestionRequest.parse(message.payload, action: action).apply(to: controller)
        } catch {
            reject(message, reason: "\(error)")
            return
        }
        logger.info(
            "MQTT control: questions \(action.rawValue) → \(active.count) standing", metadata: ["stream": "\(stream)"])
        state.withLock { s in
            s.stats.controlAccepted += 1
            announceQuestions(active, front: false, &s)
        }
    }

    /// Publishes the standing questions on the retained `questions` topic.
    func announceQuestions(_ questions: [String], front: Bool, _ s: inout State) {
        let payload = PayloadEncoder.encode(header("questions", &s), Payload.Questions(questions: questions))
        enqueue(
            "questions", qos: max(1, settings.qos), retained: true, durable: false, front: front, &s, payload: payload)
    }
}
