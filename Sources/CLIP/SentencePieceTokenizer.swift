import Foundation
import SentencePiece

/// SigLIP's and SigLIP 2's tokenizers over the real SentencePiece library, with the text handling transformers 5
/// adds around it, padded to the context length (64) as the models were trained and their cards require.
///
/// **SigLIP** (`spiece.model`, transformers' `SiglipTokenizer`): the text gets a leading `▁`, is split on the
/// special tokens (`</s>`, `<unk>`; whitespace next to them is dropped), and each other segment is canonicalised
/// (lower-cased, ASCII punctuation removed, whitespace runs → one space, stripped) and encoded after an `<unk>`
/// prefix that is then removed (the model has no dummy prefix). A leading lone `▁` before a special token is
/// dropped. Then `</s>` is appended, the ids are truncated to 63 + `</s>` and padded with the pad id (`</s>`).
///
/// **SigLIP 2** (`tokenizer.model`, transformers' `GemmaTokenizer`): split on `<unk>` and the control pieces (Gemma's
/// `<pad>`, `<eos>`, `<bos>`, `<mask>`, `<start_of_turn>`, `<unused…>`), which transformers 5 makes added tokens as
/// it does the user-defined pieces (whitespace runs, HTML tags) that SentencePiece keeps whole by itself; each
/// segment encoded as it is (lower-cased first only when tokenizer_config.json names `Siglip2Tokenizer`); `<bos>`
/// and `<eos>` added as `add_bos_token`/`add_eos_token` say, truncated to leave room for them, and padded with
/// `<pad>` on the side `padding_side` names (where the config leaves a flag out, see `TokenizerOptions`).
///
/// Thread-safe: immutable after loading.
public final class SentencePieceTokenizer: TextTokenizing {
    /// Which transformers tokenizer this mirrors.
    public enum Flavor: String, Sendable {
        /// `SiglipTokenizer` (`spiece.model`).
        case siglip
        /// `GemmaTokenizer` (`tokenizer.model`), SigLIP 2.
        case gemma
    }

    /// The flavour, from the model file's name.
    public let flavor: Flavor
    /// Output length (ids are padded to it).
    public let contextLength: Int
    /// Number of pieces.
    public var vocabularySize: Int { processor.vocabularySize }
    /// The model file's name (`spiece.model` or `tokenizer.model`).
    public var file: String { flavor == .siglip ? "spiece.model" : "tokenizer.model" }
    let processor: SentencePieceProcessor
    let specials: SpecialTokens
    let lowercase: Bool
    let bos: Int32?
    let eos: Int32?
    let pad: Int32
    let padLeft: Bool
    let unknownPrefix: (text: String, pieces: Int)

    /// Loads `spiece.model` (SigLIP) or `tokenizer.model` (SigLIP 2) and tokenizer_config.json from `directory`.
    public init(directory: URL, contextLength: Int = 64) throws {
        let fm = FileManager.default
        let spiece = directory.appendingPathComponent("spiece.model")
        let gemma = directory.appendingPathComponent("tokenizer.model")
        let file: URL
        if fm.fileExists(atPath: spiece.path) {
            (flavor, file) = (.siglip, spiece)
        } else if fm.fileExists(atPath: gemma.path) {
            (flavor, file) = (.gemma, gemma)
        } else {
            throw CLIPLoadError(
                file: spiece.path,
                "not found (nor tokenizer.model); a SigLIP checkpoint needs its SentencePiece tokenizer model")
        }
        guard contextLength >= 2 else {
            throw CLIPLoadError(file: "config.json", "max_position_embeddings \(contextLength) leaves no room for text")
        }
        self.contextLength = contextLength
        let processor = try SentencePieceProcessor(contentsOf: file)
        self.processor = processor
        let options = try TokenizerOptions(directory: directory, flavor: flavor)
        func id(_ token: String, _ role: String) throws -> Int32 {
            let id = processor.id(of: token)
            guard id != processor.unknownID || token == options.unk else {
                throw CLIPLoadError(file: file.path, "has no piece \"\(token)\" for the \(role) token")
            }
            return id
        }
        let unk = try id(options.unk, "unknown")
        eos = options.addEOS ? try id(options.eos, "end") : nil
        bos = options.addBOS ? try id(options.bos, "start") : nil
        pad = try id(options.pad, "padding")
        var specials: [(text: String, id: Int32)] = [(options.unk, unk), (options.eos, try id(options.eos, "end"))]
        if flavor == .gemma {
            specials += [(options.bos, try id(options.bos, "start")), (options.pad, pad)]
            // transformers 5 makes every control and user-defined piece an added token and splits text on them
            // first. SentencePiece keeps a user-defined piece whole wherever it occurs (so the ids are the same), but
            // never matches a control piece in text.
            for piece in 0..<Int32(processor.vocabularySize) where processor.isControl(piece) {
                if let text = processor.piece(of: piece) { specials.append((text, piece)) }
            }
        }
        self.specials = SpecialTokens(specials)
        lowercase = options.lowercase
        padLeft = options.padLeft
        unknownPrefix = (options.unk, try processor.encode(options.unk).count)
    }

