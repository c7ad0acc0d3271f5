import Foundation
import TestSupport
import Testing
import VLMPublish

/// `questions/set|add|remove` payloads: what `QuestionRequest.parse` accepts matches `question-control.json`, and
/// each refusal names what is wrong.
@Suite struct QuestionRequestTests {
    static func parse(_ text: String, _ action: ControlRequest.Action = .add) throws -> QuestionRequest {
        try QuestionRequest.parse(Array(text.utf8), action: action)
    }

    @Test func acceptedPayloadsAreTrimmedDeduplicatedAndMatchTheSchema() throws {
        let schema = try JSONSchema.load("question-control")
        let text = #"{"questions": ["  is the door open? ", "is the door open?", "what color is the car?"]}"#
        #expect(schema.failures(try JSONValue.parse(text)).isEmpty)
        let request = try Self.parse(text)
        #expect(request.questions == ["is the door open?", "what color is the car?"])
        #expect(try Self.parse(#"{"questions": []}"#, .set).questions.isEmpty)
    }

    @Test func refusalsNameTheProblem() throws {
        let cases: [(String, ControlRequest.Action, QuestionRequest.Rejection)] = [
            ("", .add, .empty),
            ("[1]", .add, .notAnObject),
            ("nope", .add, .notJSON),
            (#"{"questions": ["a"], "x": 1}"#, .add, .unknownField("x")),
            (#"{"q": 1}"#, .add, .unknownField("q")),
            (#"{}"#, .add, .missingQuestions),
            (#"{"questions": "a"}"#, .set, .notAnArray),
            (#"{"questions": [1]}"#, .add, .notAString(index: 0)),
            (#"{"questions": ["a", " "]}"#, .add, .emptyQuestion(index: 1)),
            (#"{"questions": ["a\u0007b"]}"#, .add, .controlCharacter(index: 0)),
            (#"{"questions": []}"#, .remove, .noQuestions),
            ("{\"questions\": [\"\(String(repeating: "é", count: 301))\"]}", .add, .tooLong(index: 0, limit: 300)),
            (
                "{\"questions\": [\(Array(repeating: "\"a\"", count: 9).joined(separator: ","))]}", .set,
                .tooMany(count: 9, limit: 8)
            ),
            (#"{"questions": [["a"]]}"#, .add, .tooDeep),
            (#"{"questions": [{"a": 1}]}"#, .add, .tooDeep),
        ]
        for (text, action, expected) in cases {
            #expect(throws: expected, "\(text)") { try Self.parse(text, action) }
        }
        let big = "{\"questions\": [\"\(String(repeating: "a", count: 9000))\"]}"
        #expect(throws: QuestionRequest.Rejection.tooLarge(bytes: big.utf8.count, limit: 8192)) {
            try Self.parse(big)
        }
        #expect(throws: QuestionRequest.Rejection.invalidUTF8) {
            try QuestionRequest.parse([0x7B, 0xFF, 0x7D], action: .add)
        }
    }
}
