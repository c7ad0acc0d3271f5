/// A dense row-major float32 tensor: either its own 64-byte-aligned allocation or a borrowed view into memory kept
/// alive by `owner` (a memory-mapped weights file).
///
/// Weights are written once while loading and only read afterwards, so one instance is shared by every thread.
/// Scratch tensors belong to a single workspace that one forward pass uses at a time. That discipline, not the type
/// system, is what makes the raw pointer safe to share, hence `@unchecked Sendable`.
public final class Tensor: @unchecked Sendable {
    /// Extent of each dimension, outermost first (PyTorch order).
    public let shape: [Int]
    /// Number of elements, the product of `shape`.
    public let count: Int
    /// First element. Mutate only tensors you own and nobody else is reading.
    public let data: UnsafeMutablePointer<Float>
    private let owner: AnyObject?

    /// A zero-filled tensor of `shape`, 64-byte aligned.
    public init(zeros shape: [Int]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "Tensor: negative extent in \(shape)")
        self.shape = shape
        self.count = shape.reduce(1, *)
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * 4, alignment: 64)
        raw.initializeMemory(as: Float.self, repeating: 0, count: max(count, 1))
        self.data = raw.assumingMemoryBound(to: Float.self)
        self.owner = nil
    }

    /// A tensor of `shape` holding a copy of `values` (row-major).
    public convenience init(_ values: [Float], shape: [Int]) {
        self.init(zeros: shape)
        precondition(values.count == count, "Tensor: \(values.count) values for shape \(shape)")
        values.withUnsafeBufferPointer { data.update(from: $0.baseAddress!, count: count) }
    }

    /// A read-only view of `count(shape)` floats at `pointer`, valid while `owner` lives.
    public init(borrowing pointer: UnsafePointer<Float>, shape: [Int], owner: AnyObject) {
        self.shape = shape
        self.count = shape.reduce(1, *)
        self.data = UnsafeMutablePointer(mutating: pointer)
        self.owner = owner
    }

    deinit {
        if owner == nil { UnsafeMutableRawPointer(data).deallocate() }
    }

    /// True when this tensor views memory owned by someone else (e.g. an mmap).
    public var isBorrowed: Bool { owner != nil }

    /// All elements as a buffer.
    public var buffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: data, count: count) }

    /// A copy of the elements (for tests and small results).
    public var values: [Float] { Array(UnsafeBufferPointer(start: data, count: count)) }

    /// Hands the pages of a tensor borrowed from a `MappedFile` back to the kernel (`madvise(MADV_DONTNEED)` on the
    /// whole pages inside it), so they leave the resident set; a later read maps them in again from the file, with the
    /// same contents (the mapping is read-only and private). Does nothing for any other tensor. For weights that a
    /// converted copy replaces (int8 made at load).
    public func releaseMappedPages() {
        guard owner is MappedFile else { return }
        MappedFile.releasePages(data, byteCount: byteCount)
    }

    /// Size of the tensor's elements in bytes.
    public var byteCount: Int { count * MemoryLayout<Float>.stride }
}

/// A pointer that may cross into `DispatchQueue.concurrentPerform` workers. Each worker touches a disjoint range,
/// which the caller guarantees.
public struct SendablePointer<T>: @unchecked Sendable {
    public let base: UnsafeMutablePointer<T>
    public init(_ base: UnsafeMutablePointer<T>) { self.base = base }
    public init(_ base: UnsafePointer<T>) { self.base = UnsafeMutablePointer(mutating: base) }
}
