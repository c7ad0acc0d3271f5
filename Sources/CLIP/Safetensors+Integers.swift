import Foundation
import VLMTensor

// MARK: - Integer tensors (int8 checkpoints)

extension SafetensorsFile {
    /// The entry `key`, checked to exist with `dtype` and `shape` (the header already checked that its byte range
    /// lies inside the file and matches the shape); a one-line error otherwise.
    func entry(_ key: String, dtype: DType, shape expected: [Int]) throws -> Entry {
        guard let entry = entries[key] else {
            throw CLIPLoadError(
                file: name, "tensor \(key) is missing (an int8 checkpoint is incomplete; run `models quantize` again)")
        }
        guard entry.dtype == dtype else {
            throw CLIPLoadError(
                file: name,
                "tensor \(key) has dtype \(entry.dtype.rawValue), an int8 checkpoint stores it as "
                    + dtype.rawValue)
        }
        guard entry.shape == expected else {
            throw CLIPLoadError(file: name, "tensor \(key) has shape \(entry.shape), config.json implies \(expected)")
        }
        return entry
    }

    /// The I8 tensor `key` of `shape`, borrowed from the mapping (valid while this file lives).
    public func int8(_ key: String, shape: [Int]) throws -> UnsafePointer<Int8> {
        let entry = try entry(key, dtype: .i8, shape: shape)
        return UnsafePointer((file.bytes + dataStart + entry.range.lowerBound).assumingMemoryBound(to: Int8.self))
    }

    /// The I32 tensor `key` of `shape`, copied.
    public func int32(_ key: String, shape: [Int]) throws -> [Int32] {
        let entry = try entry(key, dtype: .i32, shape: shape)
        let source = UnsafeRawPointer(file.bytes + dataStart + entry.range.lowerBound)
        return (0..<entry.range.count / 4).map {
            Int32(littleEndian: source.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self))
        }
    }

    /// The bytes of `key` as stored, without a copy (valid while this file lives).
    func storedBytes(_ key: String) -> Data? {
        guard let entry = entries[key] else { return nil }
        let pointer = UnsafeMutableRawPointer(mutating: file.bytes + dataStart + entry.range.lowerBound)
        return Data(bytesNoCopy: pointer, count: entry.range.count, deallocator: .none)
    }

    /// The shape of `key` when the file has it.
    public func shape(of key: String) -> [Int]? { entries[key]?.shape }
}
