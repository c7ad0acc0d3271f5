import Foundation
import GIT
import TestSupport
import Testing
import VLMCore

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

    /// Found by the wordpiece-tokenizer fuzz target: a 156-byte input of `x` runs took 168 ms in the sanitised build
    /// (the greedy search built every candidate from the word's end: cubic in the word's length). It now starts
    /// at the longest token's length; the pieces must equal the plain greedy search's.
    @Test("long words give the pieces of the plain longest-match-first search")
    func longWords() throws {
        let tokenizer = try #require(Self.tokenizer)
        let tokens = try String(contentsOf: Fixtures.url("tiny-git/vocab.txt"), encoding: .utf8)
            .split(separator: "\n").map(String.init)
        let vocabulary = Dictionary(tokens.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        func plainGreedy(_ word: String) -> [Int] {
            let scalars = Array(word.unicodeScalars)
            var pieces: [Int] = []
            var start = 0
            while start < scalars.count {
                var end = scalars.count
                var found: Int?
                while start < end {
                    var piece = String(String.UnicodeScalarView(scalars[start..<end]))
                    if start > 0 { piece = "##" + piece }
                    if let id = vocabulary[piece] {
                        found = id
                        break
                    }
                    end -= 1
                }
                guard let id = found else { return [tokenizer.unknownID] }
                pieces.append(id)
                start = end
            }
            return pieces
        }
        var rng = SplitMix64(seed: 11)
        let alphabet = Array("etaoinshrdlucmxyz")
        for length in [1, 7, 30, 64, 99, 100] {
            for _ in 0..<5 {
                let word = String((0..<length).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] })
                let ids = tokenizer.encode(word, addSpecialTokens: false)
                #expect(ids == plainGreedy(word), "\(word)")
            }
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
