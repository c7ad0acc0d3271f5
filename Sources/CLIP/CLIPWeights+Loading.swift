import Foundation
import Logging
import VLMTensor

extension CLIPWeights {
    /// Loads a Hugging Face CLIP checkpoint directory: `config.json` for the hyperparameters and
    /// `model.safetensors` (memory-mapped; F32 tensors are used in place, F16/BF16 converted once). An int8
    /// checkpoint written by `models quantize` loads with its int8 linears in place (`precision` is `.int8`).
    /// Any missing, malformed or mismatched file throws a one-line `CLIPLoadError` naming it.
    public static func load(directory: URL, logger: Logger = Logger(label: "vlm.clip")) throws -> CLIPWeights {
        let start = DispatchTime.now()
        let config = try CLIPConfig.load(from: directory.appendingPathComponent("config.json"))
        let weightsURL = directory.appendingPathComponent("model.safetensors")
        guard FileManager.default.fileExists(atPath: weightsURL.path) else {
            let hint =
                FileManager.default.fileExists(atPath: directory.appendingPathComponent("pytorch_model.bin").path)
                ? "only pytorch_model.bin is present; download or convert the checkpoint to safetensors"
                : "not found; expected a Hugging Face CLIP checkpoint directory"
            throw CLIPLoadError(file: weightsURL.path, hint)
        }
        let file = try SafetensorsFile(url: weightsURL)
        try file.checkLayerCount(prefix: "vision_model.encoder.layers.", expected: config.vision.numHiddenLayers)
        try file.checkLayerCount(prefix: "text_model.encoder.layers.", expected: config.text.numHiddenLayers)
        // An int8 checkpoint (`models quantize`) is known by its metadata; its int8 linears are borrowed in place.
        let weights =
            try storedPrecision(of: file) == .int8
            ? try loadInt8(config: config, file: file) : try CLIPWeights(config: config, source: file)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
        logger.info(
            "loaded CLIP weights",
            metadata: [
                "directory": "\(directory.path)", "bytes": "\(weights.weightBytes)",
                "precision": "\(weights.precision.rawValue)",
                "seconds": "\(String(format: "%.3f", seconds))",
                "vision": "\(config.vision.numHiddenLayers)x\(config.vision.hiddenSize) p\(config.vision.patchSize)",
            ])
        return weights
    }

    /// Random weights of `config`'s shape, for benchmarks and tests that need no checkpoint (seeded, in memory).
    public static func random(config: CLIPConfig, seed: UInt64 = 1) throws -> CLIPWeights {
        try config.validate()
        return try CLIPWeights(config: config, source: RandomTensorSource(seed: seed))
    }

    /// Random weights with the outlier channels trained CLIP/ViT checkpoints show: in every block's layer_norm1 and
    /// layer_norm2, the gains of a few fixed channels (`RandomTensorSource.outlierGains`) are 10–50× the rest, so
    /// the layer-norm outputs that feed q/k/v and fc1 have a few channels far larger than the others. The honest
    /// fixture for int8 accuracy.
    public static func randomWithOutliers(config: CLIPConfig, seed: UInt64 = 1) throws -> CLIPWeights {
        try config.validate()
        return try CLIPWeights(config: config, source: RandomTensorSource(seed: seed, outliers: true))
    }
}

