import Foundation

/// The Hugging Face hub cache on disk, in the layout `huggingface_hub` and transformers use:
///
///     <root>/models--<org>--<name>/refs/<revision>          commit hash of the snapshot
///     <root>/models--<org>--<name>/snapshots/<commit>/<file>  symlink → ../../blobs/<etag>
///     <root>/models--<org>--<name>/blobs/<etag>               file contents (sha256 for LFS files)
///
/// `root` is `$HF_HUB_CACHE`, else `$HF_HOME/hub`, else `$XDG_CACHE_HOME/huggingface/hub`, else
/// `~/.cache/huggingface/hub`.
public struct HubCache: Sendable {
    /// The hub cache directory.
    public var root: URL

    /// The files a CLIP checkpoint directory must contain (tokenizer.json is optional and not used).
    public static let requiredFiles = [
        "config.json", "model.safetensors", "vocab.json", "merges.txt", "preprocessor_config.json",
    ]

    /// The model `--model` uses when none is given.
    public static let defaultModel = "openai/clip-vit-base-patch32"

    /// A cache rooted at `root`.
    public init(root: URL) {
        self.root = root
    }

    /// The cache the environment points at (see the type's documentation for the order).
    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        if let hub = environment["HF_HUB_CACHE"] ?? environment["HUGGINGFACE_HUB_CACHE"], !hub.isEmpty {
            root = URL(fileURLWithPath: (hub as NSString).expandingTildeInPath)
        } else if let home = environment["HF_HOME"], !home.isEmpty {
            root = URL(fileURLWithPath: (home as NSString).expandingTildeInPath).appendingPathComponent("hub")
        } else {
            let cacheHome =
                environment["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : $0 }
                ?? (environment["HOME"] ?? NSHomeDirectory()) + "/.cache"
            root = URL(fileURLWithPath: cacheHome).appendingPathComponent("huggingface/hub")
        }
    }

    // MARK: - Layout

    /// True when `name` looks like a hub repository id (`org/name`, letters, digits, `-_.`).
    public static func isRepositoryName(_ name: String) -> Bool {
        let parts = name.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2 else { return false }
        return parts.allSatisfy { part in
            !part.isEmpty && part != "." && part != ".." && !part.hasPrefix("-")
                && part.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }
        }
    }

    /// `<root>/models--org--name`.
    public func repositoryDirectory(_ name: String) -> URL {
        root.appendingPathComponent("models--" + name.replacingOccurrences(of: "/", with: "--"))
    }

    /// The commit a revision points at: the content of `refs/<revision>`, or `revision` itself when it is a
    /// 40-hex commit hash with a snapshot.
    public func commit(_ name: String, revision: String = "main") -> String? {
        let repo = repositoryDirectory(name)
        let ref = repo.appendingPathComponent("refs").appendingPathComponent(revision)
        if let text = try? String(contentsOf: ref, encoding: .utf8) {
            // A commit is one path component: a ref holding `../..` must not lead out of the repository.
            let commit = text.trimmingCharacters(in: .whitespacesAndNewlines)
            if !commit.isEmpty, !commit.contains("/"), commit != "..", commit != "." { return commit }
        }
        if revision.count == 40, revision.allSatisfy(\.isHexDigit),
            FileManager.default.fileExists(atPath: repo.appendingPathComponent("snapshots/\(revision)").path)
        {
            return revision
        }
        return nil
    }

    /// `snapshots/<commit>/` for a revision, when the cache knows the revision.
    public func snapshotDirectory(_ name: String, revision: String = "main") -> URL? {
        guard let commit = commit(name, revision: revision) else { return nil }
        return repositoryDirectory(name).appendingPathComponent("snapshots").appendingPathComponent(commit)
    }

    /// The files a SigLIP checkpoint directory must contain besides its SentencePiece model (`spiece.model`
    /// for SigLIP, `tokenizer.model` for SigLIP 2).
    public static let siglipRequiredFiles = ["config.json", "model.safetensors", "preprocessor_config.json"]

    /// Every tokenizer file any supported family uses (for `models pull`, which learns the family from
    /// config.json only after downloading it).
    public static let tokenizerFiles = ["vocab.json", "merges.txt", "spiece.model", "tokenizer.model"]

    /// Which required files are absent (or dangling symlinks) in `directory`. With `requiredFiles` (GIT's list),
    /// those, where an entry `a|b` is present when either file is. Without: the family's, read from config.json:
    /// `requiredFiles` for CLIP; for `model_type: siglip`, `siglipRequiredFiles` and a SentencePiece model (named as
    /// "spiece.model or tokenizer.model" when neither is there).
    public static func missingFiles(in directory: URL, requiredFiles listed: [String]? = nil) -> [String] {
        func present(_ file: String) -> Bool {
            let path = directory.appendingPathComponent(file).path
            var isDirectory: ObjCBool = false
            // fileExists follows symlinks, so a link to a missing blob counts as missing.
            return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && !isDirectory.boolValue
        }
        if let listed {
            return listed.filter { entry in !entry.split(separator: "|").contains { present(String($0)) } }
        }
        guard modelType(of: directory) == "siglip" else { return requiredFiles.filter { !present($0) } }
        let tokenizer = present("spiece.model") || present("tokenizer.model") ? [] : ["spiece.model or tokenizer.model"]
        return siglipRequiredFiles.filter { !present($0) } + tokenizer
    }

    /// config.json's `model_type`, when the file is there and says.
    static func modelType(of directory: URL) -> String? {
        guard let data = try? Data(contentsOf: directory.appendingPathComponent("config.json")),
            let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
        else { return nil }
        return json["model_type"] as? String
    }
}
