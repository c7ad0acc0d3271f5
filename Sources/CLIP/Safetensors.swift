import Foundation
import VLMTensor

/// A `.safetensors` file mapped into memory: an 8-byte little-endian header length, a JSON header naming each
/// tensor's dtype, shape and byte range, then the raw data. The header is validated completely at open; tensor data
/// is only touched when a tensor is read.
public final class SafetensorsFile: Sendable {
    /// Element types this reader can turn into float32.
    public enum DType: String, Sendable {
        case f32 = "F32"
        case f16 = "F16"
        case bf16 = "BF16"
        case f64 = "F64"
        case i64 = "I64"
        case i32 = "I32"
        case i16 = "I16"
        case i8 = "I8"
        case u8 = "U8"
        case bool = "BOOL"

        /// Bytes per element.
        public var size: Int {
            switch self {
            case .f64, .i64: 8
            case .f32, .i32: 4
            case .f16, .bf16, .i16: 2
            case .i8, .u8, .bool: 1
            }
        }
    }

    /// One entry of the header.
    public struct Entry: Sendable, Equatable {
        public var dtype: DType
        public var shape: [Int]
        /// Byte range relative to the start of the data section.
        public var range: Range<Int>
    }

    /// The file name used in error messages.
    public let name: String
    /// Tensor entries by name.
    public let entries: [String: Entry]
    /// The header's `__metadata__` (string to string; empty when absent).
    public let metadata: [String: String]
    let file: MappedFile
    let dataStart: Int

    /// Maps and validates `url`. Throws `CLIPLoadError` naming the file for anything malformed.
    public init(url: URL) throws {
        name = url.lastPathComponent
        do {
            file = try MappedFile(path: url.path)
        } catch let failure as MappedFile.Failure {
            throw CLIPLoadError(file: name, "cannot read (\(failure.reason))")
        }
        let (entries, metadata, dataStart) = try Self.parseHeader(file, name: name)
        self.entries = entries
        self.metadata = metadata
        self.dataStart = dataStart
    }

    /// Total bytes of tensor data.
    public var dataByteCount: Int { file.size - dataStart }

