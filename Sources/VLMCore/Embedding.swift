/// A CLIP embedding. Encoders return them L2-normalised, so `dot` is cosine similarity.
public struct Embedding: Sendable, Equatable, Codable {
    public var values: [Float]

    public init(_ values: [Float]) {
        self.values = values
    }

    public var count: Int { values.count }

    /// Inner product; cosine similarity for normalised embeddings.
    @inlinable
    public func dot(_ other: Embedding) -> Float {
        precondition(values.count == other.values.count, "embedding sizes differ")
        var sum: Float = 0
        for i in values.indices { sum += values[i] * other.values[i] }
        return sum
    }

    /// This vector scaled to unit length (unchanged if it is all zeros).
    public func normalized() -> Embedding {
        var norm: Float = 0
        for v in values { norm += v * v }
        norm = norm.squareRoot()
        guard norm > 0 else { return self }
        return Embedding(values.map { $0 / norm })
    }
}
