import Foundation
import VLMCore

/// Turns `--model` (a checkpoint directory or a hub name such as `openai/clip-vit-base-patch32`) into a
/// directory holding every file its family needs (`HubCache.missingFiles`).
public enum ModelLocator {
    /// `--model` could not be turned into a usable checkpoint directory.
    public struct NotFound: UserFacingError, Equatable {
        /// The one-line message.
        public var description: String
    }

    /// The checkpoint directory for `model`: an existing directory as it is, else a hub name (optionally
    /// `name@revision`) looked up in `cache` at `revision`. Throws `NotFound` naming the missing files and where
    /// they belong. `requiredFiles` is what a checkpoint of the expected kind holds (nil: its family's, CLIP's or
    /// SigLIP's; a list whose entries are alternatives separated by `|`, such as
    /// `model.safetensors|pytorch_model.bin`, needs any one).
    public static func resolve(
        _ model: String, revision: String = "main", cache: HubCache = HubCache(),
        requiredFiles: [String]? = nil
    ) throws -> URL {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        let expanded = (model as NSString).expandingTildeInPath
        if fm.fileExists(atPath: expanded, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else {
                throw NotFound(description: "\(model) is a file; --model takes a checkpoint directory or a hub name")
            }
            let directory = URL(fileURLWithPath: expanded)
            let missing = HubCache.missingFiles(in: directory, requiredFiles: requiredFiles)
            guard missing.isEmpty else {
                if let type = modelType(in: directory) {
                    // Most often the other kind of checkpoint: a GIT caption model given as --model, or the reverse.
                    throw NotFound(
                        description: "\(directory.path) is missing \(missing.joined(separator: ", ")), and its "
                            + "config.json says model_type \"\(type)\": CLIP and SigLIP checkpoints go to --model, GIT "
                            + "ones to --caption-model (and `caption`/`ask --model`)")
                }
                throw NotFound(
                    description: "\(directory.path) is missing \(missing.joined(separator: ", ")); "
                        + "copy them from the model's Hugging Face repository into that directory")
            }
            return directory
        }
        // `org/name@revision` picks a branch, tag, commit or refs/pr/N other than main.
        if let at = model.lastIndex(of: "@"), HubCache.isRepositoryName(String(model[..<at])),
            model.index(after: at) < model.endIndex
        {
            return try resolve(
                String(model[..<at]), revision: String(model[model.index(after: at)...]), cache: cache,
                requiredFiles: requiredFiles)
        }
        guard HubCache.isRepositoryName(model) else {
            throw NotFound(
                description: "\(model): no such directory, and not a hub name like \(HubCache.defaultModel)")
        }
        guard let snapshot = cache.snapshotDirectory(model, revision: revision) else {
            throw NotFound(
                description: "\(model) (\(revision)) is not in the Hugging Face cache at \(cache.root.path): "
                    + "run `vlm-stream models pull \(model)`, or put \((requiredFiles ?? HubCache.requiredFiles).joined(separator: ", ")) "
                    + "in a directory and pass --model DIR")
        }
        let missing = HubCache.missingFiles(in: snapshot, requiredFiles: requiredFiles)
        guard missing.isEmpty else {
            throw NotFound(
                description: "\(model) (\(revision)) in the Hugging Face cache is missing "
                    + "\(missing.joined(separator: ", ")) in \(snapshot.path): run `vlm-stream models pull \(model)` "
                    + "or put those files there")
        }
        return snapshot
    }

    /// `model_type` of the directory's config.json, when it has one that says.
    static func modelType(in directory: URL) -> String? {
        guard let data = try? Data(contentsOf: directory.appendingPathComponent("config.json")),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return nil }
        return (object["model_type"] as? String).map { String($0.prefix(40)) }
    }
}
