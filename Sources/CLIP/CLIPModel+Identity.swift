import Foundation

// MARK: - Model identity

extension CLIPModel {
    /// `clip-vit-p<patch>-<size>-w<width>-e<embedding>:<16 hex>`, where the hex is the start of a SHA-256 over
    /// config.json, preprocessor_config.json, the safetensors header (tensor names, dtypes, shapes, offsets) and
    /// the safetensors file size. It does not depend on the directory, so a checkpoint copied elsewhere keeps its
    /// identity, and it is cheap (the weights themselves are not hashed).
    static func identity(of directory: URL, config: CLIPConfig) throws -> String {
        var hasher = SHA256()
        for name in ["config.json", "preprocessor_config.json"] {
            let url = directory.appendingPathComponent(name)
            guard let data = try? Data(contentsOf: url) else {
                throw CLIPLoadError(file: url.path, "cannot be read")
            }
            hasher.update(Data("\(name):\(data.count):".utf8))
            hasher.update(data)
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
        hasher.update(Data("model.safetensors:\(size):".utf8))
        hasher.update(header)
        let v = config.vision
        return "clip-vit-p\(v.patchSize)-\(v.imageSize)-w\(v.hiddenSize)-e\(config.projectionDim):"
            + hasher.finalizeHex().prefix(16)
    }
}
