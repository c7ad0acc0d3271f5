import Foundation
import VLMCore

/// A standing-question control message from `<prefix>/<stream>/questions/set|add|remove`, validated strictly: the
/// questions `--ask` sets, changed while the stream runs.
///
/// Accepted payload (see `Configs/schemas/question-control.json`): a JSON object with exactly one key,
/// `questions`, an array of at most `maxQuestions` strings, each trimmed, non-empty, at most `maxCharacters`
/// code points and free of control characters. Size, UTF-8 and nesting are checked on the raw bytes before parsing.
/// Whether the caption model can take a question (its length in tokens) is the controller's check.
public struct QuestionRequest: Sendable, Equatable {
    /// Bounds a question payload must stay within.
    public struct Limits: Sendable {
        /// Largest payload accepted, checked before parsing.
        public var maxPayloadBytes = 8192
        /// Most questions in one message and standing at once (each is answered on every caption trigger).
        public var maxQuestions = 8
        /// Longest question, in Unicode code points.
        public var maxCharacters = 300

        /// The default limits.
        public init() {}
    }

    /// Why a payload was refused; `description` is the text published on the `errors` topic.
    public enum Rejection: Error, Equatable, CustomStringConvertible {
        case tooLarge(bytes: Int, limit: Int)
        case empty
        case invalidUTF8
        case tooDeep
        case notJSON
        case notAnObject
        case unknownField(String)
        case missingQuestions
        case notAnArray
        case notAString(index: Int)
        case tooMany(count: Int, limit: Int)
        case emptyQuestion(index: Int)
        case tooLong(index: Int, limit: Int)
        case controlCharacter(index: Int)
        case noQuestions

        /// The reason as published on `errors`.
        public var description: String {
            switch self {
            case .tooLarge(let bytes, let limit): return "payload is \(bytes) bytes; the limit is \(limit)"
            case .empty: return "payload is empty; send {\"questions\": [\"is the door open?\"]}"
            case .invalidUTF8: return "payload is not valid UTF-8"
            case .tooDeep: return "JSON nests deeper than 2 levels; send {\"questions\": [\"...\"]}"
            case .notJSON: return "payload is not valid JSON"
            case .notAnObject: return "payload must be a JSON object {\"questions\": [...]}"
            case .unknownField(let name): return "unknown field '\(name)'; only 'questions' is accepted"
            case .missingQuestions: return "field 'questions' is missing"
            case .notAnArray: return "'questions' must be an array of strings"
            case .notAString(let i): return "questions[\(i)] is not a string"
            case .tooMany(let count, let limit): return "\(count) questions; at most \(limit) are allowed"
            case .emptyQuestion(let i): return "questions[\(i)] is empty; ask something, e.g. \"is the door open?\""
            case .tooLong(let i, let limit): return "questions[\(i)] is longer than \(limit) characters"
            case .controlCharacter(let i): return "questions[\(i)] contains control characters"
            case .noQuestions: return "'questions' is empty; send at least one question to add or remove"
            }
        }
    }

    /// Replace the standing questions, add to them, or remove some (the queries' actions).
    public var action: ControlRequest.Action
    /// Trimmed, de-duplicated, in the order given.
    public var questions: [String]

    /// Validates `payload` for `action`; throws the first `Rejection` found.
    public static func parse(
        _ payload: [UInt8], action: ControlRequest.Action, limits: Limits = Limits()
    ) throws -> QuestionRequest {
        guard payload.count <= limits.maxPayloadBytes else {
            throw Rejection.tooLarge(bytes: payload.count, limit: limits.maxPayloadBytes)
        }
        guard !payload.isEmpty else { throw Rejection.empty }
        guard String(bytes: payload, encoding: .utf8) != nil else { throw Rejection.invalidUTF8 }
        guard ControlRequest.nestingDepth(payload) <= 2 else { throw Rejection.tooDeep }
        guard let document = ControlRequest.json(payload) else { throw Rejection.notJSON }
        guard let object = document as? [String: Any] else { throw Rejection.notAnObject }
        if let unknown = object.keys.sorted().first(where: { $0 != "questions" }) {
            throw Rejection.unknownField(String(unknown.prefix(40)))
        }
        guard let value = object["questions"] else { throw Rejection.missingQuestions }
        guard let array = value as? [Any] else { throw Rejection.notAnArray }
        guard array.count <= limits.maxQuestions else {
            throw Rejection.tooMany(count: array.count, limit: limits.maxQuestions)
        }
        var questions: [String] = []
        for (index, element) in array.enumerated() {
            guard let raw = element as? String, !(element is NSNumber) else { throw Rejection.notAString(index: index) }
            let question = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !question.isEmpty else { throw Rejection.emptyQuestion(index: index) }
            guard question.unicodeScalars.count <= limits.maxCharacters else {
                throw Rejection.tooLong(index: index, limit: limits.maxCharacters)
            }
            guard !ControlRequest.hasControlCharacters(question) else {
                throw Rejection.controlCharacter(index: index)
            }
            if !questions.contains(question) { questions.append(question) }
        }
        if action != .set && questions.isEmpty { throw Rejection.noQuestions }
        return QuestionRequest(action: action, questions: questions)
    }

    /// Applies this request to `controller` (the caption stage); returns the standing questions afterwards.
    /// Throws `Rejection.tooMany` when an `add` would leave more than `limits.maxQuestions`, or the controller's
    /// error (a question the model cannot take); nothing changes then.
    @discardableResult
    public func apply(to controller: any QuestionControlling, limits: Limits = Limits()) throws -> [String] {
        switch action {
        case .set:
            try controller.setQuestions(questions)
        case .add:
            let active = controller.activeQuestions
            let added = active + questions.filter { !active.contains($0) }
            guard added.count <= limits.maxQuestions else {
                throw Rejection.tooMany(count: added.count, limit: limits.maxQuestions)
            }
            try controller.setQuestions(added)
        case .remove:
            try controller.setQuestions(controller.activeQuestions.filter { !questions.contains($0) })
        }
        return controller.activeQuestions
    }
}
