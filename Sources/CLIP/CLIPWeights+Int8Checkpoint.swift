import Foundation
import Logging
import VLMTensor

/// An int8 checkpoint (`vlm-stream models quantize`): a `model.safetensors` beside the float32 checkpoint's config,
/// preprocessor and tokenizer files, whose header metadata names the scheme (`vlm_stream.quantization`:
/// `int8-per-row-v2`). Every tensor keeps its PyTorch key; the six linear layers of each transformer block
/// (`{tower}.encoder.layers.{i}.` + `self_attn.{q,k,v,out}_proj` and `mlp.fc{1,2}`) are stored as
///
///     {linear}.weight            I8   (out, in)   q[j, p], W[j, p] ≈ scale[j] · q[j, p]; outlier columns are 0
///     {linear}.weight_scale      F32  (out)       scale[j]
///     {linear}.weight_sum        I32  (out)       Σ_p q[j, p] (the kernel's offset correction)
///     {linear}.outlier_weight    F32  (out, k)    W[:, channels] in float32 (q, k, v with layer_norm1's channels;
///                                                 fc1 with layer_norm2's), only where the norm has outliers
///     layer_norm{1,2}.outlier_channels  I32 (k)   the norm's outlier channels, strictly increasing
///     self_attn.out_proj.value_outlier_weight  F32 (out, H·k)   `Int8Linears.valueOutliers`, where layer_norm1 has
///                                                 outliers (a checkpoint without it runs them through v's product)
///
/// and, where the int8 weights were made with SmoothQuant, `layer_norm{1,2}.{weight,bias}` are the smoothed ones the
/// int8 weights go with (F32). SigLIP's pooling head, when quantized (`PoolingHeadInt8`), stores
/// `vision_model.head.mlp.fc{1,2}` the same way (weight, weight_scale, weight_sum; scheme v2). A v1 file (written
/// before) holds the head in float32, and runs it so. Everything else (embeddings, other norms, biases,
/// projections) is the source checkpoint's, in its dtype (F32, F16 or BF16). Loading maps the file and reads nothing
/// of a tower until it runs: the row sums are stored so the int8 values need not be summed at load.
extension CLIPWeights {
    /// The header metadata key naming the quantization scheme.
    public static let quantizationKey = "vlm_stream.quantization"
    /// The scheme this version writes.
    public static let int8Scheme = "int8-per-row-v2"
    /// The schemes this version reads: v1 is v2 without SigLIP's int8 pooling head.
    static let readableInt8Schemes = ["int8-per-row-v1", int8Scheme]
    /// The metadata key holding the float32 checkpoint's model identity (see `CLIPModel.identity(of:config:)`).
    public static let sourceIdentityKey = "vlm_stream.source_identity"

    /// The linear layers of a block, relative to its prefix, in `Int8Linears.all` order.
    static let linearNames = [
        "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.out_proj", "mlp.fc1", "mlp.fc2",
    ]

    /// SigLIP's pooling-head linears stored in int8, relative to `vision_model.head.`, in `PoolingHeadInt8.all` order.
    static let headLinearNames = ["mlp.fc1", "mlp.fc2"]
    static let headPrefix = "vision_model.head."

    /// `key` split into the tower's layers (`vision_model` or `text_model`), block index and the rest, when it is a
    /// transformer block's tensor.
    static func blockKey(_ key: String) -> (tower: String, index: Int, rest: String)? {
        for tower in ["vision_model", "text_model"] {
            let prefix = tower + ".encoder.layers."
            guard key.hasPrefix(prefix) else { continue }
            let tail = key.dropFirst(prefix.count)
            guard let dot = tail.firstIndex(of: "."), let index = Int(tail[..<dot]) else { return nil }
            return (tower, index, String(tail[tail.index(after: dot)...]))
        }
        return nil
    }

    // MARK: - Writing

