import CLIP
import Foundation
import VLMCore
import VLMIndex
import VLMVideo

/// What the archive server serves: one index, the model that embeds queries into its space, and thumbnails.
///
/// Everything here is safe to call from concurrent requests: the index reads through SQLite's WAL snapshots, the
/// model is used by one request at a time (`Locked`), and text embeddings and thumbnails are cached.
public final class Archive: Sendable {
    /// The index.
    public let index: VideoIndex
    private let encoder: Locked<any QueryEncoding>
    /// Encoder identity, checked against the index's at start.
    public let modelIdentity: String
    let textEmbeddings = BoundedCache<String, [Float]>(capacity: 1024)
    let thumbnails = BoundedCache<String, Data>(capacity: 512)

    /// Opens the archive; refuses a model other than the one the index was made with.
    public init(index: VideoIndex, encoder: any QueryEncoding) throws {
        guard let stored = try index.model() else { throw IndexError.empty(path: index.path) }
        try index.requireModel(encoder.modelIdentity)
        guard stored.dimension == encoder.embeddingSize else {
            throw IndexError.dimensionMismatch(
                path: index.path, indexed: stored.dimension, given: encoder.embeddingSize)
        }
        self.index = index
        self.modelIdentity = encoder.modelIdentity
        self.encoder = Locked(encoder)
    }

    // MARK: - Search

    /// The moments best matching `text`, ranks `offset..<offset+top`: frames and stored captions, ranked as
    /// `search --text` ranks them (`EmbeddingMatrix.search(text:query:options:)`).
    public func search(text: String, top: Int, offset: Int) throws -> [Moment] {
        let query: [Float]
        if let cached = textEmbeddings.get(text) {
            query = cached
        } else {
            query = try encoder.withLock { try $0.embed(text: text) }
            textEmbeddings.set(text, query)
        }
        return try search(query, text: text, top: top, offset: offset)
    }

    /// The moments best matching an example picture, ranks `offset..<offset+top`.
    public func search(image: RGBImage, top: Int, offset: Int) throws -> [Moment] {
        let query = try encoder.withLock { try $0.embed(image: image) }
        return try search(query, top: top, offset: offset)
    }

    private func search(_ query: [Float], text: String? = nil, top: Int, offset: Int) throws -> [Moment] {
        let matrix = try index.matrix()
        guard query.count == matrix.dimension else {
            throw IndexError.dimensionMismatch(path: index.path, indexed: matrix.dimension, given: query.count)
        }
        let options = SearchOptions(top: offset + top)
        let moments =
            text.map { matrix.search(text: $0, query: query, options: options) }
            ?? matrix.search(query, options: options)
        return Array(moments.dropFirst(offset))
    }

    // MARK: - Videos

    /// The complete videos of the index.
    public func videos() throws -> [IndexedVideo] {
        try index.videos().filter(\.complete)
    }

    /// The complete video with index id `id`, or nil.
    public func video(id: Int64) throws -> IndexedVideo? {
        try videos().first { $0.id == id }
    }

    /// The complete video stored under `path` (moments name their video by path), or nil.
    public func video(path: String) throws -> IndexedVideo? {
        try videos().first { $0.path == path }
    }

    /// Stored captions of one video, in time order.
    public func captions(videoID: Int64) throws -> [IndexedCaption] {
        let matrix = try index.matrix()
        guard let slot = matrix.videos.firstIndex(where: { $0.id == videoID }) else { return [] }
        return matrix.captions[slot]
    }

    // MARK: - Thumbnails

    /// A JPEG of `video` at `seconds` (FFmpeg decode + mjpeg), cached per video and tenth of a second.
    public func thumbnail(video: IndexedVideo, at seconds: Double) throws -> Data {
        let key = "\(video.id)@\(Int((seconds * 10).rounded()))"
        if let cached = thumbnails.get(key) { return cached }
        let jpeg = try ClipExporter.thumbnail(input: URL(fileURLWithPath: video.path), at: seconds)
        thumbnails.set(key, jpeg)
        return jpeg
    }
}

// MARK: - Query encoder

/// Turns a search query into an embedding in the index's space. `CLIPModel` is the one implementation.
public protocol QueryEncoding: Sendable {
    /// Identifies the weights (must equal the index's model).
    var modelIdentity: String { get }
    /// Embedding length.
    var embeddingSize: Int { get }
    /// The L2-normalised embedding of `text`.
    func embed(text: String) throws -> [Float]
    /// The L2-normalised embedding of a picture of any size (preprocessed as the model's reference does).
    func embed(image: RGBImage) throws -> [Float]
}

extension CLIPModel: QueryEncoding {
    /// CLIP's text tower.
    public func embed(text: String) throws -> [Float] {
        try encode(texts: [text])[0].values
    }

    /// CLIP's vision tower, after the reference resize and centre crop.
    public func embed(image: RGBImage) throws -> [Float] {
        try encode(stills: [image])[0].values
    }
}

// MARK: - Cache

/// A small cache that forgets its oldest entry when full.
final class BoundedCache<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private struct State {
        var values: [Key: Value] = [:]
        var order: [Key] = []
    }
    private let state = Locked(State())
    private let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    func get(_ key: Key) -> Value? { state.withLock { $0.values[key] } }

    func set(_ key: Key, _ value: Value) {
        state.withLock { s in
            if s.values.updateValue(value, forKey: key) == nil { s.order.append(key) }
            if s.order.count > capacity { s.values[s.order.removeFirst()] = nil }
        }
    }

    var count: Int { state.withLock { $0.values.count } }
}
