import Foundation

/// BERT's uncased WordPiece tokenizer, identical to transformers' `BertTokenizerFast` over a `vocab.txt`
/// (bert-base-uncased's, as GIT uses): special tokens matched in the raw text, then `BertNormalizer` (control
/// characters dropped, whitespace to spaces, spaces around CJK ideographs, NFD with non-spacing marks dropped,
/// lower case), `BertPreTokenizer` (split on whitespace and punctuation), greedy longest-match WordPiece with `##`
/// continuations ([UNK] for a word that does not split or is longer than 100 characters), and `[CLS] … [SEP]`.
public struct WordPieceTokenizer: Sendable {
    /// Token (its UTF-8 bytes: matched exactly, as the tokenizers library does, not up to Unicode canonical
    /// equivalence as Swift's String equality would) → id, from vocab.txt (line n is id n).
    let vocabulary: [[UInt8]: Int]
    /// Bytes of the longest token: no longer candidate can match, so the greedy search starts there.
    let longestToken: Int
    /// Id → token.
    public let tokens: [String]
    /// Ids of [PAD], [UNK], [CLS], [SEP], [MASK] (those present).
    public let specialIDs: Set<Int>
    let specialTokens: [(text: [Unicode.Scalar], id: Int)]
    public let unknownID: Int
    public let clsID: Int
    public let sepID: Int
    /// `max_input_chars_per_word`.
    public var maxCharactersPerWord = 100

    /// Reads `vocab.txt` (one token per line). Throws `GITLoadError` naming the file when it cannot be used.
    public init(vocabularyFile url: URL) throws {
        guard let text = try? String(contentsOf: url, encoding: .utf8) else {
            throw GITLoadError(file: url.path, "cannot be read as UTF-8 text; expected BERT's vocab.txt")
        }
        var lines = text.components(separatedBy: "\n")
        if lines.last == "" { lines.removeLast() }
        try self.init(tokens: lines.map { $0.hasSuffix("\r") ? String($0.dropLast()) : $0 }, file: url.path)
    }

    /// A tokenizer over `tokens` (id order).
    public init(tokens: [String], file: String = "vocab.txt") throws {
        var vocabulary: [[UInt8]: Int] = [:]
        for (id, token) in tokens.enumerated() where vocabulary[Array(token.utf8)] == nil {
            vocabulary[Array(token.utf8)] = id
        }
        func id(_ token: String) throws -> Int {
            guard let id = vocabulary[Array(token.utf8)] else {
                throw GITLoadError(file: file, "has no \(token) token; expected BERT's WordPiece vocab.txt")
            }
            return id
        }
        self.vocabulary = vocabulary
        self.longestToken = vocabulary.keys.map(\.count).max() ?? 0
        self.tokens = tokens
        unknownID = try id("[UNK]")
        clsID = try id("[CLS]")
        sepID = try id("[SEP]")
        let special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"].compactMap { t in
            vocabulary[Array(t.utf8)].map { (t, $0) }
        }
        specialIDs = Set(special.map(\.1))
        specialTokens = special.map { (Array($0.0.unicodeScalars), $0.1) }
    }

    /// The id of `token`, if the vocabulary has it.
    public func id(for token: String) -> Int? { vocabulary[Array(token.utf8)] }

    /// `tokenizer(text)["input_ids"]`: [CLS] + pieces + [SEP] (without them when `addSpecialTokens` is false).
    public func encode(_ text: String, addSpecialTokens: Bool = true) -> [Int] {
        var ids: [Int] = addSpecialTokens ? [clsID] : []
        for segment in splitSpecialTokens(Array(text.unicodeScalars)) {
            switch segment {
            case .special(let id): ids.append(id)
            case .text(let scalars):
                for word in Self.preTokenize(Self.normalize(scalars)) { ids += wordPiece(word) }
            }
        }
        if addSpecialTokens { ids.append(sepID) }
        return ids
    }

    // MARK: - Special tokens in the raw text

    enum Segment {
        case text([Unicode.Scalar])
        case special(Int)
    }

    /// Splits out exact occurrences of the special tokens (matched before normalisation, as added tokens are).
    func splitSpecialTokens(_ scalars: [Unicode.Scalar]) -> [Segment] {
        var segments: [Segment] = []
        var start = 0
        var i = 0
        while i < scalars.count {
            if scalars[i] == "[",
                let match = specialTokens.first(where: { token in
                    i + token.text.count <= scalars.count && Array(scalars[i..<(i + token.text.count)]) == token.text
                })
            {
                if start < i { segments.append(.text(Array(scalars[start..<i]))) }
                segments.append(.special(match.id))
                i += match.text.count
                start = i
            } else {
                i += 1
            }
        }
        if start < scalars.count { segments.append(.text(Array(scalars[start...]))) }
        return segments
    }

    // MARK: - WordPiece

    /// Greedy longest-match-first pieces of one word; [UNK] alone when some part matches nothing.
    func wordPiece(_ word: [Unicode.Scalar]) -> [Int] {
        guard word.count <= maxCharactersPerWord else { return [unknownID] }
        var pieces: [Int] = []
        var start = 0
        while start < word.count {
            // A candidate has at least one byte per scalar, so one of more than `longestToken` scalars is in no
            // vocabulary: start from there (the same pieces as from the word's end, without the cubic cost of
            // 100-character words).
            var end = min(word.count, start + longestToken)
            var found: Int?
            while start < end {
                var piece: [UInt8] = start > 0 ? [0x23, 0x23] : []  // "##"
                for scalar in word[start..<end] { piece.append(contentsOf: scalar.utf8) }
                if let id = vocabulary[piece] {
                    found = id
                    break
                }
                end -= 1
            }
            guard let id = found else { return [unknownID] }
            pieces.append(id)
            start = end
        }
        return pieces
    }
}