    // MARK: - Encoding

    /// The ids of `text`: special tokens, truncation and padding as transformers' tokenizer with
    /// `padding="max_length", max_length=64, truncation=True`; always `contextLength` ids.
    public func encode(_ text: String) throws -> [Int32] {
        var ids: [Int32] = []
        let room = contextLength - (bos == nil ? 0 : 1) - (eos == nil ? 0 : 1)
        switch flavor {
        case .siglip:
            let segments = Self.split("▁" + text.replacingOccurrences(of: "▁", with: " "), on: specials, strip: true)
            var pieces: [(id: Int32, special: Bool)] = []
            // Only the first `room` ids are kept; later segments cannot change them once two more exist (the rules
            // below drop at most a leading "▁" and a final </s>), so a long prompt full of special tokens costs
            // `room` segments, not thousands of processor calls.
            for segment in segments where pieces.count < room + 2 {
                switch segment {
                case .special(let id): pieces.append((id, true))
                case .text(let part):
                    // encode "<unk>" + text and drop the pieces of "<unk>" (the model has no dummy prefix)
                    let encoded = try processor.encode(
                        unknownPrefix.text + Self.canonicalize(part, lowercase: lowercase))
                    let kept = encoded.count >= unknownPrefix.pieces ? encoded.dropFirst(unknownPrefix.pieces) : [][...]
                    pieces += kept.map { ($0, false) }
                }
            }
            // transformers drops a lone leading "▁" that comes before a special token
            if pieces.count > 1, !pieces[0].special, pieces[1].special, processor.piece(of: pieces[0].id) == "▁" {
                pieces.removeFirst()
            }
            ids = pieces.map(\.id)
        case .gemma:
            for segment in Self.split(text, on: specials, strip: false) where ids.count < room {
                switch segment {
                case .special(let id): ids.append(id)
                case .text(let part): ids += try processor.encode(lowercase ? Self.lowercased(part) : part)
                }
            }
        }
        if flavor == .siglip, let eos, ids.last == eos {
            ids.removeLast()  // SiglipTokenizer adds </s> only when it is not already there
        }
        ids = Array(ids.prefix(room))
        if let bos { ids.insert(bos, at: 0) }
        if let eos { ids.append(eos) }
        let padding = Array(repeating: pad, count: contextLength - ids.count)
        return padLeft ? padding + ids : ids + padding
    }

    enum Segment {
        case text(String)
        case special(Int32)
    }

    /// Splits `text` at every occurrence of a special token's text (transformers' added-token trie: code points, not
    /// grapheme clusters, and the longest match wins at each position). With `strip` (SigLIP's tokens are
    /// lstrip/rstrip AddedTokens) the whitespace on both sides of a special token is dropped.
    static func split(_ text: String, on specials: SpecialTokens, strip: Bool) -> [Segment] {
        let scalars = Array(text.unicodeScalars)
        var segments: [Segment] = []
        var current = String.UnicodeScalarView()
        var afterSpecial = false
        func flush() {
            var part = String(current)
            if strip && afterSpecial { part = Self.strip(part, leading: true) }
            current = String.UnicodeScalarView()
            if !part.isEmpty { segments.append(.text(part)) }
        }
        var i = 0
        while i < scalars.count {
            if let special = specials.longestMatch(in: scalars, at: i) {
                if strip { current = Self.strip(String(current), leading: false).unicodeScalars }
                flush()
                segments.append(.special(special.id))
                afterSpecial = true
                i += special.length
            } else {
                current.append(scalars[i])
                i += 1
            }
        }
        flush()
        return segments
    }
}

/// The special tokens text is split on, indexed by their first code point (a Gemma model has hundreds).
struct SpecialTokens {
    private let byFirst: [Unicode.Scalar: [(scalars: [Unicode.Scalar], id: Int32)]]

    /// `tokens` in order of precedence: of two with the same code points, the first keeps them; empty texts are
    /// dropped.
    init(_ tokens: [(text: String, id: Int32)]) {
        var seen = Set<[Unicode.Scalar]>()
        var byFirst: [Unicode.Scalar: [(scalars: [Unicode.Scalar], id: Int32)]] = [:]
        for token in tokens {
            let scalars = Array(token.text.unicodeScalars)
            guard let first = scalars.first, seen.insert(scalars).inserted else { continue }
            byFirst[first, default: []].append((scalars, token.id))
        }
        // Longest first, so one special token that contains another wins.
        self.byFirst = byFirst.mapValues { $0.sorted { $0.scalars.count > $1.scalars.count } }
    }

    /// The longest special token at `scalars[i...]`: its id and length in code points.
    func longestMatch(in scalars: [Unicode.Scalar], at i: Int) -> (id: Int32, length: Int)? {
        guard let candidates = byFirst[scalars[i]] else { return nil }
        for candidate in candidates where candidate.scalars.count <= scalars.count - i {
            if scalars[i..<(i + candidate.scalars.count)].elementsEqual(candidate.scalars) {
                return (candidate.id, candidate.scalars.count)
            }
        }
        return nil
    }
}
