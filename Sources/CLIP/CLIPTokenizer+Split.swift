import Foundation

// MARK: - Special tokens, normalisation, pre-tokenisation

extension CLIPTokenizer {
    /// A run of raw text, or one special token found verbatim in it.
    enum Segment: Equatable {
        case text(Substring)
        case special(String)
    }

    static let specialTokens = ["<|startoftext|>", "<|endoftext|>"]

    /// Splits out the special tokens, matched case-sensitively on the raw text before normalisation
    /// (as `tokenizers`' added-vocabulary pass does).
    static func splitSpecialTokens(_ text: String) -> [Segment] {
        guard text.contains("<|") else { return [.text(text[...])] }
        var segments: [Segment] = []
        var rest = text[...]
        while !rest.isEmpty {
            var earliest: (Range<Substring.Index>, String)?
            for token in specialTokens {
                if let range = rest.range(of: token), range.lowerBound < (earliest?.0.lowerBound ?? rest.endIndex) {
                    earliest = (range, token)
                }
            }
            guard let (range, token) = earliest else {
                segments.append(.text(rest))
                break
            }
            if range.lowerBound > rest.startIndex { segments.append(.text(rest[rest.startIndex..<range.lowerBound])) }
            segments.append(.special(token))
            rest = rest[range.upperBound...]
        }
        return segments
    }

    /// `tokenizers`' normaliser for CLIP: NFC, `\s+` → `" "`, lowercase (per scalar, like Rust's
    /// `char::to_lowercase`, no context-sensitive final sigma).
    static func normalize(_ text: Substring) -> [Unicode.Scalar] {
        let composed = String(text).precomposedStringWithCanonicalMapping
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(composed.unicodeScalars.count)
        var inWhitespace = false
        for scalar in composed.unicodeScalars {
            if scalar.properties.isWhitespace {
                if !inWhitespace { out.append(" ") }
                inWhitespace = true
                continue
            }
            inWhitespace = false
            if scalar.properties.changesWhenLowercased {
                out.append(contentsOf: scalar.properties.lowercaseMapping.unicodeScalars)
            } else {
                out.append(scalar)
            }
        }
        return out
    }

    enum ScalarClass { case space, letter, number, other }

    @inline(__always)
    static func classify(_ s: Unicode.Scalar) -> ScalarClass {
        if s.value < 0x80 {
            switch s.value {
            case 0x61...0x7A, 0x41...0x5A: return .letter
            case 0x30...0x39: return .number
            case 0x09...0x0D, 0x20: return .space
            default: return .other
            }
        }
        if s.properties.isWhitespace { return .space }
        switch s.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return .letter
        case .decimalNumber, .letterNumber, .otherNumber: return .number
        default: return .other
        }
    }

    static let contractions: [[Unicode.Scalar]] = ["s", "t", "re", "ve", "m", "ll", "d"].map {
        Array($0.unicodeScalars)
    }

    /// CLIP's split pattern, leftmost alternative first:
    /// `<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+`; whitespace
    /// between matches is dropped. A lowercased `<|startoftext|>` piece is further split by the byte-level
    /// pre-tokeniser's GPT-2 pattern into `<|`, `startoftext`, `|>`, which is what the letter/other rules give.
    static func preTokenize(_ scalars: [Unicode.Scalar]) -> [[Unicode.Scalar]] {
        var pieces: [[Unicode.Scalar]] = []
        var i = 0
        let n = scalars.count
        while i < n {
            let s = scalars[i]
            switch classify(s) {
            case .space:
                i += 1
            case .letter:
                var j = i + 1
                while j < n, classify(scalars[j]) == .letter { j += 1 }
                pieces.append(Array(scalars[i..<j]))
                i = j
            case .number:
                pieces.append([s])
                i += 1
            case .other:
                if s == "'", let length = contractionLength(scalars, at: i) {
                    pieces.append(Array(scalars[i..<i + length]))
                    i += length
                    continue
                }
                if s == "<", let length = specialPieceLength(scalars, at: i) {
                    // "<|", "startoftext", "|>" (GPT-2 re-split of the whole special piece).
                    pieces.append(["<", "|"])
                    pieces.append(Array(scalars[i + 2..<i + length - 2]))
                    pieces.append(["|", ">"])
                    i += length
                    continue
                }
                var j = i + 1
                while j < n, classify(scalars[j]) == .other { j += 1 }
                pieces.append(Array(scalars[i..<j]))
                i = j
            }
        }
        return pieces
    }

    static func contractionLength(_ scalars: [Unicode.Scalar], at i: Int) -> Int? {
        for suffix in contractions {
            guard i + 1 + suffix.count <= scalars.count else { continue }
            if Array(scalars[i + 1..<i + 1 + suffix.count]) == suffix { return 1 + suffix.count }
        }
        return nil
    }

    static func specialPieceLength(_ scalars: [Unicode.Scalar], at i: Int) -> Int? {
        for token in specialTokens {
            let t = Array(token.unicodeScalars)
            if i + t.count <= scalars.count, Array(scalars[i..<i + t.count]) == t { return t.count }
        }
        return nil
    }
}
