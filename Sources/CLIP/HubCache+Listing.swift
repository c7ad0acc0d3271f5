import Foundation

// MARK: - Listing cached models

extension HubCache {
    /// One revision of a model in the cache.
    public struct CachedModel: Sendable, Equatable {
        /// Repository id, `org/name`.
        public var name: String
        /// The ref name (`main`) or, for a snapshot no ref points at, its commit.
        public var revision: String
        /// The snapshot's commit hash.
        public var commit: String
        /// Bytes of the snapshot's files (following symlinks to blobs).
        public var size: Int64
        /// Required files not present; empty when the model is usable.
        public var missing: [String]
        /// The snapshot directory.
        public var directory: URL

        /// True when every required file is there.
        public var isComplete: Bool { missing.isEmpty }
    }

    /// Every snapshot in the cache that holds at least one CLIP checkpoint file (and whose config.json, if any, has a
    /// CLIP `model_type`), sorted by name.
    public func cachedModels() -> [CachedModel] {
        let fm = FileManager.default
        guard let entries = try? fm.contentsOfDirectory(atPath: root.path) else { return [] }
        var models: [CachedModel] = []
        for entry in entries.sorted() where entry.hasPrefix("models--") {
            let name = String(entry.dropFirst("models--".count)).replacingOccurrences(of: "--", with: "/")
            let repo = root.appendingPathComponent(entry)
            var refs: [String: String] = [:]  // commit → ref name
            let refsDirectory = repo.appendingPathComponent("refs")
            for ref in (try? fm.contentsOfDirectory(atPath: refsDirectory.path)) ?? [] {
                if let commit = try? String(contentsOf: refsDirectory.appendingPathComponent(ref), encoding: .utf8) {
                    refs[commit.trimmingCharacters(in: .whitespacesAndNewlines)] = ref
                }
            }
            let snapshots = repo.appendingPathComponent("snapshots")
            for commit in ((try? fm.contentsOfDirectory(atPath: snapshots.path)) ?? []).sorted() {
                let directory = snapshots.appendingPathComponent(commit)
                let missing = Self.missingFiles(in: directory)
                guard missing.count < Self.requiredFiles.count, Self.isCLIPOrUnknown(directory) else { continue }
                models.append(
                    CachedModel(
                        name: name, revision: refs[commit] ?? commit, commit: commit,
                        size: Self.size(of: directory), missing: missing, directory: directory))
            }
        }
        return models
    }

    /// False when config.json says the model is something other than CLIP or SigLIP (e.g. a BERT in the cache).
    static func isCLIPOrUnknown(_ directory: URL) -> Bool {
        guard let type = modelType(of: directory) else { return true }
        return type.hasPrefix("clip") || type == "siglip"
    }

    static func size(of directory: URL) -> Int64 {
        let fm = FileManager.default
        var total: Int64 = 0
        for file in (try? fm.contentsOfDirectory(atPath: directory.path)) ?? [] {
            let path = directory.appendingPathComponent(file).resolvingSymlinksInPath().path
            if let size = (try? fm.attributesOfItem(atPath: path))?[.size] as? NSNumber { total += size.int64Value }
        }
        return total
    }
}
