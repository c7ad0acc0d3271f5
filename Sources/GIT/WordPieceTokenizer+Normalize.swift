import Foundation

extension WordPieceTokenizer {
    /// `BertNormalizer(clean_text, handle_chinese_chars, strip_accents = lowercase = true)` in the order the
    /// tokenizers library applies them.
    static func normalize(_ input: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var cleaned: [Unicode.Scalar] = []
        cleaned.reserveCapacity(input.count)
        for c in input {
            // clean_text: drop NUL, U+FFFD and control/format/unassigned/private characters; whitespace → ' '
            if c.value == 0 || c.value == 0xFFFD || isControl(c) { continue }
            if isWhitespace(c) {
                cleaned.append(" ")
            } else if isChinese(c) {
                // handle_chinese_chars: spaces around each CJK ideograph
                cleaned += [" ", c, " "]
            } else {
                cleaned.append(c)
            }
        }
        // strip_accents: NFD, then drop non-spacing marks (Mn); then lowercase (full Unicode mapping)
        let decomposed = String(String.UnicodeScalarView(cleaned)).decomposedStringWithCanonicalMapping
        let stripped = decomposed.unicodeScalars.filter { $0.properties.generalCategory != .nonspacingMark }
        return Array(String(String.UnicodeScalarView(stripped)).lowercased().unicodeScalars)
    }

    /// `BertPreTokenizer`: words split on whitespace (dropped) and punctuation (each its own word).
    static func preTokenize(_ scalars: [Unicode.Scalar]) -> [[Unicode.Scalar]] {
        var words: [[Unicode.Scalar]] = []
        var current: [Unicode.Scalar] = []
        for c in scalars {
            if c.properties.isWhitespace {
                if !current.isEmpty { words.append(current) }
                current = []
            } else if isPunctuation(c) {
                if !current.isEmpty { words.append(current) }
                words.append([c])
                current = []
            } else {
                current.append(c)
            }
        }
        if !current.isEmpty { words.append(current) }
        return words
    }

    /// Tab, newline and carriage return, or Unicode White_Space.
    static func isWhitespace(_ c: Unicode.Scalar) -> Bool {
        c == "\t" || c == "\n" || c == "\r" || c.properties.isWhitespace
    }

    /// General category C (Cc, Cf, Cs, Co, Cn), except tab, newline and carriage return.
    static func isControl(_ c: Unicode.Scalar) -> Bool {
        if c == "\t" || c == "\n" || c == "\r" { return false }
        switch c.properties.generalCategory {
        case .control, .format, .surrogate, .privateUse, .unassigned: return true
        default: return false
        }
    }

    /// ASCII punctuation (which includes $ + < = > ^ ` | ~) or Unicode category P.
    static func isPunctuation(_ c: Unicode.Scalar) -> Bool {
        if c.isASCII,
            (33...47).contains(c.value) || (58...64).contains(c.value) || (91...96).contains(c.value)
                || (123...126).contains(c.value)
        {
            return true
        }
        switch c.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation, .initialPunctuation,
            .finalPunctuation, .otherPunctuation:
            return true
        default: return false
        }
    }

    /// The CJK Unified Ideographs blocks BERT spaces out.
    static func isChinese(_ c: Unicode.Scalar) -> Bool {
        switch c.value {
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F, 0x2B740...0x2B81F,
            0x2B920...0x2CEAF, 0xF900...0xFAFF, 0x2F800...0x2FA1F:
            return true
        default: return false
        }
    }

    // MARK: - Decoding

    /// `decode(ids, skip_special_tokens=True)`: the tokens joined by spaces, `##` continuations glued to the
    /// previous token, and the WordPiece decoder's cleanup (" ." → "." and the like) applied to each token.
    public func decode(_ ids: [Int]) -> String {
        var text = ""
        var first = true
        for id in ids where !specialIDs.contains(id) {
            guard id >= 0, id < tokens.count else { continue }
            var token = tokens[id]
            if !first {
                // by bytes: "##" followed by a combining sign is one Character, so String.hasPrefix would miss it
                token =
                    token.utf8.starts(with: "##".utf8)
                    ? String(decoding: token.utf8.dropFirst(2), as: UTF8.self) : " " + token
            }
            first = false
            text += Self.cleanup(token)
        }
        return text
    }

    /// The tokenizers library's `wordpiece::cleanup`.
    static func cleanup(_ token: String) -> String {
        let replacements = [
            (" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"), (" 'm", "'m"),
            (" do not", " don't"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re"),
        ]
        guard token.contains(" ") else { return token }
        return replacements.reduce(token) { $0.replacingOccurrences(of: $1.0, with: $1.1, options: .literal) }
    }
}
