import CVLMKernels
import VLMCore

/// An `nn.Linear` weight (outFeatures, inFeatures) in int8, symmetric per output row: `W[j, p] ≈ scales[j] · q[j, p]`
/// with `q ∈ [−127, 127]`, plus the row sums `Σ_p q[j, p]` the kernel's offset correction needs (see
/// `vlm_linear_q8_packed`).
///
/// The int8 values are held in the layout this CPU's kernel reads:
/// - row-major (`rowMajor`), owned (quantized at load) or borrowed from a memory-mapped int8 checkpoint kept alive
///   by `owner`;
/// - panels of 64 output columns (`vlm_q8_pack_panels`) on a CPU with AVX512-VNNI. Quantized at load, the weight is
///   packed at once and the row-major values are not kept. Borrowed, it is packed the first time a linear layer
///   uses it, so a tower that never runs never enters the resident set, and the mapped file's pages for it are then
///   given back (they are read again from the file only if a row-major kernel asks for them).
///
/// Written while loading (and the panels once, under a lock), only read afterwards, hence `@unchecked Sendable`.
public final class QuantizedWeight: @unchecked Sendable {
    public let outFeatures: Int
    public let inFeatures: Int
    /// (outFeatures, inFeatures) row-major int8, unless the weight was quantized at load into panels.
    public let rowMajor: UnsafePointer<Int8>?
    /// (outFeatures) fp32 scales.
    public let scales: Tensor
    /// (outFeatures) Σ_p q[j, p].
    public let sums: UnsafePointer<Int32>
    private let ownedRowMajor: UnsafeMutablePointer<Int8>?
    private let ownedSums: UnsafeMutablePointer<Int32>
    private let owner: AnyObject?
    /// Whether `rowMajor` is a read-only file mapping, whose pages may be given back once packed.
    private let rowMajorIsMapped: Bool
    /// The panels, once made (64-byte aligned, `vlm_q8_panel_bytes` bytes).
    private let panelStore: Locked<UnsafeMutableRawPointer?>

    /// Quantizes an fp32 weight of shape (outFeatures, inFeatures), each column p first multiplied by
    /// `columnScales[p]` when given (SmoothQuant's factors, or 0 for a column kept out of the int8 product), with no
    /// scaled copy of the weight.
    public init(quantizing weight: Tensor, columnScales: [Float]? = nil) {
        precondition(weight.shape.count == 2, "QuantizedWeight: a weight is 2-D, not \(weight.shape)")
        precondition(columnScales.map { $0.count == weight.shape[1] } ?? true, "QuantizedWeight: a scale per column")
        let (n, k) = (weight.shape[0], weight.shape[1])
        outFeatures = n
        inFeatures = k
        scales = Tensor(zeros: [n])
        ownedSums = UnsafeMutablePointer<Int32>.allocate(capacity: max(1, n))
        sums = UnsafePointer(ownedSums)
        owner = nil
        rowMajorIsMapped = false
        if vlm_q8_cpu_has_panels() != 0 {
            let panels = Self.allocatePanels(outFeatures: n, inFeatures: k)
            vlm_q8_quantize_panels(
                weight.data, n, k, columnScales, panels.assumingMemoryBound(to: Int8.self), scales.data, ownedSums)
            panelStore = Locked(panels)
            ownedRowMajor = nil
            rowMajor = nil
        } else {
            let q = UnsafeMutablePointer<Int8>.allocate(capacity: max(1, n * k))
            vlm_q8_quantize_weights(weight.data, n, k, columnScales, q, scales.data)
            vlm_q8_weight_sums(q, k, n, k, ownedSums)
            panelStore = Locked(nil)
            ownedRowMajor = q
            rowMajor = UnsafePointer(q)
        }
    }

