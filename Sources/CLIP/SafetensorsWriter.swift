import Foundation
import VLMTensor

/// Writes a `.safetensors` file: the 8-byte little-endian header length, the JSON header (padded with spaces so the
/// data starts on an 8-byte boundary), then each tensor's bytes back to back, ordered by decreasing element size
/// (8-byte types, then float32 and int32, then 2-byte, then 1-byte), so every tensor stays aligned to its element
/// size in the file (and float32 ones can be borrowed from a mapping). Tensors are streamed to disk one at a time; the objects holding them stay alive until `write`.
public struct SafetensorsWriter {
    /// The bytes of one tensor.
    public enum Payload {
        case float32(Tensor)
        case int8(QuantizedWeight)
        case int32([Int32])
        /// Little-endian bytes of `dtype`, as they go into the file.
        case raw(SafetensorsFile.DType, Data)

        var dtype: SafetensorsFile.DType {
            switch self {
            case .float32: .f32
            case .int8: .i8
            case .int32: .i32
            case .raw(let dtype, _): dtype
            }
        }

        var byteCount: Int {
            switch self {
            case .float32(let t): t.byteCount
            case .int8(let w): w.outFeatures * w.inFeatures
            case .int32(let values): values.count * 4
            case .raw(_, let data): data.count
            }
        }
    }

    private var items: [(key: String, shape: [Int], payload: Payload)] = []
    /// `__metadata__` (strings only, as the format requires).
    public var metadata: [String: String] = [:]

    public init() {}

    /// Adds `payload` under `key` with `shape` (whose element count must match the payload's).
    public mutating func add(_ key: String, shape: [Int], _ payload: Payload) {
        precondition(
            shape.reduce(1, *) * payload.dtype.size == payload.byteCount,
            "SafetensorsWriter: \(key) of shape \(shape) does not match its data")
        items.append((key, shape, payload))
    }

    /// Writes the file at `url` (through a temporary name beside it, renamed when complete, so a failed write never
    /// leaves a truncated file under the final name).
    public func write(to url: URL) throws {
        let order: [SafetensorsFile.DType] = [.f64, .i64, .f32, .i32, .f16, .bf16, .i16, .i8, .u8, .bool]
        let sorted = items.sorted {
            let (a, b) = (order.firstIndex(of: $0.payload.dtype) ?? 0, order.firstIndex(of: $1.payload.dtype) ?? 0)
            return a != b ? a < b : $0.key < $1.key
        }
        var header: [String: Any] = metadata.isEmpty ? [:] : ["__metadata__": metadata]
        var offset = 0
        for item in sorted {
            let end = offset + item.payload.byteCount
            header[item.key] = [
                "dtype": item.payload.dtype.rawValue, "shape": item.shape, "data_offsets": [offset, end],
            ]
            offset = end
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        json.append(contentsOf: [UInt8](repeating: 0x20, count: (8 - json.count % 8) % 8))
        let partial = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).partial")
        FileManager.default.createFile(atPath: partial.path, contents: nil)
        guard let handle = FileHandle(forWritingAtPath: partial.path) else {
            throw CLIPLoadError(file: partial.path, "cannot be created (is the directory writable?)")
        }
        do {
            var length = UInt64(json.count).littleEndian
            try handle.write(contentsOf: Data(bytes: &length, count: 8))
            try handle.write(contentsOf: json)
            for item in sorted { try Self.write(item.payload, to: handle) }
            try handle.close()
            _ = try? FileManager.default.removeItem(at: url)
            try FileManager.default.moveItem(at: partial, to: url)
        } catch {
            try? handle.close()
            try? FileManager.default.removeItem(at: partial)
            throw CLIPLoadError(file: url.path, "cannot be written (\(error.localizedDescription))")
        }
    }

    private static func write(_ payload: Payload, to handle: FileHandle) throws {
        switch payload {
        case .float32(let t):
            // Little-endian hosts only (x86-64, arm64), as the reader.
            try handle.write(contentsOf: Data(bytesNoCopy: t.data, count: t.byteCount, deallocator: .none))
        case .int8(let w):
            try w.values.withUnsafeBytes { try handle.write(contentsOf: Data($0)) }
        case .int32(let values):
            try values.map(\.littleEndian).withUnsafeBytes { try handle.write(contentsOf: Data($0)) }
        case .raw(_, let data):
            try handle.write(contentsOf: data)
        }
    }
}