    /// Writes these int8 weights as an int8 checkpoint at `url`, taking every other tensor (and the key set) from
    /// `source`, the float32 checkpoint they were made from. `identity` (when known) is recorded as the source's model
    /// identity.
    public func writeInt8Checkpoint(from source: SafetensorsFile, identity: String?, to url: URL) throws {
        precondition(precision == .int8, "writeInt8Checkpoint: the weights are not int8")
        var writer = SafetensorsWriter()
        writer.metadata = ["format": "pt", Self.quantizationKey: Self.int8Scheme]
        if let identity { writer.metadata[Self.sourceIdentityKey] = identity }
        for key in source.entries.keys.sorted() {
            guard let entry = source.entries[key] else { continue }
            if let block = Self.blockKey(key) {
                let layers = block.tower == "vision_model" ? vision.layers : text.layers
                guard layers.indices.contains(block.index), let q = layers[block.index].int8 else { continue }
                if try Self.addBlockTensor(block.rest, prefix: key.dropLast(block.rest.count), q, to: &writer) {
                    continue
                }
            }
            if let q = vision.head?.int8,
                let i = Self.headLinearNames.firstIndex(where: { key == Self.headPrefix + $0 + ".weight" })
            {
                Self.addInt8Linear(Self.headPrefix + Self.headLinearNames[i], q.all[i], to: &writer)
                continue
            }
            // Float tensors as stored (F16/BF16 stay so, and are converted at load as from the source); not the
            // integer position_ids buffers.
            guard [.f32, .f16, .bf16].contains(entry.dtype), let bytes = source.storedBytes(key) else { continue }
            writer.add(key, shape: entry.shape, .raw(entry.dtype, bytes))
        }
        try writer.write(to: url)
    }

    /// Adds `{name}.weight` (I8), `.weight_scale` (F32) and `.weight_sum` (I32) for `w`.
    private static func addInt8Linear(_ name: String, _ w: QuantizedWeight, to writer: inout SafetensorsWriter) {
        writer.add(name + ".weight", shape: [w.outFeatures, w.inFeatures], .int8(w))
        writer.add(name + ".weight_scale", shape: [w.outFeatures], .float32(w.scales))
        writer.add(name + ".weight_sum", shape: [w.outFeatures], .int32(w.rowSums))
    }

    /// Adds the int8 form of a block tensor (`rest` relative to the block's `prefix`); false when it is stored as
    /// float32 unchanged.
    private static func addBlockTensor(
        _ rest: String, prefix: Substring, _ q: Int8Linears, to writer: inout SafetensorsWriter
    ) throws -> Bool {
        let p = String(prefix)
        if let i = linearNames.firstIndex(where: { rest == $0 + ".weight" }) {
            let name = p + linearNames[i]
            addInt8Linear(name, q.all[i], to: &writer)
            let outlier: Tensor? =
                i < 3 ? q.outliers1?.weights[i] : i == 4 ? q.outliers2?.weights[0] : nil
            if let outlier { writer.add(name + ".outlier_weight", shape: outlier.shape, .float32(outlier)) }
            if i == 3, let carried = q.valueOutliers {
                writer.add(name + ".value_outlier_weight", shape: carried.shape, .float32(carried))
            }
            return true
        }
        for (n, norm, outliers) in [(1, q.layerNorm1, q.outliers1), (2, q.layerNorm2, q.outliers2)] {
            if rest == "layer_norm\(n).weight" {
                if let outliers {
                    writer.add(
                        p + "layer_norm\(n).outlier_channels", shape: [outliers.channels.count],
                        .int32(outliers.channels.map { Int32($0) }))
                }
                guard let norm else { return false }
                writer.add(p + rest, shape: [norm.weight.count], .float32(norm.weight))
                return true
            }
            if rest == "layer_norm\(n).bias", let norm {
                writer.add(p + rest, shape: [norm.bias.count], .float32(norm.bias))
                return true
            }
        }
        return false
    }
}

// MARK: - Quantizing a checkpoint directory

