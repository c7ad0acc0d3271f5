import Foundation
import VLMCore

// MARK: - Byte-level BPE

extension CLIPTokenizer {
    /// GPT-2's `bytes_to_unicode`: printable bytes map to themselves, the other 68 to U+0100 upwards, so every
    /// byte string is a string of printable characters.
    static let byteToUnicode: [Character] = {
        var printable = Array(0x21...0x7E) + Array(0xA1...0xAC) + Array(0xAE...0xFF)
        var codes = printable
        var extra = 0
        for b in 0..<256 where !printable.contains(b) {
            printable.append(b)
            codes.append(256 + extra)
            extra += 1
        }
        var table = [Character](repeating: " ", count: 256)
        for (b, c) in zip(printable, codes) { table[b] = Character(Unicode.Scalar(UInt32(c))!) }
        return table
    }()

    /// The ids of one pre-tokenised piece (its UTF-8 bytes as byte-level characters, `</w>` on the last one).
    func bpeIDs(_ piece: [Unicode.Scalar]) -> [Int32] {
        var word = String.UnicodeScalarView()
        word.append(contentsOf: piece)
        let key = String(word)
        if let cached = cache.lookup(key) { return cached }
        let symbols = Array(key.utf8).map { String(Self.byteToUnicode[Int($0)]) }
        let merged = merge(symbols)
        let unknown = endToken  // transformers' CLIP unk_token is <|endoftext|>
        let ids = merged.map { vocabulary[$0] ?? unknown }
        cache.store(key, ids)
        return ids
    }

    /// Repeatedly merges the adjacent pair of lowest rank (every occurrence, left to right) until no pair of the
    /// word is in merges.txt. `symbols` are single byte-level characters; the last gets the `</w>` suffix.
    func merge(_ characters: [String]) -> [String] {
        guard var last = characters.last else { return [] }
        last += "</w>"
        var word = characters
        word[word.count - 1] = last
        if word.count == 1 { return word }
        while word.count > 1 {
            var best = Int.max
            var bestIndex = -1
            for i in 0..<(word.count - 1) {
                if let rank = ranks[word[i] + " " + word[i + 1]], rank < best {
                    best = rank
                    bestIndex = i
                }
            }
            guard bestIndex >= 0 else { break }
            let first = word[bestIndex]
            let second = word[bestIndex + 1]
            var next: [String] = []
            next.reserveCapacity(word.count - 1)
            var i = 0
            while i < word.count {
                if i < word.count - 1, word[i] == first, word[i + 1] == second {
                    next.append(first + second)
                    i += 2
                } else {
                    next.append(word[i])
                    i += 1
                }
            }
            word = next
        }
        return word
    }
}

/// A bounded word → ids cache shared by all callers of one tokenizer.
final class WordCache: Sendable {
    private let words = Locked<[String: [Int32]]>([:])
    private let capacity = 50_000

    func lookup(_ word: String) -> [Int32]? { words.withLock { $0[word] } }

    func store(_ word: String, _ ids: [Int32]) {
        words.withLock { words in
            if words.count >= capacity { words.removeAll(keepingCapacity: true) }
            words[word] = ids
        }
    }
}
