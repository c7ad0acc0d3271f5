import Foundation
import Logging
import TestSupport
import Testing
import VLMCore

@testable import VLMCaption

@Suite struct CacheTests {
    let logger = Logger(label: "test.captions.cache")

    func captioner(_ encoder: any TextEncoding, cache: URL) throws -> BeamSearchCaptioner {
        let store = TextEmbeddingStore(encoder: encoder, cacheURL: cache, logger: logger)
        return BeamSearchCaptioner(vocabulary: .builtIn, store: store, beamWidth: 8, logger: logger)
    }

    @Test func secondStartEncodesNothing() throws {
        let directory = try Fixtures.temporaryDirectory("captions-cache")
        defer { try? FileManager.default.removeItem(at: directory) }
        let base = try TinyCLIP.textEncoder()
        let cache = TextEmbeddingStore.cacheURL(modelIdentity: base.modelIdentity, in: directory)

        let first = CountingTextEncoder(base)
        let prepared = try captioner(first, cache: cache).prepare()
        #expect(prepared > 100)
        #expect(first.texts == prepared)
        #expect(FileManager.default.fileExists(atPath: cache.path))

        let second = CountingTextEncoder(base)
        let restarted = try captioner(second, cache: cache)
        #expect(try restarted.prepare() == prepared)
        #expect(second.texts == 0)
        #expect(second.calls == 0)
        // Cached vectors are the encoder's (batch composition changes the last float bits, hence the tolerance).
        let prompt = restarted.vocabulary.promptText(for: "a person walking")
        let cached = try restarted.store.embeddings(for: [prompt])[0]
        let direct = try base.encode(texts: [prompt])[0].normalized()
        #expect(zip(cached.values, direct.values).allSatisfy { abs($0 - $1) < 1e-5 })
        // Only the final file is left: the write went through a temporary file and a rename.
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        #expect(files == [cache.lastPathComponent])
    }

    @Test func anotherModelIdentityInvalidatesTheCache() throws {
        let directory = try Fixtures.temporaryDirectory("captions-cache")
        defer { try? FileManager.default.removeItem(at: directory) }
        let base = try TinyCLIP.textEncoder()
        let cache = directory.appendingPathComponent("shared.bin")
        let prepared = try captioner(CountingTextEncoder(base), cache: cache).prepare()

        let other = CountingTextEncoder(base, identity: base.modelIdentity + "-other-weights")
        try captioner(other, cache: cache).prepare()
        #expect(other.texts == prepared)
        // Different identities also get different file names in the default layout.
        #expect(
            TextEmbeddingStore.cacheURL(modelIdentity: base.modelIdentity, in: directory)
                != TextEmbeddingStore.cacheURL(modelIdentity: other.modelIdentity, in: directory))
    }

    @Test(arguments: ["truncate", "flip", "garbage", "empty"])
    func corruptCacheIsRebuilt(damage: String) throws {
        let directory = try Fixtures.temporaryDirectory("captions-cache")
        defer { try? FileManager.default.removeItem(at: directory) }
        let base = try TinyCLIP.textEncoder()
        let cache = directory.appendingPathComponent("cache.bin")
        let prepared = try captioner(base, cache: cache).prepare()

        var bytes = [UInt8](try Data(contentsOf: cache))
        switch damage {
        case "truncate": bytes.removeLast(bytes.count / 3)
        case "flip": bytes[bytes.count / 2] ^= 0x40
        case "garbage": bytes = Array("not a cache at all".utf8)
        default: bytes = []
        }
        try Data(bytes).write(to: cache)

        let counting = CountingTextEncoder(base)
        let rebuilt = try captioner(counting, cache: cache)
        #expect(rebuilt.store.count == 0)
        try rebuilt.prepare()
        #expect(counting.texts == prepared)
        // The rebuilt file is good again.
        let third = CountingTextEncoder(base)
        try captioner(third, cache: cache).prepare()
        #expect(third.texts == 0)
    }

    @Test func cacheDirectoryFollowsXDG() {
        let xdg = TextEmbeddingStore.defaultCacheDirectory(environment: ["XDG_CACHE_HOME": "/x/cache", "HOME": "/h"])
        #expect(xdg.path == "/x/cache/vlm-stream")
        let home = TextEmbeddingStore.defaultCacheDirectory(environment: ["HOME": "/h"])
        #expect(home.path == "/h/.cache/vlm-stream")
    }

    /// Found by the text-embedding-cache fuzz target: a checksummed file whose entry count says 2^32 - 1 reserved
    /// dictionary space for all of them (gigabytes) before reading the first; it is refused as too short instead.
    @Test func entryCountBeyondTheFileIsRefused() throws {
        var bytes = Array("VLMTXTE1".utf8)
        bytes += [1, 0, 0, 0] + Array("m".utf8)  // identity
        bytes += [4, 0, 0, 0] + [0xFF, 0xFF, 0xFF, 0xFF]  // dimension 4, count 2^32 - 1
        let hash = FNV1a64.hash(bytes)
        bytes += (0..<8).map { UInt8(truncatingIfNeeded: hash >> (8 * UInt64($0))) }
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("vlm-cache-count-\(UUID()).bin")
        try Data(bytes).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        let error = try #require(throws: TextEmbeddingCacheFile.FormatError.self) {
            try TextEmbeddingCacheFile.read(from: url)
        }
        #expect(error.description.contains("4294967295 entries"))
    }
}