    /// A view of int8 values at `pointer` (valid while `owner` lives) with their `scales` ((outFeatures) fp32).
    /// With `sums` (the row sums stored beside the int8 values, as `models quantize` writes them), the int8 values
    /// are not read at load, so a tower that never runs never enters the resident set; without, they are computed.
    /// `mapped`: the values are part of a read-only file mapping, whose pages may be given back once packed.
    public init(
        borrowing pointer: UnsafePointer<Int8>, outFeatures: Int, inFeatures: Int, scales: Tensor,
        sums storedSums: [Int32]? = nil, owner: AnyObject, mapped: Bool = false
    ) {
        precondition(scales.count == outFeatures, "QuantizedWeight: \(scales.count) scales for \(outFeatures) rows")
        precondition(storedSums.map { $0.count == outFeatures } ?? true, "QuantizedWeight: one sum per row")
        self.outFeatures = outFeatures
        self.inFeatures = inFeatures
        self.rowMajor = pointer
        self.scales = scales
        ownedRowMajor = nil
        ownedSums = UnsafeMutablePointer<Int32>.allocate(capacity: max(1, outFeatures))
        if let storedSums {
            for (j, sum) in storedSums.enumerated() { ownedSums[j] = sum }
        } else {
            vlm_q8_weight_sums(pointer, inFeatures, outFeatures, inFeatures, ownedSums)
        }
        sums = UnsafePointer(ownedSums)
        self.owner = owner
        rowMajorIsMapped = mapped
        panelStore = Locked(nil)
    }

    /// The row sums `Σ_p q[j, p]` as an array (to store them beside the weights).
    public var rowSums: [Int32] { Array(UnsafeBufferPointer(start: sums, count: outFeatures)) }

    /// The int8 values row-major, (outFeatures, inFeatures), whichever layout holds them.
    public var values: [Int8] {
        if let rowMajor { return Array(UnsafeBufferPointer(start: rowMajor, count: outFeatures * inFeatures)) }
        return [Int8](unsafeUninitializedCapacity: outFeatures * inFeatures) { buffer, count in
            vlm_q8_unpack_panels(panels(), outFeatures, inFeatures, buffer.baseAddress)
            count = outFeatures * inFeatures
        }
    }

    /// The layout the calling thread's int8 kernel reads: the panels when it is the panel kernel (made now if they
    /// are not yet) or when the weight has no row-major values, else nil for `rowMajor`.
    func panelsForCallingThread() -> UnsafePointer<Int8>? {
        rowMajor == nil || vlm_q8_runs_panels() != 0 ? panels() : nil
    }

    /// The panels, packed from the row-major values on first use.
    func panels() -> UnsafePointer<Int8> {
        let raw = panelStore.withLock { stored -> UnsafeMutableRawPointer in
            if let stored { return stored }
            guard let rowMajor else { preconditionFailure("QuantizedWeight: neither row-major values nor panels") }
            let panels = Self.packPanels(rowMajor, outFeatures: outFeatures, inFeatures: inFeatures)
            if rowMajorIsMapped { MappedFile.releasePages(rowMajor, byteCount: outFeatures * inFeatures) }
            stored = panels
            return panels
        }
        return UnsafePointer(raw.assumingMemoryBound(to: Int8.self))
    }

    private static func allocatePanels(outFeatures: Int, inFeatures: Int) -> UnsafeMutableRawPointer {
        UnsafeMutableRawPointer.allocate(
            byteCount: max(64, Int(vlm_q8_panel_bytes(outFeatures, inFeatures))), alignment: 64)
    }

    private static func packPanels(
        _ values: UnsafePointer<Int8>, outFeatures: Int, inFeatures: Int
    ) -> UnsafeMutableRawPointer {
        let panels = allocatePanels(outFeatures: outFeatures, inFeatures: inFeatures)
        vlm_q8_pack_panels(values, inFeatures, outFeatures, inFeatures, panels.assumingMemoryBound(to: Int8.self))
        return panels
    }

    deinit {
        ownedRowMajor?.deallocate()
        ownedSums.deallocate()
        panelStore.withLock { $0?.deallocate() }
    }

    /// The dequantized weight `scales[j] · q[j, p]`, row-major (for tests and references).
    public func dequantized() -> [Float] {
        let q = values
        return (0..<(outFeatures * inFeatures)).map { scales.data[$0 / inFeatures] * Float(q[$0]) }
    }
}
