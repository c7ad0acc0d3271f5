import Foundation
import VLMCore

/// The JSON documents vlm-stream publishes. Each carries `schema` (`vlm-stream.<kind>.v<N>`), described by
/// `Configs/schemas/<kind>.json`; `seq` counts the messages of one kind of one stream in this run (1, 2, ...) and
/// `session` names the run, so a subscriber can detect gaps and duplicates.
///
/// Events, captions, labels and status are VLMCore's result types in their one encoding (`ResultJSON`: snake_case,
/// the same keys as `--json`); the types here are only what MQTT alone publishes.
enum Payload {
    /// The schema version of every payload kind. v2: snake_case keys throughout (`sent_at`, `start_pts`,
    /// `peak_score`, `payload_bytes`, ...), matching the JSON Lines output.
    static let version = 2

    /// `vlm-stream.<kind>.v<version>`.
    static func schema(_ kind: String) -> String { "vlm-stream.\(kind).v\(version)" }

    /// Common fields of every document.
    struct Header: Encodable {
        var schema: String
        var stream: String
        var session: String
        var seq: Int
        var sentAt: String

        enum CodingKeys: String, CodingKey {
            case schema, stream, session, seq
            case sentAt = "sent_at"
        }
    }

    /// An event with, under `--mqtt-thumbnails`, the JPEG of its peak frame.
    struct Event: Encodable {
        var event: QueryEvent
        var thumbnail: Thumbnail?

        enum CodingKeys: String, CodingKey { case thumbnail }

        func encode(to encoder: Encoder) throws {
            try event.encode(to: encoder)
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encodeIfPresent(thumbnail, forKey: .thumbnail)
        }
    }

    struct Thumbnail: Encodable {
        var format = "jpeg"
        var width: Int
        var height: Int
        var pts: Double
        var data: String

        enum CodingKeys: String, CodingKey { case format, width, height, pts, data }

        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(format, forKey: .format)
            try c.encode(width, forKey: .width)
            try c.encode(height, forKey: .height)
            try c.encode(ResultJSON.number(pts), forKey: .pts)
            try c.encode(data, forKey: .data)
        }
    }

    struct Queries: Encodable {
        var queries: [String]
    }

    /// The standing questions (retained `questions` topic).
    struct Questions: Encodable {
        var questions: [String]
    }

    /// A reply on the requester's topic to a question from `<prefix>/<stream>/ask`: `pts` and `answer`, or `error`.
    struct AskReply: Encodable {
        var question: String?
        var requestID: String?
        var pts: Double?
        var answer: String?
        var error: String?

        enum CodingKeys: String, CodingKey {
            case question, pts, answer, error
            case requestID = "request_id"
        }
    }

    struct ControlError: Encodable {
        var topic: String
        var error: String
        var payloadBytes: Int

        enum CodingKeys: String, CodingKey {
            case topic, error
            case payloadBytes = "payload_bytes"
        }
    }

    struct Stats: Encodable {
        var uptimeSeconds: Double
        var connected: Bool
        var reconnects: Int
        var published: Int
        var dropped: Int
        var discardedQoS0: Int
        var outboxPending: Int
        var outboxRecovered: Int
        var inflight: Int
        var events: Int
        var captions: Int
        var labels: Int
        var controlAccepted: Int
        var controlRejected: Int

        enum CodingKeys: String, CodingKey {
            case connected, reconnects, published, dropped, inflight, events, captions, labels
            case uptimeSeconds = "uptime_seconds", discardedQoS0 = "discarded_qos0", outboxPending = "outbox_pending"
            case outboxRecovered = "outbox_recovered", controlAccepted = "control_accepted"
            case controlRejected = "control_rejected"
        }
    }
}

// MARK: - Encoding

/// A payload body with the common header fields merged in, so every message is one flat JSON object.
struct Document<Body: Encodable>: Encodable {
    var header: Payload.Header
    var body: Body

    func encode(to encoder: Encoder) throws {
        try body.encode(to: encoder)
        try header.encode(to: encoder)  // last: the header's `stream` is the topic's, whatever the body says
    }
}

enum PayloadEncoder {
    /// The JSON bytes of a document, in the one result encoding (`ResultJSON`: keys sorted, numbers finite).
    static func encode<Body: Encodable>(_ header: Payload.Header, _ body: Body) -> [UInt8] {
        ResultJSON.bytes(Document(header: header, body: body))
    }

    /// Now, as ISO 8601 with milliseconds (UTC).
    static func timestamp(_ date: Date = Date()) -> String {
        date.ISO8601Format(.iso8601WithTimeZone(includingFractionalSeconds: true))
    }
}
