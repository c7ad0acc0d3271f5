import Crypto
import Foundation
import VLMCore

// MARK: - Model identity

extension CLIPModel {
    /// How many evenly spaced windows of the weights file go into the identity, and how long each is.
    static let identitySamples = 64
    static let identitySampleBytes = 64 << 10

    /// `<family>-vit-p<patch>-<size>-w<width>-e<embedding>:<16 hex>` (family `clip` or `siglip`, so an index or
    /// cache never mixes the two even at one embedding size), where the hex is the start of a SHA-256 over
    /// config.json, preprocessor_config.json, the safetensors header (tensor names, dtypes, shapes, offsets), the
    /// file size, and 64 windows of 64 KiB spread evenly over the tensor data. It does not depend on the directory,
    /// so a checkpoint copied elsewhere keeps its identity (and an int8 checkpoint that of its float32 source); two checkpoints of the same architecture (a fine-tune and
    /// its base) differ in the sampled weights; and it reads 4 MiB, not the whole file, so loading stays fast.
    static func identity(of directory: URL, config: CLIPConfig) throws -> String {
        var hasher = SHA256()
        for name in ["config.json", "preprocessor_config.json"] {
            let url = directory.appendingPathComponent(name)
            guard let data = try? Data(contentsOf: url) else {
                throw CLIPLoadError(file: url.path, "cannot be read")
            }
            hasher.update(data: Data("\(name):\(data.count):".utf8))
            hasher.update(data: data)
        }
        let weights = directory.appendingPathComponent("model.safetensors")
        guard let handle = try? FileHandle(forReadingFrom: weights) else {
            throw CLIPLoadError(file: weights.path, "cannot be read")
        }
        defer { try? handle.close() }
        let size = (try? handle.seekToEnd()) ?? 0
        try? handle.seek(toOffset: 0)
        let prefix = (try? handle.read(upToCount: 8)) ?? Data()
        guard prefix.count == 8 else { throw CLIPLoadError(file: weights.path, "truncated (no header)") }
        let headerLength = prefix.enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        guard headerLength < 100_000_000, headerLength + 8 <= size,
            let header = try? handle.read(upToCount: Int(headerLength)), header.count == Int(headerLength)
        else { throw CLIPLoadError(file: weights.path, "truncated or not safetensors") }
        let v = config.vision
        let architecture =
            "\(config.family.rawValue)-vit-p\(v.patchSize)-\(v.imageSize)-w\(v.hiddenSize)-e\(config.embeddingSize):"
        // An int8 checkpoint (`models quantize`) keeps the identity of the float32 checkpoint it was made from, as
        // quantizing at load does, so its queries search indexes and caches that checkpoint built.
        if let object = try? JSONSerialization.jsonObject(with: header) as? [String: Any],
            let metadata = object["__metadata__"] as? [String: String],
            let stored = metadata[CLIPWeights.sourceIdentityKey], stored.hasPrefix(architecture),
            stored.count == architecture.count + 16
        {
            return stored
        }
        hasher.update(data: Data("model.safetensors:\(size):".utf8))
        hasher.update(data: header)
        // Tensor data: bytes [8 + headerLength, size).
        let dataStart = 8 + headerLength
        let dataLength = size - dataStart
        let window = UInt64(identitySampleBytes)
        let step = dataLength > window ? (dataLength - window) / UInt64(identitySamples - 1) : 0
        for i in 0..<(dataLength > window ? identitySamples : 1) {
            try? handle.seek(toOffset: dataStart + UInt64(i) * step)
            guard let sample = try? handle.read(upToCount: Int(min(window, dataLength))) else {
                throw CLIPLoadError(file: weights.path, "cannot be read")
            }
            hasher.update(data: sample)
        }
        return architecture + hasher.finalize().hexString.prefix(16)
    }
}

// MARK: - File digests

enum FileDigest {
    /// Hex SHA-256 of a whole file, read in 4 MiB chunks (hub LFS blobs are named by it).
    static func sha256(of url: URL) throws -> String {
        let handle = try FileHandle(forReadingFrom: url)
        defer { try? handle.close() }
        var hasher = SHA256()
        while let chunk = try handle.read(upToCount: 4 << 20), !chunk.isEmpty { hasher.update(data: chunk) }
        return hasher.finalize().hexString
    }
}
