import Foundation
import Logging
import VLMCore

/// Text embeddings by text, computed once per model: an in-memory table in front of a `TextEncoding`, persisted to
/// a cache file keyed by the model's identity so the next start encodes nothing it has seen before.
///
/// Thread-safe: streams sharing a captioner share one store; encoder calls are serialised.
public final class TextEmbeddingStore: Sendable {
    private struct State {
        var table: [String: Embedding] = [:]
        var dirty = false
        var encoded = 0
        var lastSave = Date.distantPast
    }

    /// The encoder that fills misses.
    public let encoder: any TextEncoding
    /// The cache file, or `nil` for a memory-only store.
    public let cacheURL: URL?
    /// Texts per encoder call.
    public let batchSize: Int
    private let logger: Logger
    private let state = Locked(State())

    /// Opens the store, loading `cacheURL` if it exists and belongs to this model. A corrupt or foreign cache is
    /// ignored with a warning and rebuilt on the next `save()`.
    public init(encoder: any TextEncoding, cacheURL: URL?, batchSize: Int = 64, logger: Logger) {
        self.encoder = encoder
        self.cacheURL = cacheURL
        self.batchSize = max(1, batchSize)
        self.logger = logger
        guard let cacheURL, FileManager.default.fileExists(atPath: cacheURL.path) else { return }
        do {
            let file = try TextEmbeddingCacheFile.read(from: cacheURL)
            guard file.modelIdentity == encoder.modelIdentity, file.dimension == encoder.embeddingSize else {
                logger.warning(
                    "text embedding cache \(cacheURL.path) was made by another model (\(file.modelIdentity)); rebuilding it"
                )
                return
            }
            state.withLock { $0.table = file.entries }
            logger.info("loaded \(file.entries.count) cached text embeddings from \(cacheURL.path)")
        } catch {
            logger.warning("text embedding cache \(cacheURL.path) is unusable (\(error)); rebuilding it")
        }
    }

    // MARK: - Lookup

    /// Embeddings for `texts`, in order; texts not seen before are encoded in batches and remembered.
    public func embeddings(for texts: [String]) throws -> [Embedding] {
        try state.withLock { state in
            var missing: [String] = []
            var queued = Set<String>()
            for text in texts where state.table[text] == nil && queued.insert(text).inserted {
                missing.append(text)
            }
            var start = 0
            while start < missing.count {
                let batch = Array(missing[start..<min(start + batchSize, missing.count)])
                let vectors = try encoder.encode(texts: batch)
                guard vectors.count == batch.count, vectors.allSatisfy({ $0.count == encoder.embeddingSize }) else {
                    throw CaptionError.encoderFailed(
                        detail: "asked for \(batch.count) embeddings of size \(encoder.embeddingSize), got "
                            + "\(vectors.count) of size \(vectors.first?.count ?? 0)")
                }
                for (text, vector) in zip(batch, vectors) { state.table[text] = vector.normalized() }
                state.encoded += batch.count
                state.dirty = true
                start += batch.count
            }
            return texts.map { state.table[$0]! }
        }
    }

    /// How many texts this store has sent to the encoder since it was opened.
    public var encodedCount: Int { state.withLock { $0.encoded } }
    /// How many embeddings the store holds.
    public var count: Int { state.withLock { $0.table.count } }

    // MARK: - Persistence

    /// Writes the cache file atomically if anything new was encoded (and at most every `minimumInterval` seconds).
    /// Failures are logged, never thrown: the cache only saves time.
    public func save(minimumInterval: TimeInterval = 0) {
        guard let cacheURL else { return }
        let snapshot: [String: Embedding]? = state.withLock { state in
            guard state.dirty, Date().timeIntervalSince(state.lastSave) >= minimumInterval else { return nil }
            state.dirty = false
            state.lastSave = Date()
            return state.table
        }
        guard let snapshot else { return }
        let file = TextEmbeddingCacheFile(
            modelIdentity: encoder.modelIdentity, dimension: encoder.embeddingSize, entries: snapshot)
        do {
            try file.write(to: cacheURL)
            logger.debug("saved \(snapshot.count) text embeddings to \(cacheURL.path)")
        } catch {
            state.withLock { $0.dirty = true }
            logger.warning("cannot save text embedding cache \(cacheURL.path): \(error)")
        }
    }

    // MARK: - Locations

    /// `$XDG_CACHE_HOME/vlm-stream`, else `~/.cache/vlm-stream`.
    public static func defaultCacheDirectory(environment: [String: String] = ProcessInfo.processInfo.environment)
        -> URL
    {
        if let xdg = environment["XDG_CACHE_HOME"], xdg.hasPrefix("/") {
            return URL(fileURLWithPath: xdg).appendingPathComponent("vlm-stream")
        }
        let home =
            environment["HOME"].map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.homeDirectoryForCurrentUser
        return home.appendingPathComponent(".cache/vlm-stream")
    }

    /// The cache file for a model in `directory`: `text-embeddings-<hash of identity>.bin`.
    public static func cacheURL(modelIdentity: String, in directory: URL) -> URL {
        let hash = String(FNV1a64.hash(Array(modelIdentity.utf8)), radix: 16)
        return directory.appendingPathComponent("text-embeddings-\(hash).bin")
    }
}
