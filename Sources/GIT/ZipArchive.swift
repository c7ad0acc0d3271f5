import Foundation
import VLMTensor

/// The entries of a zip archive as `torch.save` writes them: stored (uncompressed), each a byte range of the
/// memory-mapped file. Only the central directory and local headers are read, every offset is bounds-checked,
/// and nothing is decompressed or executed.
struct ZipArchive {
    struct Entry {
        var name: String
        /// The entry's bytes within the file.
        var range: Range<Int>
    }

    let file: MappedFile
    let name: String
    /// Entries by name.
    let entries: [String: Entry]

    init(file: MappedFile, name: String) throws {
        self.file = file
        self.name = name
        entries = try Self.readDirectory(file, name: name)
    }

    private static func readDirectory(_ file: MappedFile, name: String) throws -> [String: Entry] {
        func fail(_ problem: String) -> GITLoadError { GITLoadError(file: name, problem) }
        let size = file.size
        func u16(_ at: Int) throws -> Int {
            guard at >= 0, at + 2 <= size else { throw fail("zip structure points past the end (truncated?)") }
            return Int(UInt16(littleEndian: file.bytes.loadUnaligned(fromByteOffset: at, as: UInt16.self)))
        }
        func u32(_ at: Int) throws -> Int {
            guard at >= 0, at + 4 <= size else { throw fail("zip structure points past the end (truncated?)") }
            return Int(UInt32(littleEndian: file.bytes.loadUnaligned(fromByteOffset: at, as: UInt32.self)))
        }
        func u64(_ at: Int) throws -> Int {
            guard at >= 0, at + 8 <= size else { throw fail("zip structure points past the end (truncated?)") }
            let value = UInt64(littleEndian: file.bytes.loadUnaligned(fromByteOffset: at, as: UInt64.self))
            // No offset or size can exceed the file, which also keeps every sum below from overflowing.
            guard value <= UInt64(size) else { throw fail("zip64 field \(value) lies beyond the file (corrupt)") }
            return Int(value)
        }
        // End of central directory: the last "PK\5\6" within 64 KiB + 22 bytes of the end.
        var eocd = -1
        var at = size - 22
        while at >= max(0, size - 22 - 65_535) {
            if try u32(at) == 0x0605_4B50 {
                eocd = at
                break
            }
            at -= 1
        }
        guard eocd >= 0 else {
            throw fail(
                "not a zip archive, or truncated (no end-of-central-directory record); a PyTorch "
                    + "checkpoint is a zip written by torch.save")
        }
        var count = try u16(eocd + 10)
        var directorySize = try u32(eocd + 12)
        var directoryStart = try u32(eocd + 16)
        // Zip64: the locator sits just before the EOCD record.
        if eocd >= 20, try u32(eocd - 20) == 0x0706_4B50 {
            let record = try u64(eocd - 20 + 8)
            guard try u32(record) == 0x0606_4B50 else { throw fail("zip64 end-of-central-directory record is corrupt") }
            count = try u64(record + 32)
            directorySize = try u64(record + 40)
            directoryStart = try u64(record + 48)
        }
        guard directoryStart + directorySize <= size, count <= directorySize / 46 + 1 else {
            throw fail("central directory lies outside the file (truncated?)")
        }
        var entries: [String: Entry] = [:]
        var p = directoryStart
        for _ in 0..<count {
            guard try u32(p) == 0x0201_4B50 else { throw fail("central directory entry is corrupt") }
            let method = try u16(p + 10)
            var compressed = try u32(p + 20)
            var uncompressed = try u32(p + 24)
            let nameLength = try u16(p + 28)
            let extraLength = try u16(p + 30)
            let commentLength = try u16(p + 32)
            var localHeader = try u32(p + 42)
            guard p + 46 + nameLength <= size else { throw fail("central directory entry is truncated") }
            let entryName = String(
                decoding: UnsafeRawBufferPointer(start: file.bytes + p + 46, count: nameLength),
                as: UTF8.self)
            // Zip64 extra field (id 1): the 0xFFFFFFFF fields, in order.
            var e = p + 46 + nameLength
            let extraEnd = e + extraLength
            while e + 4 <= extraEnd {
                let id = try u16(e)
                let length = try u16(e + 2)
                if id == 1 {
                    var q = e + 4
                    if uncompressed == 0xFFFF_FFFF {
                        uncompressed = try u64(q)
                        q += 8
                    }
                    if compressed == 0xFFFF_FFFF {
                        compressed = try u64(q)
                        q += 8
                    }
                    if localHeader == 0xFFFF_FFFF { localHeader = try u64(q) }
                }
                e += 4 + length
            }
            guard method == 0, compressed == uncompressed else {
                throw fail(
                    "entry \(entryName) is compressed (method \(method)); torch.save stores entries uncompressed")
            }
            guard try u32(localHeader) == 0x0403_4B50 else { throw fail("local header of \(entryName) is corrupt") }
            let start = localHeader + 30 + (try u16(localHeader + 26)) + (try u16(localHeader + 28))
            guard start >= 0, start <= size, compressed <= size - start else {
                throw fail("entry \(entryName) spans past the end of the file (truncated?)")
            }
            entries[entryName] = Entry(name: entryName, range: start..<(start + compressed))
            p = extraEnd + commentLength
        }
        return entries
    }

    /// The bytes of `entry`.
    func bytes(_ entry: Entry) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: file.bytes + entry.range.lowerBound, count: entry.range.count)
    }
}
