import CVLMKernels
import VLMCore

/// An `nn.Linear` weight (outFeatures, inFeatures) in float32, also held in the panels of 32 output columns that the
/// AVX-512 kernel reads (`vlm_linear_panels`).
///
/// The panels are packed the first time a product runs on the weight, so a tower that never runs (or runs at int8)
/// never gets a copy. (Not later, say at the second product, which would spare a one-shot `embed text` the packing:
/// an input's result would then depend on whether it came first, and it must not.) Once packed, the weight's pages
/// of a memory-mapped checkpoint are given back: the panels take their place in the resident set, which then holds
/// each float32 weight once, as before. The row-major weight stays readable (from the file again, if a kernel on
/// another thread choice asks for it).
///
/// Written once, under a lock, and only read afterwards, hence `@unchecked Sendable`.
public final class FloatPanels: @unchecked Sendable {
    public let weight: Tensor
    /// The panels, once made (64-byte aligned, `vlm_panels_count` floats).
    private let store = Locked<UnsafeMutablePointer<Float>?>(nil)

    public init(_ weight: Tensor) {
        precondition(weight.shape.count == 2, "FloatPanels: a weight is 2-D, not \(weight.shape)")
        self.weight = weight
    }

    public var outFeatures: Int { weight.shape[0] }
    public var inFeatures: Int { weight.shape[1] }

    /// The panels, packed from the weight now if they are not yet.
    public func panels() -> UnsafePointer<Float> {
        let panels = store.withLock { stored -> UnsafeMutablePointer<Float> in
            if let stored { return stored }
            let (n, k) = (outFeatures, inFeatures)
            let count = Int(vlm_panels_count(n, k))
            let panels = UnsafeMutableRawPointer.allocate(byteCount: max(64, count * 4), alignment: 64)
                .bindMemory(to: Float.self, capacity: max(16, count))
            // ~0.4–1.6 ms per MB on one core, mostly first touches of the new pages: the workers share it.
            let (source, target, width) = (
                SendablePointer(weight.data), SendablePointer(panels), Int(vlm_panel_width())
            )
            Parallel.forEachRange((n + width - 1) / width, grain: 4) { range in
                vlm_panels_pack(
                    source.base, k, n, k, range.lowerBound * width, range.upperBound * width, target.base)
            }
            weight.releaseMappedPages()
            stored = panels
            return panels
        }
        return UnsafePointer(panels)
    }

    deinit {
        store.withLock { $0?.deallocate() }
    }
}
