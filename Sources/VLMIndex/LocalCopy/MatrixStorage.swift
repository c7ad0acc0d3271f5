import Foundation

/// The values behind an `EmbeddingMatrix`, in the index's stored form: fp16 bit patterns (IEEE binary16), either in
/// memory or a read-only mapping of a local copy's file (`LocalEmbeddingCopy`), so searching a large shared index
/// reads the page cache instead of the network, and 10⁷ 512-d frames take 10 GB instead of fp32's 20 GB. Search
/// widens them while it multiplies (`GEMV.scoreRows(halves:…)`): the scores are those of the stored values, on both
/// stores.
///
/// Immutable once made; the mapping is released with the last matrix that uses it.
final class MatrixStorage: @unchecked Sendable {
    // @unchecked: `base` is never written through and lives exactly as long as this object (array or mapping).
    private let base: UnsafePointer<UInt16>?
    /// Number of values.
    let count: Int
    /// Bytes mapped (0: the values were allocated).
    private let mappedBytes: Int

    /// Values held in memory.
    init(_ halves: [UInt16]) {
        let buffer = UnsafeMutableBufferPointer<UInt16>.allocate(capacity: max(halves.count, 1))
        _ = buffer.initialize(from: halves)
        base = UnsafePointer(buffer.baseAddress)
        count = halves.count
        mappedBytes = 0
    }

    /// The first `count` fp16 values of the file `descriptor`, mapped read-only (the descriptor may be closed
    /// afterwards). Throws when the file is shorter or cannot be mapped.
    init(mapping descriptor: Int32, count: Int, path: String) throws {
        self.count = count
        guard count > 0 else {
            base = nil
            mappedBytes = 0
            return
        }
        let bytes = count * MemoryLayout<UInt16>.stride
        var info = stat()
        guard fstat(descriptor, &info) == 0, Int(info.st_size) >= bytes else {
            throw IndexError.notAnIndex(path: path, reason: "the local copy's embedding file is shorter than its state")
        }
        guard let mapped = mmap(nil, bytes, PROT_READ, MAP_SHARED, descriptor, 0), mapped != MAP_FAILED else {
            throw IndexError.database(
                path: path, reason: "cannot map the local copy: \(String(cString: strerror(errno)))")
        }
        base = UnsafePointer(mapped.assumingMemoryBound(to: UInt16.self))
        mappedBytes = bytes
    }

    deinit {
        guard let base else { return }
        if mappedBytes > 0 {
            munmap(UnsafeMutableRawPointer(mutating: base), mappedBytes)
        } else {
            UnsafeMutablePointer(mutating: base).deallocate()
        }
    }

    /// Runs `body` over the fp16 bit patterns.
    func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<UInt16>) throws -> R) rethrows -> R {
        try body(UnsafeBufferPointer(start: base, count: count))
    }
}
