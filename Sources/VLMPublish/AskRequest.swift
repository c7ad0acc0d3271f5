import Foundation

/// A one-off question from `<prefix>/<stream>/ask`, validated strictly.
///
/// Accepted payload: `{"question": "...", "request_id": "..."}`, `request_id` optional (a requester on MQTT 3.1.1
/// uses it to match the reply; see `Configs/schemas/ask.json`). Limits are checked on the raw bytes before any JSON
/// parsing, as for `ControlRequest`.
public struct AskRequest: Sendable, Equatable {
    /// Largest payload accepted, checked before parsing.
    public static let maxPayloadBytes = 4096
    /// Longest question and request id, in Unicode code points.
    public static let maxQuestionCharacters = 500
    public static let maxRequestIDCharacters = 128

    /// Why a payload was refused; `description` is the text of the error reply.
    public enum Rejection: Error, Equatable, CustomStringConvertible {
        case tooLarge(bytes: Int)
        case invalidUTF8
        case notJSON
        case notAnObject
        case unknownField(String)
        case missingQuestion
        case badQuestion(String)
        case badRequestID(String)

        public var description: String {
            switch self {
            case .tooLarge(let bytes): "payload is \(bytes) bytes; the limit is \(AskRequest.maxPayloadBytes)"
            case .invalidUTF8: "payload is not valid UTF-8"
            case .notJSON: "payload is not valid JSON; send {\"question\": \"...\"}"
            case .notAnObject: "payload must be a JSON object {\"question\": \"...\"}"
            case .unknownField(let name): "unknown field '\(name)'; only 'question' and 'request_id' are accepted"
            case .missingQuestion: "field 'question' is missing"
            case .badQuestion(let why): "'question' \(why)"
            case .badRequestID(let why): "'request_id' \(why)"
            }
        }
    }

    /// Trimmed.
    public var question: String
    /// Echoed in the reply.
    public var requestID: String?

    /// Validates `payload`; throws the first `Rejection` found.
    public static func parse(_ payload: [UInt8]) throws -> AskRequest {
        guard payload.count <= maxPayloadBytes else { throw Rejection.tooLarge(bytes: payload.count) }
        guard String(bytes: payload, encoding: .utf8) != nil else { throw Rejection.invalidUTF8 }
        guard ControlRequest.nestingDepth(payload) <= 1 else { throw Rejection.notAnObject }
        guard let document = ControlRequest.json(payload) else { throw Rejection.notJSON }
        guard let object = document as? [String: Any] else { throw Rejection.notAnObject }
        if let unknown = object.keys.sorted().first(where: { $0 != "question" && $0 != "request_id" }) {
            throw Rejection.unknownField(String(unknown.prefix(40)))
        }
        guard let value = object["question"] else { throw Rejection.missingQuestion }
        let question = try text(value, limit: maxQuestionCharacters, Rejection.badQuestion)
        let requestID = try object["request_id"].map {
            try text($0, limit: maxRequestIDCharacters, Rejection.badRequestID)
        }
        return AskRequest(question: question, requestID: requestID)
    }

    /// A non-empty string within `limit` code points and without control characters, trimmed.
    private static func text(_ value: Any, limit: Int, _ reject: (String) -> Rejection) throws -> String {
        guard let raw = value as? String, !(value is NSNumber) else { throw reject("must be a string") }
        let text = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty else { throw reject("is empty") }
        guard text.unicodeScalars.count <= limit else { throw reject("is longer than \(limit) characters") }
        guard !ControlRequest.hasControlCharacters(text) else { throw reject("contains control characters") }
        return text
    }
}
