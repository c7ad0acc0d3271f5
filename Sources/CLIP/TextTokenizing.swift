import Foundation

/// Turns a prompt into the token ids a text tower takes (special ids and any padding included).
public protocol TextTokenizing: Sendable {
    /// Number of ids the tokenizer can produce.
    var vocabularySize: Int { get }
    /// The ids of `text`, at most the tower's context length.
    func encode(_ text: String) throws -> [Int32]
}

extension CLIPTokenizer: TextTokenizing {}

/// The tokenizer of a checkpoint directory, chosen by the files it has: `vocab.json` + `merges.txt` (CLIP's BPE),
/// `spiece.model` (SigLIP) or `tokenizer.model` (SigLIP 2's Gemma tokenizer).
public enum TokenizerLoader {
    /// Loads the tokenizer for a tower with `contextLength` positions; throws a one-line error naming the file.
    public static func load(directory: URL, family: CLIPConfig.ModelFamily, contextLength: Int) throws
        -> any TextTokenizing
    {
        switch family {
        case .clip: try CLIPTokenizer(directory: directory, contextLength: contextLength)
        case .siglip: try SentencePieceTokenizer(directory: directory, contextLength: contextLength)
        }
    }

    /// The tokenizer of a checkpoint, reading config.json for its family and context length.
    public static func load(directory: URL) throws -> any TextTokenizing {
        let config = try CLIPConfig.load(from: directory.appendingPathComponent("config.json"))
        return try load(
            directory: directory, family: config.family, contextLength: config.text.maxPositionEmbeddings)
    }
}
