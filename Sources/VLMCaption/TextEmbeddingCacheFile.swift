import Foundation
import VLMCore

/// The on-disk text embedding cache. Little-endian layout:
///
///     "VLMTXTE1"                      8 bytes magic
///     u32 identity length, bytes      the model identity (UTF-8)
///     u32 dimension, u32 count
///     count × (u32 text length, UTF-8 text, dimension × f32)
///     u64 FNV-1a of everything above
///
/// Written to a temporary file and renamed into place, so a crash leaves the old file or the new one, never half.
struct TextEmbeddingCacheFile {
    /// Why a cache file was refused.
    struct FormatError: Error, CustomStringConvertible {
        var description: String
    }

    static let magic = Array("VLMTXTE1".utf8)

    var modelIdentity: String
    var dimension: Int
    var entries: [String: Embedding]

    // MARK: - Writing

    func write(to url: URL) throws {
        var bytes: [UInt8] = Self.magic
        let identity = Array(modelIdentity.utf8)
        bytes.appendLE(UInt32(identity.count))
        bytes += identity
        bytes.appendLE(UInt32(dimension))
        bytes.appendLE(UInt32(entries.count))
        for text in entries.keys.sorted() {
            let utf8 = Array(text.utf8)
            bytes.appendLE(UInt32(utf8.count))
            bytes += utf8
            bytes.appendLittleEndian(entries[text]!.values)
        }
        bytes.appendLE(FNV1a64.hash(bytes))
        try FileManager.default.createDirectory(
            at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(bytes).write(to: url, options: .atomic)
    }

    // MARK: - Reading

    static func read(from url: URL) throws -> TextEmbeddingCacheFile {
        let bytes = [UInt8](try Data(contentsOf: url))
        guard bytes.count >= magic.count + 8 + 8, Array(bytes[0..<magic.count]) == magic else {
            throw FormatError(description: "not a vlm-stream text embedding cache")
        }
        let body = bytes.count - 8
        var reader = ByteReader(bytes: bytes, offset: body)
        guard try reader.uint64() == FNV1a64.hash(bytes[0..<body]) else {
            throw FormatError(description: "checksum mismatch")
        }
        reader = ByteReader(bytes: bytes, offset: magic.count, end: body)
        let identity = try reader.string(count: Int(try reader.uint32()))
        let dimension = Int(try reader.uint32())
        let count = Int(try reader.uint32())
        // Each entry takes at least its length field and its floats: a count the remaining bytes cannot hold is
        // refused before anything is reserved for it.
        guard count <= reader.remaining / (4 + 4 * dimension) else {
            throw FormatError(description: "says \(count) entries of dimension \(dimension), the file is too short")
        }
        var entries: [String: Embedding] = [:]
        entries.reserveCapacity(count)
        for _ in 0..<count {
            let text = try reader.string(count: Int(try reader.uint32()))
            entries[text] = Embedding(try reader.floats(count: dimension))
        }
        guard reader.offset == body else { throw FormatError(description: "trailing bytes") }
        return TextEmbeddingCacheFile(modelIdentity: identity, dimension: dimension, entries: entries)
    }
}

// MARK: - Bytes

/// Bounds-checked little-endian reads.
private struct ByteReader {
    let bytes: [UInt8]
    var offset: Int
    var end: Int

    /// Bytes left before `end`.
    var remaining: Int { end - offset }

    init(bytes: [UInt8], offset: Int, end: Int? = nil) {
        self.bytes = bytes
        self.offset = offset
        self.end = end ?? bytes.count
    }

    private mutating func take(_ count: Int) throws -> ArraySlice<UInt8> {
        guard count >= 0, count <= end - offset else {
            throw TextEmbeddingCacheFile.FormatError(description: "truncated at byte \(offset)")
        }
        defer { offset += count }
        return bytes[offset..<offset + count]
    }

    mutating func uint32() throws -> UInt32 {
        try take(4).reversed().reduce(0) { $0 << 8 | UInt32($1) }
    }

    mutating func uint64() throws -> UInt64 {
        try take(8).reversed().reduce(0) { $0 << 8 | UInt64($1) }
    }

    mutating func floats(count: Int) throws -> [Float] {
        let slice = try take(count * 4)
        var values = [Float](repeating: 0, count: count)
        values.withUnsafeMutableBytes { $0.copyBytes(from: slice) }
        #if _endian(big)
            values = values.map { Float(bitPattern: $0.bitPattern.byteSwapped) }
        #endif
        return values
    }

    mutating func string(count: Int) throws -> String {
        guard let text = String(bytes: try take(count), encoding: .utf8) else {
            throw TextEmbeddingCacheFile.FormatError(description: "invalid UTF-8 at byte \(offset)")
        }
        return text
    }
}

extension [UInt8] {
    fileprivate mutating func appendLE<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }

    fileprivate mutating func appendLittleEndian(_ values: [Float]) {
        #if _endian(big)
            for value in values { appendLE(value.bitPattern) }
        #else
            values.withUnsafeBytes { append(contentsOf: $0) }
        #endif
    }
}

/// 64-bit FNV-1a: a cheap checksum for the cache file and a stable hash for its name.
enum FNV1a64 {
    static func hash<C: Collection>(_ bytes: C) -> UInt64 where C.Element == UInt8 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return hash
    }
}
