import Foundation
import GIT
import TestSupport
import Testing

/// The WordPiece tokenizer against BertTokenizerFast on a mixed corpus (tiny-git-golden/tokenizer.json).
@Suite("WordPiece tokenizer matches BertTokenizerFast")
struct TokenizerTests {
    static let tokenizer = try? WordPieceTokenizer(vocabularyFile: Fixtures.url("tiny-git/vocab.txt"))

    static func goldens() throws -> [String: [[String: Any]]] {
        let data = try Data(contentsOf: GITGolden.directory.appendingPathComponent("tokenizer.json"))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: [[String: Any]]])
    }

    @Test("encode gives the same ids, decode the same text")
    func encode() throws {
        let tokenizer = try #require(Self.tokenizer)
        let cases = try #require(try Self.goldens()["encode"])
        #expect(cases.count > 50)
        for entry in cases {
            let text = try #require(entry["text"] as? String)
            let ids = try #require(entry["ids"] as? [Int])
            #expect(tokenizer.encode(text) == ids, "\(text.debugDescription)")
            #expect(tokenizer.decode(ids) == entry["decoded"] as? String, "decode of \(text.debugDescription)")
        }
    }

    @Test("decode of random ids matches")
    func decode() throws {
        let tokenizer = try #require(Self.tokenizer)
        for entry in try #require(try Self.goldens()["decode"]) {
            let ids = try #require(entry["ids"] as? [Int])
            #expect(tokenizer.decode(ids) == entry["decoded"] as? String, "\(ids)")
        }
    }

    @Test("a vocabulary without [UNK] is refused with its file name")
    func badVocabulary() throws {
        let directory = try Fixtures.temporaryDirectory()
        let file = directory.appendingPathComponent("vocab.txt")
        try "hello\nworld\n".write(to: file, atomically: true, encoding: .utf8)
        #expect(throws: GITLoadError.self) { try WordPieceTokenizer(vocabularyFile: file) }
    }
}
