import Testing

@testable import VLMPublish

/// `AskRequest.parse`: the one-off question payload of `<prefix>/<stream>/ask`, checked as strictly as queries.
struct AskRequestTests {
    @Test func acceptsAQuestionAndAnOptionalRequestID() throws {
        let plain = try AskRequest.parse(Array(#"{"question": "  is the door open?\n"}"#.utf8))
        #expect(plain == AskRequest(question: "is the door open?", requestID: nil))
        let tagged = try AskRequest.parse(Array(#"{"request_id": "r-1", "question": "¿está abierta?"}"#.utf8))
        #expect(tagged == AskRequest(question: "¿está abierta?", requestID: "r-1"))
    }

    @Test(arguments: [
        (Array(repeating: UInt8(ascii: " "), count: 5000), "5000 bytes"),
        ([0xFF, 0xFE], "not valid UTF-8"),
        (Array("[[[[1]]]]".utf8), "must be a JSON object"),
        (Array(#"{"question": {"a": 1}}"#.utf8), "must be a JSON object"),
        (Array(#"["question"]"#.utf8), "must be a JSON object"),
        (Array("{".utf8), "not valid JSON"),
        (Array(#"{"question": true}"#.utf8), "'question' must be a string"),
        (Array(#"{"question": "a\u0007b"}"#.utf8), "control characters"),
        (Array(#"{"question": "a", "request_id": ""}"#.utf8), "'request_id' is empty"),
        (Array(#"{"question": "a", "request_id": 5}"#.utf8), "'request_id' must be a string"),
        (Array(#"{"question": "a", "reply_to": "x"}"#.utf8), "unknown field 'reply_to'"),
        (Array("{}".utf8), "'question' is missing"),
    ])
    func refusesWithOneReason(payload: [UInt8], reason: String) {
        #expect {
            try AskRequest.parse(payload)
        } throws: { error in
            "\(error)".contains(reason)
        }
    }
}
