import CLIP
import Foundation
import VLMTensor

/// Element types of `torch.*Storage` this reader turns into float32 (others are named in the error).
enum TorchDType: Equatable {
    case float32, float16, bfloat16
    case other(String, size: Int)

    init?(storage name: String) {
        switch name {
        case "FloatStorage": self = .float32
        case "HalfStorage": self = .float16
        case "BFloat16Storage": self = .bfloat16
        case "DoubleStorage", "LongStorage": self = .other(name, size: 8)
        case "IntStorage": self = .other(name, size: 4)
        case "ShortStorage": self = .other(name, size: 2)
        case "CharStorage", "ByteStorage", "BoolStorage": self = .other(name, size: 1)
        default: return nil
        }
    }

    var size: Int {
        switch self {
        case .float32: 4
        case .float16, .bfloat16: 2
        case .other(_, let size): size
        }
    }
}

/// A `pytorch_model.bin` (the zip `torch.save` writes: `<name>/data.pkl` plus `<name>/data/<key>` storages),
/// memory-mapped and read through `RestrictedUnpickler`: loading it never runs code. Every tensor's storage, offset,
/// size and stride is checked against the bytes actually present.
final class TorchCheckpoint: TensorSource, @unchecked Sendable {
    let name: String
    private let archive: ZipArchive
    private let prefix: String
    let tensors: [String: RestrictedUnpickler.TensorRef]

    init(url: URL) throws {
        name = url.lastPathComponent
        let file: MappedFile
        do {
            file = try MappedFile(path: url.path)
        } catch let failure as MappedFile.Failure {
            throw GITLoadError(file: name, "cannot read (\(failure.reason))")
        }
        archive = try ZipArchive(file: file, name: name)
        guard let pickle = archive.entries.values.first(where: { $0.name.hasSuffix("data.pkl") }) else {
            throw GITLoadError(file: name, "has no data.pkl; not a checkpoint written by torch.save")
        }
        prefix = String(pickle.name.dropLast("data.pkl".count))
        if let order = archive.entries[prefix + "byteorder"],
            String(decoding: archive.bytes(order), as: UTF8.self) != "little"
        {
            throw GITLoadError(file: name, "stores big-endian tensors; only little-endian checkpoints are supported")
        }
        do {
            tensors = try RestrictedUnpickler.stateDict(archive.bytes(pickle))
        } catch {
            throw GITLoadError(file: name, error.problem)
        }
    }

    /// Tensor names in the state dict.
    var keys: Dictionary<String, RestrictedUnpickler.TensorRef>.Keys { tensors.keys }

    func tensor(_ key: String, shape expected: [Int]) throws -> Tensor {
        guard let ref = tensors[key] else {
            throw GITLoadError(
                file: name, "tensor \(key) is missing (is this a GIT checkpoint in Hugging Face format?)")
        }
        guard ref.shape == expected else {
            throw GITLoadError(file: name, "tensor \(key) has shape \(ref.shape), config.json implies \(expected)")
        }
        guard let entry = archive.entries[prefix + "data/" + ref.storage.key] else {
            throw GITLoadError(file: name, "storage \(ref.storage.key) of \(key) is missing from the archive")
        }
        let size = ref.storage.dtype.size
        guard ref.storage.count <= entry.range.count / size else {
            throw GITLoadError(
                file: name,
                "storage \(ref.storage.key) claims \(ref.storage.count) elements, holds \(entry.range.count / size)")
        }
        // The last element the view reaches must lie inside the storage (overflow-checked: the pickle is input).
        var last = ref.offset
        var overflow = false
        for (extent, stride) in zip(ref.shape, ref.strides) {
            guard extent >= 0, stride >= 0 else {
                throw GITLoadError(file: name, "tensor \(key) has a negative size or stride")
            }
            guard extent > 0 else { continue }
            let (step, o1) = (extent - 1).multipliedReportingOverflow(by: stride)
            let (sum, o2) = last.addingReportingOverflow(step)
            (last, overflow) = (sum, overflow || o1 || o2)
        }
        guard !overflow else { throw GITLoadError(file: name, "tensor \(key) has strides too large to address") }
        let count = expected.reduce(1, *)
        guard ref.offset >= 0, count == 0 || last < ref.storage.count else {
            throw GITLoadError(file: name, "tensor \(key) reaches past its storage (corrupt or truncated)")
        }
        let base = archive.file.bytes + entry.range.lowerBound
        let contiguous = ref.strides == Self.contiguousStrides(expected)
        if case .float32 = ref.storage.dtype, contiguous, Int(bitPattern: base) % 4 == 0 {
            return Tensor(
                borrowing: (base + ref.offset * 4).assumingMemoryBound(to: Float.self), shape: expected,
                owner: archive.file)
        }
        let convert: (Int) -> Float
        switch ref.storage.dtype {
        case .float32: convert = { Float(bitPattern: base.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self)) }
        case .float16: convert = { HalfFloat.toFloat(base.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self)) }
        case .bfloat16:
            convert = { Float(bitPattern: UInt32(base.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self)) << 16) }
        case .other(let type, _):
            throw GITLoadError(file: name, "tensor \(key) is a \(type); only float, half and bfloat16 can be loaded")
        }
        let t = Tensor(zeros: expected)
        // Element i of the row-major result sits at offset + Σ index_d · stride_d of the storage.
        let dims = expected.count
        var index = [Int](repeating: 0, count: dims)
        for i in 0..<count {
            var at = ref.offset
            for d in 0..<dims { at += index[d] * ref.strides[d] }
            t.data[i] = convert(at)
            var d = dims - 1
            while d >= 0 {
                index[d] += 1
                if index[d] < expected[d] { break }
                index[d] = 0
                d -= 1
            }
        }
        return t
    }

    static func contiguousStrides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var step = 1
        for d in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[d] = step
            step *= shape[d]
        }
        return strides
    }
}

/// IEEE 754 binary16 → binary32.
enum HalfFloat {
    static func toFloat(_ h: UInt16) -> Float {
        let sign = UInt32(h & 0x8000) << 16
        let exponent = Int((h >> 10) & 0x1F)
        let mantissa = UInt32(h & 0x3FF)
        switch exponent {
        case 0:
            let magnitude = Float(mantissa) * 0x1p-24
            return sign == 0 ? magnitude : -magnitude
        case 31: return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
        default: return Float(bitPattern: sign | UInt32(exponent - 15 + 127) << 23 | (mantissa << 13))
        }
    }
}
