import Foundation
import SentencePiece
import TestSupport
import Testing

/// The libsentencepiece wrapper: loading, round trips, and files that are not SentencePiece models.
@Suite("SentencePiece")
struct SentencePieceTests {
    static let model = Fixtures.url("tiny-siglip/spiece.model")

    @Test("encodes, decodes and maps pieces")
    func roundTrip() throws {
        let sp = try SentencePieceProcessor(contentsOf: Self.model)
        #expect(sp.vocabularySize > 100)
        let ids = try sp.encode("a photo of a cat")
        #expect(!ids.isEmpty)
        let pieces = try sp.encodeAsPieces("a photo of a cat")
        #expect(pieces.count == ids.count)
        #expect(pieces.map { sp.id(of: $0) } == ids)
        #expect(ids.compactMap { sp.piece(of: $0) } == pieces)
        #expect(try sp.decode(ids) == "a photo of a cat")
        #expect(sp.piece(of: -1) == nil)
        #expect(sp.piece(of: Int32(sp.vocabularySize)) == nil)
        #expect(throws: SentencePieceError.self) { try sp.decode([Int32(sp.vocabularySize)]) }
    }

    @Test("a file that is not a SentencePiece model gets one line naming it")
    func notAModel() throws {
        for name in ["config.json", "model.safetensors"] {
            let url = Fixtures.url("tiny-clip/\(name)")
            let error = try #require(throws: SentencePieceError.self) { try SentencePieceProcessor(contentsOf: url) }
            #expect(error.description.hasPrefix(url.path + ": "))
            #expect(!error.description.contains("\n"))
        }
        let missing = Fixtures.url("no-such.model")
        let error = try #require(throws: SentencePieceError.self) { try SentencePieceProcessor(contentsOf: missing) }
        #expect(error.description.contains("no-such.model"))
        #expect(throws: SentencePieceError.self) { try SentencePieceProcessor(bytes: Data(), name: "empty") }
    }
}
