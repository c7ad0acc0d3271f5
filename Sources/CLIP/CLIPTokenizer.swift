import Foundation
import VLMCore

/// CLIP's byte-level BPE tokenizer, loaded from a Hugging Face checkpoint's `vocab.json` and `merges.txt`.
///
/// Mirrors the tokenizer transformers 5 builds by default for CLIP (`CLIPTokenizer`, the `tokenizers` backend):
/// special tokens are matched on the raw text first, then each remaining segment is normalised (NFC, every
/// whitespace run → one space, lowercase), split with CLIP's pattern
/// `<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+`, mapped byte by
/// byte to printable characters (GPT-2's `bytes_to_unicode`), and merged by rank with `</w>` marking the end of
/// each word. The result is `[49406] + ids + [49407]`, truncated to `contextLength` with the end token kept.
///
/// It differs from openai/CLIP's `simple_tokenizer.py` only where that one runs `ftfy.fix_text` and
/// `html.unescape` first (e.g. `&amp;` stays three tokens here, as in transformers).
///
/// Thread-safe: the vocabulary is immutable and the word cache is behind a lock.
public final class CLIPTokenizer: Sendable {
    /// `<|startoftext|>`.
    public let startToken: Int32
    /// `<|endoftext|>`.
    public let endToken: Int32
    /// Longest output, start and end tokens included (CLIP's text context, 77).
    public let contextLength: Int
    /// Number of entries in `vocab.json`.
    public var vocabularySize: Int { vocabulary.count }

    let vocabulary: [String: Int32]
    /// Merge rank of each pair, keyed by `left + " " + right` (the line of merges.txt).
    let ranks: [String: Int]
    let cache = WordCache()

    // MARK: - Loading

    /// Loads `vocab.json` and `merges.txt` from a checkpoint directory.
    public convenience init(directory: URL, contextLength: Int = 77) throws {
        try self.init(
            vocabularyFile: directory.appendingPathComponent("vocab.json"),
            mergesFile: directory.appendingPathComponent("merges.txt"),
            contextLength: contextLength
        )
    }

    /// Loads a vocabulary (`{"token": id}`) and a merges list (`#version` header, then `left right` per line).
    public init(vocabularyFile: URL, mergesFile: URL, contextLength: Int = 77) throws {
        precondition(contextLength >= 2, "contextLength must leave room for the start and end tokens")
        let vocabData: Data
        do { vocabData = try Data(contentsOf: vocabularyFile) } catch {
            throw CLIPLoadError(
                file: vocabularyFile.path,
                "cannot read the tokenizer vocabulary; check the model directory or run `vlm-stream models pull`")
        }
        guard let json = try? JSONSerialization.jsonObject(with: vocabData) as? [String: Any] else {
            throw CLIPLoadError(file: vocabularyFile.path, "expected a JSON object of token → id")
        }
        var vocabulary: [String: Int32] = [:]
        vocabulary.reserveCapacity(json.count)
        for (token, value) in json {
            guard let id = (value as? NSNumber)?.int32Value else {
                throw CLIPLoadError(file: vocabularyFile.path, "token \"\(token)\" has no integer id")
            }
            vocabulary[token] = id
        }
        guard let start = vocabulary["<|startoftext|>"], let end = vocabulary["<|endoftext|>"] else {
            throw CLIPLoadError(file: vocabularyFile.path, "no <|startoftext|> / <|endoftext|> tokens")
        }
        let mergesText: String
        do { mergesText = try String(contentsOf: mergesFile, encoding: .utf8) } catch {
            throw CLIPLoadError(
                file: mergesFile.path,
                "cannot read the tokenizer merges; check the model directory or run `vlm-stream models pull`")
        }
        var ranks: [String: Int] = [:]
        ranks.reserveCapacity(vocabulary.count)
        for line in mergesText.split(separator: "\n", omittingEmptySubsequences: true) {
            if line.hasPrefix("#version") { continue }
            let parts = line.split(separator: " ")
            guard parts.count == 2 else {
                throw CLIPLoadError(file: mergesFile.path, "line \"\(line)\" is not a pair")
            }
            let key = "\(parts[0]) \(parts[1])"
            if ranks[key] == nil { ranks[key] = ranks.count }
        }
        guard !ranks.isEmpty else { throw CLIPLoadError(file: mergesFile.path, "no merges") }
        self.vocabulary = vocabulary
        self.ranks = ranks
        self.startToken = start
        self.endToken = end
        self.contextLength = contextLength
    }

    // MARK: - Encoding

    /// Token ids of `text`: start token, BPE ids, end token; at most `contextLength`, never padded.
    public func encode(_ text: String) -> [Int32] {
        var ids: [Int32] = [startToken]
        let limit = contextLength - 1
        outer: for segment in Self.splitSpecialTokens(text) {
            switch segment {
            case .special(let token):
                if let id = vocabulary[token] { ids.append(id) }
            case .text(let raw):
                for piece in Self.preTokenize(Self.normalize(raw)) {
                    for id in bpeIDs(piece) {
                        guard ids.count < limit else { break outer }
                        ids.append(id)
                    }
                }
            }
            if ids.count >= limit { break }
        }
        if ids.count > limit { ids.removeLast(ids.count - limit) }
        ids.append(endToken)
        return ids
    }

    /// `encode` for each text.
    public func encode(_ texts: [String]) -> [[Int32]] { texts.map { encode($0) } }
}
