import Crypto
import Foundation

/// A local, memory-mapped copy of a PostgreSQL index's embeddings on the searching machine, so a search does not pull
/// every embedding over the network.
///
/// Layout of one copy's directory (`<cache>/index-copies/<hash of the URL and the database's instance>/`):
/// - `embeddings-G.f16`: `rows × dimension` little-endian fp16 values, the stored bytes as they are, appended in
///   chunk-id order and mapped read-only for search (which widens them while it multiplies);
/// - `rows-G.bin`: per row its pts (Float64), video id (Int64) and chunk id (Int64), 24 bytes;
/// - `state.json`: the generation G, dimension, model, committed `rows` and the last chunk id copied;
/// - `lock`: an exclusive `flock` while a process refreshes the copy.
///
/// Only rows up to `state.rows` count: a refresh appends after them and then replaces `state.json` atomically, so a
/// crash leaves the previous state intact. A rebuild (another model, a database that was reset, too many dead rows)
/// starts generation G+1 in new files and unlinks the old ones, which other processes may still have mapped.
final class LocalEmbeddingCopy {
    struct State: Codable, Equatable {
        /// 2: fp16 embeddings (1, fp32, is rebuilt on open).
        var format = 2
        var generation = 0
        var dimension = 0
        var model = ""
        var rows = 0
        var lastChunkID: Int64 = 0
    }

    /// Bytes per row in `rows-G.bin`.
    static let rowRecord = 24

    let directory: URL
    private let lockDescriptor: Int32
    private(set) var state: State
    /// True when opening found the files shorter than the state and started a new generation.
    private(set) var startedAfresh = false

    /// The copy's directory for a database (`display` is the URL without its password, `instance` its identity).
    static func directory(in cache: URL, display: String, instance: String) -> URL {
        let digest = SHA256.hash(data: Data("\(display)\n\(instance)".utf8))
        let name = digest.prefix(12).map { String(format: "%02x", $0) }.joined()
        return cache.appendingPathComponent("index-copies").appendingPathComponent(name)
    }

