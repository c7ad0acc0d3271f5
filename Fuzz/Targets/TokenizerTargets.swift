import CLIP
import Foundation
import GIT
import SentencePiece

/// Tokenizers loaded once from the fixtures, for the encode-arbitrary-text halves of the targets.
private enum Loaded {
    static let bpe = try? CLIPTokenizer(directory: fixture("tiny-clip"))
    static let wordPiece = try? WordPieceTokenizer(vocabularyFile: fixture("tiny-git/vocab.txt"))
    static let sigLIP = try? SentencePieceTokenizer(directory: fixture("tiny-siglip"))
    static let gemma = try? SentencePieceTokenizer(directory: fixture("tiny-siglip2"))
    /// Gemma's piece types: control `<mask>`, `<start_of_turn>`…, user-defined newline runs and HTML tags.
    static let gemmaPieces = try? SentencePieceTokenizer(directory: fixture("gemma-tokenizer"))
    static let gemmaModel = try? Data(contentsOf: fixture("gemma-tokenizer/tokenizer.model"))
}

/// Loads the fixture tokenizers before libFuzzer starts its clock (their loading is not an input's work).
func loadTokenizerFixtures() {
    _ = (Loaded.bpe, Loaded.wordPiece, Loaded.sigLIP, Loaded.gemma, Loaded.gemmaPieces, Loaded.gemmaModel)
}

/// CLIP's BPE: an even first byte encodes the rest as text with the fixture vocabulary; an odd one loads
/// `vocab.json` NUL `merges.txt` NUL text from the input and encodes the text with it.
func fuzzBPETokenizer(_ bytes: [UInt8]) {
    guard let mode = bytes.first else { return }
    let rest = Array(bytes.dropFirst())
    if mode & 1 == 0 {
        guard let tokenizer = Loaded.bpe else { fatalError("cannot load Tests/Fixtures/tiny-clip (run from the repository root)") }
        _ = tokenizer.encode(rest.text)
        return
    }
    let parts = rest.parts(3)
    let directory = Scratch.emptyDirectory("bpe")
    Scratch.file("vocab.json", parts[0], in: directory)
    Scratch.file("merges.txt", parts[1], in: directory)
    guard let tokenizer = try? CLIPTokenizer(directory: directory, contextLength: 2 + Int(mode >> 1)) else { return }
    _ = tokenizer.encode(parts[2].text)
}

/// GIT's WordPiece: an even first byte encodes the rest with the fixture `vocab.txt` and decodes ids made from the
/// input; an odd one loads `vocab.txt` NUL text from the input.
func fuzzWordPiece(_ bytes: [UInt8]) {
    guard let mode = bytes.first else { return }
    let rest = Array(bytes.dropFirst())
    if mode & 1 == 0 {
        guard let tokenizer = Loaded.wordPiece else { fatalError("cannot load Tests/Fixtures/tiny-git/vocab.txt") }
        _ = tokenizer.encode(rest.text, addSpecialTokens: mode & 2 == 0)
        let ids = stride(from: 0, to: rest.count - 1, by: 2).map { Int(rest[$0]) << 8 | Int(rest[$0 + 1]) }
        _ = tokenizer.decode(ids.map { mode & 4 == 0 ? $0 : -$0 })
        return
    }
    let parts = rest.parts(2)
    let url = Scratch.file("vocab.txt", parts[0])
    guard let tokenizer = try? WordPieceTokenizer(vocabularyFile: url) else { return }
    _ = tokenizer.encode(parts[1].text)
}

/// SentencePiece through our wrapper: mode 0/1 encode the rest with the SigLIP / SigLIP 2 fixture tokenizers (mode 1
/// with bit 2 set: the Gemma-pieces one); mode 2 loads the rest as a model (`SentencePieceProcessor(bytes:)`) and
/// encodes, decodes and looks up pieces; mode 3 loads a checkpoint directory of `spiece.model` NUL
/// `tokenizer_config.json` NUL text, or with bit 2 set one of the Gemma fixture's `tokenizer.model` beside
/// `tokenizer_config.json` NUL `tokenizer.json` NUL text from the input (the flags transformers 5 reads there).
func fuzzSentencePiece(_ bytes: [UInt8]) {
    guard let mode = bytes.first else { return }
    let rest = Array(bytes.dropFirst())
    switch mode & 3 {
    case 0, 1:
        guard let tokenizer = mode & 3 == 0 ? Loaded.sigLIP : mode & 4 == 0 ? Loaded.gemma : Loaded.gemmaPieces else {
            fatalError("cannot load Tests/Fixtures/tiny-siglip / tiny-siglip2 / gemma-tokenizer")
        }
        _ = try? tokenizer.encode(rest.text)
    case 2:
        guard let processor = try? SentencePieceProcessor(bytes: Data(rest)) else { return }
        _ = try? processor.encode("a photo of a cat, 42 ünïcödé")
        _ = try? processor.encodeAsPieces("a photo")
        let ids = rest.prefix(16).map { Int32(Int8(bitPattern: $0)) * 1000 + Int32($0) }
        _ = try? processor.decode(ids)
        for id in ids { _ = processor.piece(of: id); _ = processor.isControl(id) }
        _ = processor.id(of: rest.prefix(8).map { $0 }.text)
    case _ where mode & 4 != 0:
        guard let model = Loaded.gemmaModel else { fatalError("cannot read Tests/Fixtures/gemma-tokenizer") }
        let parts = rest.parts(3)
        let directory = Scratch.emptyDirectory("gemma")
        Scratch.file("tokenizer.model", [UInt8](model), in: directory)
        Scratch.file("tokenizer_config.json", parts[0], in: directory)
        Scratch.file("tokenizer.json", parts[1], in: directory)
        guard let tokenizer = try? SentencePieceTokenizer(directory: directory, contextLength: 2 + Int(mode >> 3))
        else { return }
        _ = try? tokenizer.encode(parts[2].text)
    default:
        let parts = rest.parts(3)
        let directory = Scratch.emptyDirectory("spiece")
        Scratch.file("spiece.model", parts[0], in: directory)
        Scratch.file("tokenizer_config.json", parts[1], in: directory)
        guard let tokenizer = try? SentencePieceTokenizer(directory: directory, contextLength: 2 + Int(mode >> 2))
        else { return }
        _ = try? tokenizer.encode(parts[2].text)
    }
}