extension CLIPConfig {
    /// Reads and validates `url` (a config.json).
    public static func load(from url: URL) throws -> CLIPConfig {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw CLIPLoadError(file: url.path, "cannot be read; expected a Hugging Face CLIP checkpoint directory")
        }
        let config: CLIPConfig
        do {
            config = try JSONDecoder().decode(CLIPConfig.self, from: data)
        } catch let error as DecodingError {
            throw CLIPLoadError(file: "config.json", Self.describe(error, data: data))
        } catch {
            throw CLIPLoadError(file: "config.json", "cannot be decoded (\(error))")
        }
        try config.validate()
        return config
    }

    /// One line for a decoding failure of config.json: the field at fault when there is one, "not valid JSON" only
    /// when the bytes do not parse as JSON at all.
    static func describe(_ error: DecodingError, data: Data) -> String {
        let context: DecodingError.Context
        switch error {
        case .dataCorrupted(let c), .typeMismatch(_, let c), .valueNotFound(_, let c), .keyNotFound(_, let c):
            context = c
        @unknown default: return "cannot be decoded (\(error))"
        }
        let path = context.codingPath.map(\.stringValue).joined(separator: ".")
        guard let json = try? JSONSerialization.jsonObject(with: data, options: .fragmentsAllowed) else {
            return "is not valid JSON (\(context.debugDescription)); re-download the checkpoint's config.json"
        }
        guard json is [String: Any] else {
            return "must be a JSON object of hyperparameters at the top level; re-download the checkpoint's config.json"
        }
        let supported = Activation.allCases.map(\.rawValue).joined(separator: ", ")
        let hint = path.hasSuffix("hidden_act") ? " (supported: \(supported))" : ""
        guard !path.isEmpty else {
            // Foundation reports a number that does not fit an integer field (`"hidden_size": 64.5`) as "not valid
            // JSON" without a coding path: find the field ourselves.
            if let (field, value) = firstNonWholeNumber(in: json, path: "") {
                return "field \(field) is \(value), expected a whole number"
            }
            return "has a value of the wrong type (\(context.debugDescription)); sizes and ids are whole numbers"
        }
        if case .dataCorrupted = error { return "field \(path): \(context.debugDescription)\(hint)" }
        return "field \(path) has the wrong type (\(context.debugDescription))"
    }

    /// The integer hyperparameters of config.json (at any depth).
    static let integerKeys: Set<String> = [
        "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads", "num_channels", "image_size",
        "patch_size", "vocab_size", "max_position_embeddings", "projection_dim", "bos_token_id", "eos_token_id",
        "pad_token_id",
    ]

    /// The first integer hyperparameter whose value is a fraction or out of `Int`'s range, with its dotted path.
    static func firstNonWholeNumber(in json: Any, path: String) -> (String, String)? {
        guard let object = json as? [String: Any] else { return nil }
        for key in object.keys.sorted() {
            let field = path.isEmpty ? key : "\(path).\(key)"
            let values = (object[key] as? [Any]) ?? [object[key] as Any]
            if integerKeys.contains(key) {
                for case let number as NSNumber in values where Int(exactly: number.doubleValue) == nil {
                    return (field, "\(number)")
                }
            }
            if let found = firstNonWholeNumber(in: object[key] as Any, path: field) { return found }
        }
        return nil
    }

    /// Checks that the hyperparameters describe a model this implementation can run.
    public func validate() throws {
        func fail(_ problem: String) -> CLIPLoadError { CLIPLoadError(file: "config.json", problem) }
        let sizes: [(String, Int)] = [
            ("vision_config.hidden_size", vision.hiddenSize),
            ("vision_config.intermediate_size", vision.intermediateSize),
            ("vision_config.num_hidden_layers", vision.numHiddenLayers),
            ("vision_config.num_attention_heads", vision.numAttentionHeads),
            ("vision_config.image_size", vision.imageSize), ("vision_config.patch_size", vision.patchSize),
            ("vision_config.num_channels", vision.numChannels),
            ("text_config.hidden_size", text.hiddenSize), ("text_config.intermediate_size", text.intermediateSize),
            ("text_config.num_hidden_layers", text.numHiddenLayers),
            ("text_config.num_attention_heads", text.numAttentionHeads),
            ("text_config.max_position_embeddings", text.maxPositionEmbeddings),
            ("text_config.vocab_size", text.vocabSize), ("projection_dim", projectionDim),
        ]
        for (name, value) in sizes where value <= 0 || value > 1 << 20 {
            throw fail("\(name) is \(value), expected a size from 1 to \(1 << 20)")
        }
        if vision.hiddenSize % vision.numAttentionHeads != 0 {
            throw fail(
                "vision hidden_size \(vision.hiddenSize) is not a multiple of num_attention_heads "
                    + "\(vision.numAttentionHeads)"
            )
        }
        if text.hiddenSize % text.numAttentionHeads != 0 {
            throw fail(
                "text hidden_size \(text.hiddenSize) is not a multiple of num_attention_heads \(text.numAttentionHeads)"
            )
        }
        // A side that is not a multiple of the patch (SigLIP so400m: 384 px, patch 14) is covered as PyTorch's
        // stride-P convolution covers it: ⌊side / P⌋ patches from the top left, the last side mod P pixels unused.
        if vision.imageSize < vision.patchSize {
            throw fail("image_size \(vision.imageSize) is smaller than patch_size \(vision.patchSize)")
        }
        if vision.numChannels != 3 { throw fail("num_channels is \(vision.numChannels); only RGB (3) is supported") }
        if family == .siglip {
            let head = text.projectionSize ?? text.hiddenSize
            if head != vision.hiddenSize {
                throw fail(
                    "text_config.projection_size \(head) differs from vision_config.hidden_size \(vision.hiddenSize); "
                        + "the two embeddings must have one size")
            }
            if !vision.useHead {
                throw fail("vision_config.vision_use_head is false; SigLIP embeddings need the attention-pooling head")
            }
            if projectionDim != vision.hiddenSize { throw fail("projection_dim must equal the image tower's width") }
        }
        // Token ids are compared with Int32 token sequences; eps is added under a square root.
        for (name, id) in [
            ("text_config.eos_token_id", text.eosTokenID), ("text_config.bos_token_id", text.bosTokenID),
        ]
        where id < 0 || id > Int(Int32.max) {
            throw fail("\(name) is \(id), expected a token id in 0…\(Int32.max)")
        }
        for (name, eps) in [
            ("text_config.layer_norm_eps", text.layerNormEps), ("vision_config.layer_norm_eps", vision.layerNormEps),
        ]
        where !(eps > 0 && eps.isFinite) {
            throw fail("\(name) is \(eps), expected a small positive number such as 1e-05")
        }
        if !logitScaleInitValue.isFinite {
            throw fail("logit_scale_init_value is \(logitScaleInitValue), expected a finite number such as 2.6592")
        }
    }
}

