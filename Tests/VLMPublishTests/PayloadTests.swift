import Foundation
import TestSupport
import Testing
import VLMCore

@testable import VLMPublish

/// MQTT payloads are the results' one encoding (`ResultJSON`, the same as `--json`) plus the header, and validate
/// against the v2 schemas.
@Suite struct PayloadTests {
    let header = Payload.Header(
        schema: Payload.schema("event"), stream: "cam", session: "ab12", seq: 7, sentAt: PayloadEncoder.timestamp())
    let headerKeys: Set = ["schema", "stream", "session", "seq", "sent_at"]

    func keys(_ json: JSONValue) -> [String] {
        guard case .object(let members) = json else { return [] }
        return members.map(\.key)
    }

    @Test func eventsCaptionsAndLabelsCarryTheJSONLinesKeysInSnakeCase() throws {
        let event = QueryEvent(
            type: .end, stream: "cam", query: "a dog", startPTS: 1, endPTS: 2.5, peakScore: 0.123_456_789,
            peakPTS: 2, box: Box(x: 0.5, y: 0, width: 0.5, height: 1 / 3))
        let caption = Caption(stream: "cam", startPTS: 0, endPTS: 4, text: "a dog on a street", score: 0.3)
        let labels = FrameLabels(stream: "cam", pts: 1.5, labels: [.init(label: "dog", probability: 0.7)])
        let answer = Answer(stream: "cam", pts: 2, question: "is the door open?", answer: "no")
        let cases: [(kind: String, result: StreamResult, payload: [UInt8])] = [
            ("event", .event(event), PayloadEncoder.encode(header, Payload.Event(event: event))),
            ("caption", .caption(caption), PayloadEncoder.encode(header, caption)),
            ("labels", .labels(labels), PayloadEncoder.encode(header, labels)),
            ("answer", .answer(answer), PayloadEncoder.encode(header, answer)),
        ]
        for (kind, result, payload) in cases {
            let line = try JSONValue.parse(ResultJSON.line(result))
            var mqtt = try JSONValue.parse(payload)
            // The schema const names the kind; the header is otherwise the same for each.
            if case .object(var members) = mqtt {
                members = members.map { $0.key == "schema" ? ($0.key, .string(Payload.schema(kind))) : $0 }
                mqtt = .object(members)
            }
            #expect(Set(keys(mqtt)) == Set(keys(line)).subtracting(kind == "event" ? [] : ["type"]).union(headerKeys))
            for key in keys(line) where key != "type" || kind == "event" {
                #expect(mqtt[key] == line[key], "\(kind).\(key)")
            }
            #expect(keys(line) == keys(line).sorted(), "keys sorted: \(keys(line))")
            #expect(try JSONSchema.load(kind).failures(mqtt).isEmpty, "\(kind): \(mqtt)")
        }
        let line = try JSONValue.parse(ResultJSON.line(StreamResult.event(event)))
        #expect(keys(line) == ["box", "end_pts", "peak_pts", "peak_score", "query", "start_pts", "stream", "type"])
        #expect(line["peak_score"]?.number == 0.123457)
        #expect(line["box"]?["height"]?.number == 0.333333)
    }

    @Test func numbersJSONCannotHoldAreWrittenAsNull() throws {
        let score = QueryScore(stream: "cam", pts: .nan, query: "x", score: .infinity, cosine: -.infinity)
        let line = try JSONValue.parse(ResultJSON.line(StreamResult.score(score)))
        #expect(line["pts"] == .null && line["score"] == .null && line["cosine"] == .null)
        #expect(line["type"]?.string == "score")
    }

    @Test func statusIsOneObjectWithItsType() throws {
        let line = try JSONValue.parse(ResultJSON.line(StreamResult.status(stream: "cam", state: "ended", detail: nil)))
        #expect(
            line == .object([("state", .string("ended")), ("stream", .string("cam")), ("type", .string("status"))]))
        let status = try JSONValue.parse(
            PayloadEncoder.encode(
                Payload.Header(
                    schema: Payload.schema("status"), stream: "cam", session: "ab12", seq: 3,
                    sentAt: PayloadEncoder.timestamp()),
                StreamStatus(stream: "cam", state: "ended", detail: "end of file")))
        #expect(try JSONSchema.load("status").failures(status).isEmpty, "\(status)")
        #expect(status["schema"]?.string == "vlm-stream.status.v2")
    }
}
