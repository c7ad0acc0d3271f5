import Foundation
import TestSupport
import Testing

@Suite struct SchemaTests {
    static let kinds = [
        "event", "caption", "labels", "status", "queries", "stats", "error", "control", "questions", "question-control",
    ]

    @Test(arguments: kinds) func schemaFilesLoadWithOnlyCheckedKeywords(kind: String) throws {
        _ = try JSONSchema.load(kind)
    }

    @Test func validatorCatchesWhatTheSchemasForbid() throws {
        let schema = try JSONSchema.load("labels")
        let good = try JSONValue.parse(
            #"{"schema":"vlm-stream.labels.v2","stream":"cam","session":"ab12","seq":1,"sent_at":"2026-01-01T00:00:00.000Z","pts":1.5,"labels":[{"label":"a dog","probability":0.7}]}"#
        )
        #expect(schema.failures(good).isEmpty)
        let bad = try JSONValue.parse(
            #"{"schema":"vlm-stream.labels.v1","stream":"","session":"ab12","seq":1.5,"sent_at":"x","pts":-1,"labels":[{"label":3,"probability":2}],"extra":true}"#
        )
        let reasons = schema.failures(bad).map(\.description).joined(separator: "\n")
        for expected in [
            "/schema", "/stream", "/seq", "/sent_at", "/pts", "/labels/0/label", "unknown property 'extra'",
        ] {
            #expect(reasons.contains(expected), "\(expected) not reported in:\n\(reasons)")
        }
    }

    @Test func validatorRefusesKeywordsItDoesNotCheck() throws {
        #expect(throws: JSONSchema.Failure.self) {
            try JSONSchema(try JSONValue.parse(#"{"type":"object","oneOf":[]}"#))
        }
    }

    @Test func parserIsStrict() {
        for text in ["{\"a\":1,}", "[01]", "\"\\x\"", "{\"a\" 1}", "nul", "[1] 2"] {
            #expect(throws: JSONValue.ParseError.self) { try JSONValue.parse(text) }
        }
    }
}