extension SafetensorsFile {
    /// Refuses files with more transformer layers than config.json declares (a mismatched config).
    func checkLayerCount(prefix: String, expected: Int) throws {
        let highest = entries.keys.compactMap { key -> Int? in
            guard key.hasPrefix(prefix) else { return nil }
            return Int(key.dropFirst(prefix.count).prefix { $0 != "." })
        }.max()
        if let highest, highest >= expected {
            throw CLIPLoadError(
                file: name, "has \(prefix)\(highest) but config.json declares \(expected) layers (mismatched config?)")
        }
    }
}

/// Seeded random tensors with CLIP-like scales (layer-norm gains 1, biases small, weights ~ 1/√fan-in).
struct RandomTensorSource: TensorSource {
    let seed: UInt64
    /// Scale a few block layer-norm gains (see `outlierGains`).
    var outliers = false

    /// (channel, gain) of the outlier channels, the channel taken modulo the width.
    static let outlierGains: [(channel: Int, gain: Float)] = [(7, 10), (101, 20), (333, 35), (517, 50)]

    func tensor(_ key: String, shape: [Int]) throws -> Tensor {
        let t = Tensor(zeros: shape)
        if key == "logit_scale" {
            t.data[0] = logf(100)
            return t
        }
        if key == "logit_bias" {  // SigLIP's initial value
            t.data[0] = -10
            return t
        }
        let isNorm = key.contains("layer_norm") || key.contains("layrnorm") || key.contains("layernorm")
        if isNorm && key.hasSuffix(".weight") {
            t.buffer.initialize(repeating: 1)
            if outliers && (key.hasSuffix("layer_norm1.weight") || key.hasSuffix("layer_norm2.weight")) {
                for (channel, gain) in Self.outlierGains { t.data[channel % t.count] = gain }
            }
            return t
        }
        let fanIn = shape.count > 1 ? shape.dropFirst().reduce(1, *) : shape.first ?? 1
        let scale: Float =
            key.hasSuffix(".bias") ? 0.02 : (key.contains("embedding") ? 0.5 : 1 / Float(fanIn).squareRoot())
        // FNV-1a of the key, so every tensor gets its own stream and runs are reproducible.
        var state = key.utf8.reduce(seed ^ 0xCBF2_9CE4_8422_2325) { ($0 ^ UInt64($1)) &* 0x100_0000_01B3 } | 1
        for i in 0..<t.count {
            // xorshift64*, uniform in [-√3, √3) · scale (unit variance before scaling)
            state ^= state >> 12
            state ^= state << 25
            state ^= state >> 27
            let bits = (state &* 0x2545_F491_4F6C_DD1D) >> 40
            t.data[i] = (Float(bits) / Float(1 << 24) * 2 - 1) * 1.732 * scale
        }
        return t
    }
}