    /// Opens (creating) the copy in `directory` and takes its lock; `close()` (or deinit) releases it.
    init(directory: URL) throws {
        self.directory = directory
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw IndexError.database(
                path: directory.path, reason: "cannot create the local copy of the index: \(error.localizedDescription)"
            )
        }
        let fd = open(directory.appendingPathComponent("lock").path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw IndexError.database(path: directory.path, reason: "cannot open the local copy's lock file")
        }
        lockDescriptor = fd
        while flock(fd, LOCK_EX) != 0 && errno == EINTR {}
        let stateURL = directory.appendingPathComponent("state.json")
        let loaded = (try? Data(contentsOf: stateURL)).flatMap { try? JSONDecoder().decode(State.self, from: $0) }
        state = loaded ?? State()
        if loaded != nil, !filesMatchState() {
            try reset(dimension: state.dimension, model: state.model)
            startedAfresh = true
        }
    }

    deinit { close(lockDescriptor) }

    var embeddingsURL: URL { directory.appendingPathComponent("embeddings-\(state.generation).f16") }
    var rowsURL: URL { directory.appendingPathComponent("rows-\(state.generation).bin") }

    /// True when both files hold at least the committed rows (a copy cut short by a crash or a full disk is rebuilt).
    private func filesMatchState() -> Bool {
        let sizes = [embeddingsURL, rowsURL].map {
            ((try? FileManager.default.attributesOfItem(atPath: $0.path))?[.size] as? Int) ?? -1
        }
        return state.format == 2 && state.rows >= 0 && sizes[0] >= state.rows * state.dimension * 2
            && sizes[1] >= state.rows * Self.rowRecord
    }

    /// Starts a new, empty generation for `dimension`/`model`, unlinking the old files.
    func reset(dimension: Int, model: String) throws {
        // (format 1 named its fp32 embeddings `.f32`)
        let old = [embeddingsURL, rowsURL, directory.appendingPathComponent("embeddings-\(state.generation).f32")]
        state = State(generation: state.generation + 1, dimension: dimension, model: model)
        for url in old { try? FileManager.default.removeItem(at: url) }
        for url in [embeddingsURL, rowsURL] {
            guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
                throw IndexError.database(path: url.path, reason: "cannot create the local copy's file")
            }
        }
        try save()
    }

    // MARK: - Appending

    /// Appends `chunks`' frames after the committed and `pending` rows (visible once `commit` records them).
    func append(_ chunks: [StoredChunk], pending: inout Int) throws {
        let dimension = state.dimension
        let n = chunks.reduce(0) { $0 + $1.frameCount }
        guard n > 0 else { return }
        var values = Data(capacity: n * dimension * 2)
        var rows = Data(count: n * Self.rowRecord)
        var at = 0
        for chunk in chunks {
            let m = chunk.frameCount
            values.append(chunk.embeddings.prefix(m * dimension * 2))
            rows.withUnsafeMutableBytes { out in
                chunk.pts.withUnsafeBytes { pts in
                    for i in 0..<m {
                        let offset = (at + i) * Self.rowRecord
                        out.storeBytes(
                            of: pts.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self), toByteOffset: offset,
                            as: UInt64.self)
                        out.storeBytes(of: chunk.videoID, toByteOffset: offset + 8, as: Int64.self)
                        out.storeBytes(of: chunk.id, toByteOffset: offset + 16, as: Int64.self)
                    }
                }
            }
            at += m
        }
        let row = state.rows + pending
        try write(values, to: embeddingsURL, at: row * dimension * 2)
        try write(rows, to: rowsURL, at: row * Self.rowRecord)
        pending += n
    }

    private func write(_ data: Data, to url: URL, at offset: Int) throws {
        do {
            let handle = try FileHandle(forWritingTo: url)
            defer { try? handle.close() }
            try handle.seek(toOffset: UInt64(offset))
            try handle.write(contentsOf: data)
        } catch {
            throw IndexError.database(
                path: url.path, reason: "cannot write the local copy: \(error.localizedDescription)")
        }
    }

    /// Records `pending` appended rows and the last chunk id copied (atomically: write, then rename).
    func commit(pending: Int, lastChunkID: Int64) throws {
        state.rows += pending
        state.lastChunkID = max(state.lastChunkID, lastChunkID)
        try save()
    }

    private func save() throws {
        let url = directory.appendingPathComponent("state.json")
        do {
            try JSONEncoder().encode(state).write(to: url, options: .atomic)
        } catch {
            throw IndexError.database(
                path: url.path, reason: "cannot save the local copy's state: \(error.localizedDescription)")
        }
    }

    // MARK: - Reading

    /// Every committed row's pts, video id and chunk id.
    func rows() throws -> (pts: [Double], video: [Int64], chunk: [Int64]) {
        let n = state.rows
        let data: Data
        do {
            let handle = try FileHandle(forReadingFrom: rowsURL)
            defer { try? handle.close() }
            data = try handle.read(upToCount: n * Self.rowRecord) ?? Data()
        } catch {
            throw IndexError.database(
                path: rowsURL.path, reason: "cannot read the local copy: \(error.localizedDescription)")
        }
        guard data.count == n * Self.rowRecord else {
            throw IndexError.notAnIndex(path: rowsURL.path, reason: "the local copy is shorter than its state")
        }
        var pts = [Double](repeating: 0, count: n)
        var video = [Int64](repeating: 0, count: n)
        var chunk = [Int64](repeating: 0, count: n)
        data.withUnsafeBytes { raw in
            for i in 0..<n {
                pts[i] = raw.loadUnaligned(fromByteOffset: i * 24, as: Double.self)
                video[i] = raw.loadUnaligned(fromByteOffset: i * 24 + 8, as: Int64.self)
                chunk[i] = raw.loadUnaligned(fromByteOffset: i * 24 + 16, as: Int64.self)
            }
        }
        return (pts, video, chunk)
    }

    /// The committed embeddings, mapped read-only.
    func mapEmbeddings() throws -> MatrixStorage {
        let fd = open(embeddingsURL.path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw IndexError.database(path: embeddingsURL.path, reason: "cannot open the local copy") }
        defer { close(fd) }
        return try MatrixStorage(mapping: fd, count: state.rows * state.dimension, path: embeddingsURL.path)
    }
}
