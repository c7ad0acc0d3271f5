import CLIP
import Foundation
import TestSupport
import Testing

/// `CLIPTokenizer` against transformers' CLIPTokenizer (scripts/golden/make_tokenizer_goldens.py).
@Suite struct TokenizerTests {
    struct Golden: Decodable {
        struct Case: Decodable {
            var text: String
            var ids: [Int32]
        }
        var reference: String
        var cases: [Case]
    }

    static let tokenizer: CLIPTokenizer? = try? CLIPTokenizer(directory: Fixtures.url("tiny-clip"))

    @Test func matchesTransformersOnEveryGolden() throws {
        let tokenizer = try #require(Self.tokenizer)
        let data = try Data(contentsOf: Fixtures.url("tokenizer_goldens.json"))
        let golden = try JSONDecoder().decode(Golden.self, from: data)
        #expect(golden.cases.count > 300)
        var mismatches: [String] = []
        for c in golden.cases {
            let ids = tokenizer.encode(c.text)
            if ids != c.ids { mismatches.append("\(c.text.debugDescription): got \(ids), want \(c.ids)") }
        }
        #expect(
            mismatches.isEmpty,
            "\(mismatches.count) of \(golden.cases.count) differ:\n\(mismatches.prefix(10).joined(separator: "\n"))")
    }

    @Test func knownSentenceAndFraming() throws {
        let tokenizer = try #require(Self.tokenizer)
        #expect(tokenizer.vocabularySize == 49408)
        #expect(tokenizer.encode("a photo of a cat") == [49406, 320, 1125, 539, 320, 2368, 49407])
        #expect(tokenizer.encode("") == [49406, 49407])
        #expect(tokenizer.encode("   \n\t ") == [49406, 49407])
    }

    @Test func longTextIsTruncatedWithEndTokenKept() throws {
        let tokenizer = try #require(Self.tokenizer)
        let ids = tokenizer.encode(String(repeating: "word ", count: 200))
        #expect(ids.count == 77)
        #expect(ids.first == 49406)
        #expect(ids.last == 49407)
        #expect(ids[1..<76].allSatisfy { $0 == ids[1] })
    }

    @Test func cacheGivesSameAnswerTwiceAndAcrossThreads() async throws {
        let tokenizer = try #require(Self.tokenizer)
        let text = "Crème brûlée, 日本語 and 👍🏽 — it's fine!!"
        let first = tokenizer.encode(text)
        let results = await withTaskGroup(of: [Int32].self) { group in
            for _ in 0..<8 { group.addTask { tokenizer.encode(text) } }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results.allSatisfy { $0 == first })
    }

    @Test func missingVocabularyNamesTheFile() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect {
            _ = try CLIPTokenizer(directory: dir)
        } throws: { error in
            "\(error)".contains("vocab.json")
        }
        try Data("{\"a\": 1}".utf8).write(to: dir.appendingPathComponent("vocab.json"))
        #expect {
            _ = try CLIPTokenizer(directory: dir)
        } throws: { error in
            "\(error)".contains("<|startoftext|>")
        }
    }
}
