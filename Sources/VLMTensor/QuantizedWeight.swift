import CVLMKernels

/// An `nn.Linear` weight (outFeatures, inFeatures) in int8, symmetric per output row: `W[j, p] ≈ scales[j] · q[j, p]`
/// with `q ∈ [−127, 127]`, plus the row sums `Σ_p q[j, p]` the kernel's offset correction needs (see
/// `vlm_linear_q8_packed`). The int8 values are either owned (quantized at load) or borrowed from a memory-mapped
/// int8 checkpoint kept alive by `owner`.
///
/// Written once while loading, only read afterwards, hence `@unchecked Sendable` (as `Tensor`).
public final class QuantizedWeight: @unchecked Sendable {
    public let outFeatures: Int
    public let inFeatures: Int
    /// (outFeatures, inFeatures) row-major int8.
    public let data: UnsafePointer<Int8>
    /// (outFeatures) fp32 scales.
    public let scales: Tensor
    /// (outFeatures) Σ_p q[j, p].
    public let sums: UnsafePointer<Int32>
    private let ownedData: UnsafeMutablePointer<Int8>?
    private let ownedSums: UnsafeMutablePointer<Int32>
    private let owner: AnyObject?

    /// Quantizes an fp32 weight of shape (outFeatures, inFeatures).
    public init(quantizing weight: Tensor) {
        precondition(weight.shape.count == 2, "QuantizedWeight: a weight is 2-D, not \(weight.shape)")
        outFeatures = weight.shape[0]
        inFeatures = weight.shape[1]
        let q = UnsafeMutablePointer<Int8>.allocate(capacity: max(1, outFeatures * inFeatures))
        scales = Tensor(zeros: [outFeatures])
        vlm_q8_quantize_weights(weight.data, outFeatures, inFeatures, q, scales.data)
        ownedData = q
        data = UnsafePointer(q)
        ownedSums = UnsafeMutablePointer<Int32>.allocate(capacity: max(1, outFeatures))
        vlm_q8_weight_sums(q, inFeatures, outFeatures, inFeatures, ownedSums)
        sums = UnsafePointer(ownedSums)
        owner = nil
    }

    /// A view of int8 values at `pointer` (valid while `owner` lives) with their `scales` ((outFeatures) fp32).
    /// With `sums` (the row sums stored beside the int8 values, as `models quantize` writes them), the int8 values
    /// are not read at load, so a tower that never runs never enters the resident set; without, they are computed.
    public init(
        borrowing pointer: UnsafePointer<Int8>, outFeatures: Int, inFeatures: Int, scales: Tensor,
        sums storedSums: [Int32]? = nil, owner: AnyObject
    ) {
        precondition(scales.count == outFeatures, "QuantizedWeight: \(scales.count) scales for \(outFeatures) rows")
        precondition(storedSums.map { $0.count == outFeatures } ?? true, "QuantizedWeight: one sum per row")
        self.outFeatures = outFeatures
        self.inFeatures = inFeatures
        self.data = pointer
        self.scales = scales
        ownedData = nil
        ownedSums = UnsafeMutablePointer<Int32>.allocate(capacity: max(1, outFeatures))
        if let storedSums {
            for (j, sum) in storedSums.enumerated() { ownedSums[j] = sum }
        } else {
            vlm_q8_weight_sums(pointer, inFeatures, outFeatures, inFeatures, ownedSums)
        }
        sums = UnsafePointer(ownedSums)
        self.owner = owner
    }

    /// The row sums `Σ_p q[j, p]` as an array (to store them beside the weights).
    public var rowSums: [Int32] { Array(UnsafeBufferPointer(start: sums, count: outFeatures)) }

    deinit {
        ownedData?.deallocate()
        ownedSums.deallocate()
    }

    /// The dequantized weight `scales[j] · q[j, p]`, row-major (for tests and references).
    public func dequantized() -> [Float] {
        (0..<(outFeatures * inFeatures)).map { scales.data[$0 / inFeatures] * Float(data[$0]) }
    }
}
