import CLIP
import Foundation
import TestSupport
import Testing

/// Hub-name resolution through a fake Hugging Face cache laid out in a temporary directory.
@Suite struct HubCacheTests {
    /// Builds `models--org--name` with blobs, a snapshot of symlinks and `refs/main`, holding `files`.
    static func makeCache(files: [String], name: String = "openai/clip-vit-base-patch32") throws -> (HubCache, URL) {
        let root = try Fixtures.temporaryDirectory("hub")
        let cache = HubCache(root: root)
        let repo = cache.repositoryDirectory(name)
        let commit = "0123456789abcdef0123456789abcdef01234567"
        let snapshot = repo.appendingPathComponent("snapshots/\(commit)")
        let blobs = repo.appendingPathComponent("blobs")
        let fm = FileManager.default
        try fm.createDirectory(at: snapshot, withIntermediateDirectories: true)
        try fm.createDirectory(at: blobs, withIntermediateDirectories: true)
        try fm.createDirectory(at: repo.appendingPathComponent("refs"), withIntermediateDirectories: true)
        try Data(commit.utf8).write(to: repo.appendingPathComponent("refs/main"))
        for (i, file) in files.enumerated() {
            let source = Fixtures.url("tiny-clip/\(file)")
            let blob = "blob\(i)"
            try fm.copyItem(at: source, to: blobs.appendingPathComponent(blob))
            try fm.createSymbolicLink(
                atPath: snapshot.appendingPathComponent(file).path, withDestinationPath: "../../blobs/\(blob)")
        }
        return (cache, snapshot)
    }

    /// Found by a review: the content of `refs/main` was a path, so a tampered ref loaded another repository's files.
    @Test func aRefThatIsAPathIsNotFollowed() throws {
        let (cache, snapshot) = try Self.makeCache(files: HubCache.requiredFiles)
        defer { try? FileManager.default.removeItem(at: cache.root) }
        let name = "openai/clip-vit-base-patch32"
        let ref = cache.repositoryDirectory(name).appendingPathComponent("refs/main")
        try Data("../../models--openai--clip-vit-base-patch32/snapshots/\(snapshot.lastPathComponent)".utf8).write(
            to: ref)
        #expect(throws: ModelLocator.NotFound.self) { try ModelLocator.resolve(name, cache: cache) }
        try Data("..".utf8).write(to: ref)
        #expect(throws: ModelLocator.NotFound.self) { try ModelLocator.resolve(name, cache: cache) }
    }

    @Test func environmentPicksTheCacheRoot() {
        #expect(HubCache(environment: ["HF_HUB_CACHE": "/x/hub", "HF_HOME": "/y"]).root.path == "/x/hub")
        #expect(HubCache(environment: ["HF_HOME": "/y"]).root.path == "/y/hub")
        #expect(HubCache(environment: ["HOME": "/home/u"]).root.path == "/home/u/.cache/huggingface/hub")
        #expect(HubCache(environment: ["XDG_CACHE_HOME": "/c", "HOME": "/h"]).root.path == "/c/huggingface/hub")
    }

    @Test func hubNameResolvesToTheSnapshot() throws {
        let (cache, snapshot) = try Self.makeCache(files: HubCache.requiredFiles)
        defer { try? FileManager.default.removeItem(at: cache.root) }
        let resolved = try ModelLocator.resolve("openai/clip-vit-base-patch32", cache: cache)
        #expect(resolved.standardizedFileURL.path == snapshot.standardizedFileURL.path)
        let commit = snapshot.lastPathComponent
        #expect(
            try ModelLocator.resolve("openai/clip-vit-base-patch32", revision: commit, cache: cache)
                .lastPathComponent == commit)
        #expect(
            try ModelLocator.resolve("openai/clip-vit-base-patch32@\(commit)", cache: cache).lastPathComponent == commit
        )
        #expect(throws: ModelLocator.NotFound.self) {
            try ModelLocator.resolve("openai/clip-vit-base-patch32@v2", cache: cache)
        }
        let listed = cache.cachedModels()
        #expect(listed.count == 1)
        #expect(listed.first?.name == "openai/clip-vit-base-patch32")
        #expect(listed.first?.revision == "main")
        #expect(listed.first?.isComplete == true)
        #expect((listed.first?.size ?? 0) > 3_000_000)

        // Another kind of model in the same cache is not listed.
        let bert = cache.repositoryDirectory("google/bert-base-uncased").appendingPathComponent("snapshots/abc")
        try FileManager.default.createDirectory(at: bert, withIntermediateDirectories: true)
        try Data(#"{"model_type": "bert"}"#.utf8).write(to: bert.appendingPathComponent("config.json"))
        #expect(cache.cachedModels().map(\.name) == ["openai/clip-vit-base-patch32"])
    }

    @Test func missingFilesAreNamedOnOneLine() throws {
        let (cache, _) = try Self.makeCache(files: ["config.json", "vocab.json", "merges.txt"])
        defer { try? FileManager.default.removeItem(at: cache.root) }
        #expect {
            try ModelLocator.resolve("openai/clip-vit-base-patch32", cache: cache)
        } throws: { error in
            let text = "\(error)"
            return text.contains("model.safetensors, preprocessor_config.json") && !text.contains("\n")
                && text.contains("models pull")
        }
        #expect(cache.cachedModels().first?.missing == ["model.safetensors", "preprocessor_config.json"])
    }

    @Test func unknownModelSaysHowToGetIt() throws {
        let cache = HubCache(root: try Fixtures.temporaryDirectory("hub"))
        defer { try? FileManager.default.removeItem(at: cache.root) }
        #expect {
            try ModelLocator.resolve("openai/clip-vit-large-patch14", cache: cache)
        } throws: { error in
            "\(error)".contains("vlm-stream models pull openai/clip-vit-large-patch14")
                && "\(error)".contains(cache.root.path)
        }
        #expect(throws: ModelLocator.NotFound.self) { try ModelLocator.resolve("no/such/thing", cache: cache) }
    }

    /// Found by a review: a GIT checkpoint as --model said only "missing vocab.json, merges.txt".
    @Test func theOtherKindOfCheckpointIsNamed() throws {
        let git = Fixtures.url("tiny-git")
        #expect {
            try ModelLocator.resolve(git.path)
        } throws: { error in
            "\(error)".contains("its config.json says model_type \"git\": CLIP and SigLIP checkpoints go to --model")
        }
    }

    @Test func directoryIsUsedAsItIs() throws {
        let dir = Fixtures.url("tiny-clip")
        #expect(try ModelLocator.resolve(dir.path).path == dir.path)
        let partial = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: partial) }
        #expect {
            try ModelLocator.resolve(partial.path)
        } throws: { error in
            "\(error)".contains("missing config.json, model.safetensors")
        }
    }
}
