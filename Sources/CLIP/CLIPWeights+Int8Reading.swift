import Foundation
import VLMTensor

// MARK: - Reading an int8 checkpoint (layout in CLIPWeights+Int8Checkpoint.swift)

extension CLIPWeights {
    /// The precision `file` holds: int8 when its metadata names `int8Scheme`. Throws for a scheme this version does
    /// not know, or int8 tensors without the metadata that says how to read them.
    static func storedPrecision(of file: SafetensorsFile) throws -> Precision {
        guard let scheme = file.metadata[quantizationKey] else {
            if let key = file.entries.keys.sorted().first(where: { file.entries[$0]?.dtype == .i8 }) {
                throw CLIPLoadError(
                    file: file.name,
                    "tensor \(key) is int8 but the header has no \(quantizationKey) metadata; quantize the float32 "
                        + "checkpoint with `vlm-stream models quantize`")
            }
            return .fp32
        }
        guard readableInt8Schemes.contains(scheme) else {
            throw CLIPLoadError(
                file: file.name,
                "quantized with scheme '\(scheme)', which this vlm-stream cannot read (it reads "
                    + "\(readableInt8Schemes.joined(separator: ", "))); "
                    + "quantize the float32 checkpoint again with this version's `vlm-stream models quantize`")
        }
        return .int8
    }

    /// The weights of an int8 checkpoint: every float32 tensor borrowed from the mapping as usual, each block's
    /// linears as `QuantizedWeight`s borrowing the file's int8 values (the float32 linear fields are empty).
    static func loadInt8(config: CLIPConfig, file: SafetensorsFile) throws -> CLIPWeights {
        let skeleton = try CLIPWeights(config: config, source: Int8CheckpointSource(file: file))
        let blocks = try skeleton.replacingLayers { tower, index, layer in
            var copy = layer
            copy.int8 = try Int8Linears(
                file: file, prefix: "\(tower).encoder.layers.\(index).", width: layer.layerNorm1Weight.count,
                mlpWidth: layer.fc1Bias.count,
                heads: skeleton.attentionHeads(ofTower: tower))
            return copy
        }
        guard var head = blocks.vision.head, Int8CheckpointSource.holdsInt8Head(file) else { return blocks }
        let (d, i) = (config.vision.hiddenSize, config.vision.intermediateSize)
        head.int8 = PoolingHeadInt8(
            fc1: try file.quantizedWeight(headPrefix + "mlp.fc1", out: i, inputs: d),
            fc2: try file.quantizedWeight(headPrefix + "mlp.fc2", out: d, inputs: i))
        return blocks.replacingHead(head)
    }
}

extension SafetensorsFile {
    /// The int8 linear `name` (`.weight` I8 (out, inputs), `.weight_scale` F32 and `.weight_sum` I32 (out)),
    /// borrowing the file's int8 values; every shape and dtype checked.
    func quantizedWeight(_ name: String, out: Int, inputs: Int) throws -> QuantizedWeight {
        let data = try int8(name + ".weight", shape: [out, inputs])
        let scales = try tensor(name + ".weight_scale", shape: [out])
        // max|W[j]| / 127: never negative, zero only for a row of zeros.
        if let bad = scales.buffer.firstIndex(where: { !($0 >= 0 && $0.isFinite) }) {
            throw CLIPLoadError(
                file: self.name,
                "\(name).weight_scale[\(bad)] is \(scales.data[bad]), not a row scale (finite, 0 or more); quantize the "
                    + "model again")
        }
        let sums = try int32(name + ".weight_sum", shape: [out])
        return QuantizedWeight(
            borrowing: data, outFeatures: out, inFeatures: inputs, scales: scales, sums: sums, owner: self, mapped: true
        )
    }
}

extension CLIPWeights.Int8Linears {
    /// One block's int8 linears from an int8 checkpoint, every shape and index checked.
    init(file: SafetensorsFile, prefix p: String, width d: Int, mlpWidth i: Int, heads: Int) throws {
        func linear(_ name: String, _ out: Int, _ inputs: Int) throws -> QuantizedWeight {
            try file.quantizedWeight(p + name, out: out, inputs: inputs)
        }
        self.init(
            qProj: try linear("self_attn.q_proj", d, d), kProj: try linear("self_attn.k_proj", d, d),
            vProj: try linear("self_attn.v_proj", d, d), outProj: try linear("self_attn.out_proj", d, d),
            fc1: try linear("mlp.fc1", i, d), fc2: try linear("mlp.fc2", d, i))
        if let channels = try Self.outlierChannels(file: file, key: p + "layer_norm1.outlier_channels", width: d) {
            outliers1 = (
                channels,
                try ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"].map {
                    try file.tensor(p + $0 + ".outlier_weight", shape: [d, channels.count])
                }
            )
            let carried = p + "self_attn.out_proj.value_outlier_weight"
            if file.shape(of: carried) != nil {
                guard channels.count <= d / heads else {
                    throw CLIPLoadError(
                        file: file.name,
                        "\(carried): \(channels.count) outlier channels do not fit a head of \(d / heads) columns; "
                            + "quantize the float32 checkpoint again with `vlm-stream models quantize`")
                }
                valueOutliers = try file.tensor(carried, shape: [d, heads * channels.count])
            }
        }
        if let channels = try Self.outlierChannels(file: file, key: p + "layer_norm2.outlier_channels", width: d) {
            outliers2 = (channels, [try file.tensor(p + "mlp.fc1.outlier_weight", shape: [i, channels.count])])
        }
    }

    /// The outlier channels stored under `key` (nil when absent): between 1 and `width`, each in 0..<width,
    /// strictly increasing.
    static func outlierChannels(file: SafetensorsFile, key: String, width: Int) throws -> [Int]? {
        guard let shape = file.shape(of: key) else { return nil }
        guard shape.count == 1, (1...width).contains(shape[0]) else {
            throw CLIPLoadError(file: file.name, "tensor \(key) has shape \(shape), expected (k) with 1 ≤ k ≤ \(width)")
        }
        let channels = try file.int32(key, shape: shape).map(Int.init)
        guard channels.allSatisfy({ (0..<width).contains($0) }), zip(channels, channels.dropFirst()).allSatisfy(<)
        else {
            throw CLIPLoadError(
                file: file.name, "tensor \(key) must list distinct channels in 0..<\(width) in increasing order")
        }
        return channels
    }
}

/// The float32 tensors of an int8 checkpoint; the float32 linear weights it does not hold (the blocks', and SigLIP's
/// pooling head's where it stores them in int8) are empty (0, in) tensors (the int8 ones replace them).
struct Int8CheckpointSource: TensorSource {
    let file: SafetensorsFile
    var name: String { file.name }

    func tensor(_ key: String, shape: [Int]) throws -> Tensor {
        if let block = CLIPWeights.blockKey(key), shape.count == 2,
            CLIPWeights.linearNames.contains(where: { block.rest == $0 + ".weight" })
        {
            return Tensor(zeros: [0, shape[1]])
        }
        if shape.count == 2, Self.holdsInt8Head(file),
            CLIPWeights.headLinearNames.contains(where: { key == CLIPWeights.headPrefix + $0 + ".weight" })
        {
            return Tensor(zeros: [0, shape[1]])
        }
        return try file.tensor(key, shape: shape)
    }

    /// Whether `file` stores SigLIP's pooling head's MLP in int8: its first weight is I8 (scheme v2; both or
    /// neither).
    static func holdsInt8Head(_ file: SafetensorsFile) -> Bool {
        file.entries[CLIPWeights.headPrefix + "mlp.fc1.weight"]?.dtype == .i8
    }
}
