import Foundation
import VLMCore

/// The JSON documents vlm-stream publishes. Each carries `schema` (`vlm-stream.<kind>.v<N>`), described by
/// `Configs/schemas/<kind>.json`; `seq` counts the messages of one kind of one stream in this run (1, 2, ...) and
/// `session` names the run, so a subscriber can detect gaps and duplicates.
enum Payload {
    /// Common fields of every document.
    struct Header: Encodable {
        var schema: String
        var stream: String
        var session: String
        var seq: Int
        var sentAt: String
    }

    struct Event: Encodable {
        var type: String
        var query: String
        var startPTS: Double
        var endPTS: Double?
        var peakScore: Double
        var peakPTS: Double
        var box: Box?
        var thumbnail: ThumbnailJSON?
    }

    struct ThumbnailJSON: Encodable {
        var format = "jpeg"
        var width: Int
        var height: Int
        var pts: Double
        var data: String
    }

    struct CaptionDoc: Encodable {
        var startPTS: Double
        var endPTS: Double
        var text: String
        var score: Double
    }

    struct Labels: Encodable {
        var pts: Double
        var labels: [FrameLabels.Label]
    }

    struct Status: Encodable {
        var state: String
        var detail: String?
    }

    struct Queries: Encodable {
        var queries: [String]
    }

    struct ControlError: Encodable {
        var topic: String
        var error: String
        var payloadBytes: Int
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
    }
}

// MARK: - Encoding

/// A payload body with the common header fields merged in, so every message is one flat JSON object.
struct Document<Body: Encodable>: Encodable {
    var header: Payload.Header
    var body: Body

    func encode(to encoder: Encoder) throws {
        try header.encode(to: encoder)
        try body.encode(to: encoder)
    }
}

enum PayloadEncoder {
    /// The JSON bytes of a document (keys sorted, so payloads are stable for tests and diffing).
    static func encode<Body: Encodable>(_ header: Payload.Header, _ body: Body) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Bodies pass numbers through `finite`, so this only guards against a future field that forgets.
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return Array((try? encoder.encode(Document(header: header, body: body))) ?? Data("{}".utf8))
    }

    /// Now, as ISO 8601 with milliseconds (UTC).
    static func timestamp(_ date: Date = Date()) -> String {
        date.ISO8601Format(.iso8601WithTimeZone(includingFractionalSeconds: true))
    }
}

/// `value`, or 0 when it is NaN or infinite (JSON has no such numbers).
func finite(_ value: Double) -> Double { value.isFinite ? value : 0 }
