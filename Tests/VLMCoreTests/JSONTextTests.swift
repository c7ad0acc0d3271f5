import Foundation
import Testing
import VLMCore

/// `JSONText.string`, which every hand-built JSON line (CLI and pipeline) uses for its strings.
@Suite("JSON string literals")
struct JSONTextTests {
    @Test(
        "quotes, backslashes, control characters and non-ASCII round-trip through a JSON parser",
        arguments: ["", "plain", "say \"hi\"", #"C:\path\to"#, "tab\there\nnewline\r", "\u{01}\u{1f}", "café 🚶 横断"])
    func roundTrip(text: String) throws {
        let literal = JSONText.string(text)
        let parsed = try JSONSerialization.jsonObject(with: Data("[\(literal)]".utf8)) as? [String]
        #expect(parsed == [text])
        #expect(!literal.unicodeScalars.contains { $0.value < 0x20 }, "raw control character in \(literal)")
    }
}