    /// The tensor `key` as float32 of the expected `shape`. F32 data aligned to 4 bytes is borrowed straight from the
    /// mapping; F16/BF16 are converted once into a new buffer.
    public func tensor(_ key: String, shape expected: [Int]) throws -> Tensor {
        guard let entry = entries[key] else {
            throw CLIPLoadError(
                file: name, "tensor \(key) is missing (is this a CLIP checkpoint in Hugging Face format?)")
        }
        guard entry.shape == expected else {
            throw CLIPLoadError(
                file: name, "tensor \(key) has shape \(entry.shape), config.json implies \(expected)")
        }
        let source = file.bytes + dataStart + entry.range.lowerBound
        let count = expected.reduce(1, *)
        switch entry.dtype {
        case .f32 where Int(bitPattern: source) % MemoryLayout<Float>.alignment == 0:
            return Tensor(borrowing: source.assumingMemoryBound(to: Float.self), shape: expected, owner: file)
        case .f32:
            let t = Tensor(zeros: expected)
            UnsafeMutableRawPointer(t.data).copyMemory(from: source, byteCount: count * 4)
            return t
        case .f16:
            let t = Tensor(zeros: expected)
            for i in 0..<count {
                t.data[i] = Half.toFloat(source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
            }
            return t
        case .bf16:
            let t = Tensor(zeros: expected)
            for i in 0..<count {
                let bits = UInt32(source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) << 16
                t.data[i] = Float(bitPattern: bits)
            }
            return t
        default:
            throw CLIPLoadError(
                file: name, "tensor \(key) has dtype \(entry.dtype.rawValue); only F32, F16 and BF16 can be loaded")
        }
    }

    // MARK: - Header

    private static func parseHeader(
        _ file: MappedFile, name: String
    ) throws -> ([String: Entry], [String: String], Int) {
        guard file.size >= 8 else {
            throw CLIPLoadError(file: name, "file is \(file.size) bytes, too short for a header")
        }
        let rawLength = UInt64(littleEndian: file.bytes.loadUnaligned(as: UInt64.self))
        let headerLength = Int(min(rawLength, UInt64(Int.max)))
        guard headerLength > 1, headerLength <= file.size - 8 else {
            throw CLIPLoadError(
                file: name,
                "header length \(headerLength) does not fit in a \(file.size)-byte file (truncated or not safetensors)")
        }
        let headerData = Data(bytes: file.bytes + 8, count: headerLength)
        guard let json = try? JSONSerialization.jsonObject(with: headerData), let object = json as? [String: Any] else {
            throw CLIPLoadError(file: name, "header is not a JSON object (truncated or not safetensors)")
        }
        let dataStart = 8 + headerLength
        let dataLength = file.size - dataStart
        var metadata: [String: String] = [:]
        if let value = object["__metadata__"] {
            guard let strings = value as? [String: String] else {
                throw CLIPLoadError(file: name, "__metadata__ is not an object of strings (corrupt header)")
            }
            metadata = strings
        }
        var entries: [String: Entry] = [:]
        for (key, value) in object where key != "__metadata__" {
            guard let info = value as? [String: Any], let dtypeName = info["dtype"] as? String,
                let shape = info["shape"] as? [Int], let offsets = info["data_offsets"] as? [Int], offsets.count == 2
            else {
                throw CLIPLoadError(file: name, "header entry for \(key) lacks dtype, shape or data_offsets")
            }
            guard let dtype = DType(rawValue: dtypeName) else {
                throw CLIPLoadError(file: name, "tensor \(key) has unknown dtype \(dtypeName)")
            }
            guard shape.allSatisfy({ $0 >= 0 }) else {
                throw CLIPLoadError(file: name, "tensor \(key) has a negative extent in shape \(shape)")
            }
            let (begin, end) = (offsets[0], offsets[1])
            guard begin >= 0, end >= begin, end <= dataLength else {
                throw CLIPLoadError(
                    file: name,
                    "tensor \(key) spans bytes \(begin)..<\(end) but the data section has \(dataLength) (truncated?)")
            }
            // The element count and byte size are computed with overflow checks: a hostile shape such as [2^61]
            // or [2^31, 2^31] must be refused, not trap.
            guard let bytes = Self.byteCount(shape: shape, elementSize: dtype.size) else {
                throw CLIPLoadError(
                    file: name,
                    "tensor \(key) of shape \(shape) and dtype \(dtypeName) is larger than any file can hold "
                        + "(corrupt header; re-download the checkpoint)")
            }
            guard bytes == end - begin else {
                throw CLIPLoadError(
                    file: name,
                    "tensor \(key) of shape \(shape) and dtype \(dtypeName) needs \(bytes) bytes, "
                        + "its byte range holds \(end - begin)")
            }
            entries[key] = Entry(dtype: dtype, shape: shape, range: begin..<end)
        }
        // As the safetensors library does, no two tensors may share bytes: a hostile header could otherwise make one
        // weight read another's data.
        let byStart = entries.filter { !$0.value.range.isEmpty }.sorted {
            $0.value.range.lowerBound < $1.value.range.lowerBound
        }
        for (a, b) in zip(byStart, byStart.dropFirst()) where b.value.range.lowerBound < a.value.range.upperBound {
            throw CLIPLoadError(
                file: name,
                "tensors \(a.key) and \(b.key) overlap (bytes \(a.value.range) and \(b.value.range)); corrupt header, "
                    + "re-download the checkpoint")
        }
        return (entries, metadata, dataStart)
    }

    /// The bytes a tensor of `shape` takes, or nil when the product overflows `Int`.
    static func byteCount(shape: [Int], elementSize: Int) -> Int? {
        var total = elementSize
        for extent in shape {
            let (product, overflow) = total.multipliedReportingOverflow(by: extent)
            guard !overflow else { return nil }
            total = product
        }
        return total
    }
}

// MARK: - Half precision

/// IEEE 754 binary16 → binary32 by bit manipulation (Float16 is not available on every platform Swift targets).
enum Half {
    @inline(__always)
    static func toFloat(_ h: UInt16) -> Float {
        let sign = UInt32(h & 0x8000) << 16
        let exponent = Int((h >> 10) & 0x1F)
        let mantissa = UInt32(h & 0x3FF)
        switch exponent {
        case 0:
            // ±0 or subnormal: mantissa · 2⁻²⁴
            let magnitude = Float(mantissa) * 0x1p-24
            return sign == 0 ? magnitude : -magnitude
        case 31:
            return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
        default:
            return Float(bitPattern: sign | UInt32(exponent - 15 + 127) << 23 | (mantissa << 13))
        }
    }
}
