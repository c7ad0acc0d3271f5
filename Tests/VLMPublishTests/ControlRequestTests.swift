import Foundation
import Testing
import VLMPublish

@Suite struct ControlRequestTests {
    @Test func acceptsQueriesTrimmedAndDeduplicated() throws {
        let request = try ControlRequest.parse(
            Array(#"{"queries": [" person ", "red car", "person"]}"#.utf8), action: .set)
        #expect(request.queries == ["person", "red car"])
        let cleared = try ControlRequest.parse(Array(#"{"queries": []}"#.utf8), action: .set)
        #expect(cleared.queries.isEmpty)
    }

    @Test(arguments: [
        ("", "empty"),
        ("[1,2]", "must be a JSON object"),
        ("{\"queries\": \"person\"}", "array of strings"),
        ("{\"queries\": [1]}", "not a string"),
        ("{\"queries\": [true]}", "not a string"),
        ("{\"queries\": [null]}", "not a string"),
        ("{\"queries\": [\"a\"], \"x\": 1}", "unknown field 'x'"),
        ("{\"query\": [\"a\"]}", "unknown field"),
        ("{}", "missing"),
        ("{\"queries\": [[\"a\"]]}", "deeper"),
        ("{\"queries\": [\"   \"]}", "is empty"),
        ("{\"queries\": [\"a\\u0000b\"]}", "control characters"),
        ("{\"queries\": [\"a\"", "not valid JSON"),
        ("nonsense", "not valid JSON"),
    ])
    func rejectsMalformed(payload: String, expected: String) {
        #expect {
            _ = try ControlRequest.parse(Array(payload.utf8), action: .set)
        } throws: { error in
            "\(error)".contains(expected)
        }
    }

    @Test func rejectsHostileSizes() {
        let huge = "{\"queries\": [\"" + String(repeating: "a", count: 10_000) + "\"]}"
        #expect(throws: ControlRequest.Rejection.tooLarge(bytes: huge.utf8.count, limit: 8192)) {
            try ControlRequest.parse(Array(huge.utf8), action: .set)
        }
        let long = "{\"queries\": [\"" + String(repeating: "é", count: 201) + "\"]}"
        #expect(throws: ControlRequest.Rejection.queryTooLong(index: 0, limit: 200)) {
            try ControlRequest.parse(Array(long.utf8), action: .set)
        }
        let many = "{\"queries\": [" + (0..<33).map { "\"q\($0)\"" }.joined(separator: ",") + "]}"
        #expect(throws: ControlRequest.Rejection.tooManyQueries(count: 33, limit: 32)) {
            try ControlRequest.parse(Array(many.utf8), action: .set)
        }
        let deep = String(repeating: "[", count: 100_000)
        #expect(throws: ControlRequest.Rejection.tooLarge(bytes: 100_000, limit: 8192)) {
            try ControlRequest.parse(Array(deep.utf8), action: .set)
        }
        #expect(throws: ControlRequest.Rejection.tooDeep(limit: 2)) {
            try ControlRequest.parse(Array(String(repeating: "[", count: 3000).utf8), action: .set)
        }
        #expect(throws: ControlRequest.Rejection.invalidUTF8) {
            try ControlRequest.parse([0x7B, 0xFF, 0xFE, 0x7D], action: .set)
        }
        #expect(throws: ControlRequest.Rejection.noQueries) {
            try ControlRequest.parse(Array(#"{"queries": []}"#.utf8), action: .add)
        }
    }

    @Test func nestingDepthIgnoresBracketsInStrings() {
        #expect(ControlRequest.nestingDepth(Array(#"{"queries": ["[[[{{{", "\"]]"]}"#.utf8)) == 2)
    }
}