extension CLIPWeights {
    /// What `quantizeCheckpoint` wrote.
    public struct QuantizedCheckpoint: Sendable {
        /// Bytes of the float32 checkpoint's and the int8 checkpoint's model.safetensors.
        public var sourceBytes: Int
        public var bytes: Int
        /// The other files copied (config, preprocessor, tokenizer).
        public var copied: [String]
        /// Blocks that keep outlier channels in float32, of all blocks.
        public var blocksWithOutliers: Int
        public var blocks: Int
    }

    /// Files never copied beside an int8 checkpoint: other weight formats.
    static let weightSuffixes = [".safetensors", ".bin", ".pt", ".pth", ".onnx", ".msgpack", ".h5", ".ot", ".partial"]

    /// Quantizes the float32 CLIP or SigLIP checkpoint in `directory` (as `converted(to: .int8)` does at load, so the
    /// int8 checkpoint's embeddings are identical to quantizing at load) and writes an int8 checkpoint into `output`
    /// (created if needed), with the checkpoint's other files (config, preprocessor, tokenizer) copied.
    public static func quantizeCheckpoint(
        from directory: URL, to output: URL, logger: Logger = Logger(label: "vlm.clip")
    ) throws -> QuantizedCheckpoint {
        let fm = FileManager.default
        let target = output.appendingPathComponent("model.safetensors")
        if output.standardizedFileURL.resolvingSymlinksInPath().path
            == directory.standardizedFileURL.resolvingSymlinksInPath().path
        {
            throw CLIPLoadError(file: output.path, "is the checkpoint being quantized; choose another --out directory")
        }
        // Nothing in --out is overwritten: the weights, nor a config or tokenizer file of some other model there.
        let names = ((try? fm.contentsOfDirectory(atPath: directory.path)) ?? []).sorted().filter { name in
            var isDirectory: ObjCBool = false
            return !name.hasPrefix(".") && !weightSuffixes.contains(where: { name.hasSuffix($0) })
                && fm.fileExists(atPath: directory.appendingPathComponent(name).path, isDirectory: &isDirectory)
                && !isDirectory.boolValue
        }
        for name in ["model.safetensors"] + names where fm.fileExists(atPath: output.appendingPathComponent(name).path)
        {
            throw CLIPLoadError(
                file: output.appendingPathComponent(name).path,
                "already exists; choose an empty --out directory or remove it")
        }
        let fp32 = try load(directory: directory, logger: logger)
        guard fp32.precision == .fp32 else {
            throw CLIPLoadError(
                file: directory.appendingPathComponent("model.safetensors").path,
                "is already an int8 checkpoint; quantize the float32 one")
        }
        let source = try SafetensorsFile(url: directory.appendingPathComponent("model.safetensors"))
        // (A bare checkpoint, config.json + model.safetensors, as benchmarks make, has no identity to keep.)
        let identity = try? CLIPModel.identity(of: directory, config: fp32.config)
        let int8 = fp32.converted(to: .int8)
        do {
            try fm.createDirectory(at: output, withIntermediateDirectories: true)
        } catch {
            throw CLIPLoadError(file: output.path, "cannot be created (\(error.localizedDescription))")
        }
        var copied: [String] = []
        for name in names {
            let url = directory.appendingPathComponent(name)
            do {
                try Data(contentsOf: url).write(to: output.appendingPathComponent(name))  // follows hub-cache links
            } catch {
                throw CLIPLoadError(file: url.path, "cannot be copied (\(error.localizedDescription))")
            }
            copied.append(name)
        }
        try int8.writeInt8Checkpoint(from: source, identity: identity, to: target)
        let layers = (int8.vision.layers + int8.text.layers).compactMap(\.int8)
        let size = ((try? fm.attributesOfItem(atPath: target.path)[.size]) as? NSNumber)?.intValue ?? 0
        return QuantizedCheckpoint(
            sourceBytes: source.dataByteCount, bytes: size, copied: copied,
            blocksWithOutliers: layers.filter { $0.outliers1 != nil || $0.outliers2 != nil }.count,
            blocks: layers.count)
    }
}
