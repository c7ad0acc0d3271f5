import Foundation
import TestSupport
import Testing
import VLMTensor

@testable import CLIP

/// Int8 checkpoints (`models quantize`): written once, loaded by mmap with no flag, identical to quantizing at load,
/// and refused with one line when damaged.
@Suite("Int8 checkpoint")
struct Int8CheckpointTests {
    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("int8ckpt-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Copies `fixture`'s small files into a new directory and writes its model.safetensors again through
    /// `transform` (key, dtype, shape, bytes) → replacement, or nil to drop the tensor; `metadata` replaces the
    /// header's.
    static func rewrite(
        _ directory: URL, metadata: [String: String]? = nil,
        _ transform: (String, SafetensorsFile.DType, [Int], Data) -> (SafetensorsFile.DType, [Int], Data)? = {
            ($1, $2, $3)
        }
    ) throws -> URL {
        let out = try temporaryDirectory()
        for name in try FileManager.default.contentsOfDirectory(atPath: directory.path)
        where name != "model.safetensors" {
            try FileManager.default.copyItem(
                at: directory.appendingPathComponent(name), to: out.appendingPathComponent(name))
        }
        let url = directory.appendingPathComponent("model.safetensors")
        let file = try SafetensorsFile(url: url)
        let bytes = try Data(contentsOf: url)
        let dataStart = bytes.count - file.dataByteCount
        var writer = SafetensorsWriter()
        writer.metadata = metadata ?? file.metadata
        for (key, entry) in file.entries {
            let data = bytes.subdata(in: (dataStart + entry.range.lowerBound)..<(dataStart + entry.range.upperBound))
            guard let (dtype, shape, replaced) = transform(key, entry.dtype, entry.shape, data) else { continue }
            writer.add(key, shape: shape, .raw(dtype, replaced))
        }
        try writer.write(to: out.appendingPathComponent("model.safetensors"))
        return out
    }

    /// tiny-clip with the outlier channels trained checkpoints show: in every block's layer_norm1 and layer_norm2,
    /// channel 3's gain × 20 and channel 10's × 40.
    static func outlierCheckpoint() throws -> URL {
        try rewrite(Fixtures.url("tiny-clip")) { key, dtype, shape, data in
            guard key.hasSuffix("layer_norm1.weight") || key.hasSuffix("layer_norm2.weight") else {
                return (dtype, shape, data)
            }
            var values = data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
            values[3] *= 20
            values[10] *= 40
            return (dtype, shape, values.withUnsafeBytes { Data($0) })
        }
    }

    /// Image and text embeddings of `weights` on a few synthetic images and labels.
    static func embeddings(_ weights: CLIPWeights) throws -> [[Float]] {
        let side = weights.config.vision.imageSize
        let pixels = (0..<3).flatMap { PrecisionAccuracy.syntheticImage($0, side: side) }
        let images = try CLIPVisionModel(weights: weights).encode(pixelValues: pixels, batch: 3).map(\.values)
        let tokens = PrecisionAccuracy.labelTokens(4, config: weights.config)
        return images + (try CLIPTextModel(weights: weights).encode(tokenIDs: tokens).map(\.values))
    }

    @Test("an int8 checkpoint loads as int8 with no flag, borrows its int8 values, equals quantizing at load")
    func identicalToQuantizingAtLoad() throws {
        for source in [Fixtures.url("tiny-clip"), try Self.outlierCheckpoint()] {
            let out = try Self.temporaryDirectory().appendingPathComponent("q")
            let result = try CLIPWeights.quantizeCheckpoint(from: source, to: out)
            #expect(result.copied.contains("config.json") && result.copied.contains("vocab.json"))
            #expect(result.bytes < result.sourceBytes)
            let file = try SafetensorsFile(url: out.appendingPathComponent("model.safetensors"))
            #expect(file.metadata[CLIPWeights.quantizationKey] == CLIPWeights.int8Scheme)
            #expect(file.entries["vision_model.encoder.layers.0.mlp.fc1.weight"]?.dtype == .i8)
            let loaded = try CLIPWeights.load(directory: out)
            #expect(loaded.precision == .int8)
            let atLoad = try CLIPWeights.load(directory: source).converted(to: .int8)
            #expect(try Self.embeddings(loaded) == Self.embeddings(atLoad))  // bit for bit
            #expect(try Self.embeddings(loaded) != Self.embeddings(CLIPWeights.load(directory: source)))
            let layer = try #require(loaded.vision.layers.first?.int8)
            let reference = try #require(atLoad.vision.layers.first?.int8)
            #expect(layer.fc2.rowSums == reference.fc2.rowSums)
            // The same int8 values, though one may now be panels and the other the mapped file (given back once
            // packed, and read from the file again here).
            #expect(layer.fc2.values == reference.fc2.values)
            if source != Fixtures.url("tiny-clip") {
                #expect(result.blocksWithOutliers == result.blocks)
                #expect(layer.outliers1?.channels == [3, 10] && layer.outliers2?.channels == [3, 10])
                // v's outlier channels are carried through attention: M (D, H·c) stored, the same as at load.
                let heads = loaded.config.vision.numAttentionHeads
                let carried = try #require(layer.valueOutliers)
                #expect(carried.shape == [loaded.config.vision.hiddenSize, heads * 2])
                #expect(carried.values == reference.valueOutliers?.values)
            } else {
                #expect(result.blocksWithOutliers == 0)
                #expect(layer.valueOutliers == nil)
            }
            // Its model identity is the float32 checkpoint's.
            #expect(
                try CLIPModel.identity(of: out, config: loaded.config)
                    == CLIPModel.identity(of: source, config: loaded.config))
            // It runs only at int8.
            #expect(throws: CLIPLoadError.self) { _ = try loaded.at(.fp32, file: "m") }
            #expect(try loaded.at(nil, file: "m") === loaded)
            #expect(try loaded.at(.int8, file: "m") === loaded)
        }
    }

    @Test("quantize refuses an int8 source, its own directory and an existing output")
    func refusals() throws {
        let out = try Self.temporaryDirectory().appendingPathComponent("q")
        _ = try CLIPWeights.quantizeCheckpoint(from: Fixtures.url("tiny-clip"), to: out)
        let again = try Self.message {
            _ = try CLIPWeights.quantizeCheckpoint(from: Fixtures.url("tiny-clip"), to: out)
        }
        #expect(again.contains("already exists"))
        // Found by a review: an --out holding another model's config.json had it overwritten.
        let other = try Self.temporaryDirectory().appendingPathComponent("other")
        try FileManager.default.createDirectory(at: other, withIntermediateDirectories: true)
        let config = other.appendingPathComponent("config.json")
        try Data("{\"keep\": true}".utf8).write(to: config)
        let kept = try Self.message {
            _ = try CLIPWeights.quantizeCheckpoint(from: Fixtures.url("tiny-clip"), to: other)
        }
        #expect(kept == "\(config.path): already exists; choose an empty --out directory or remove it")
        #expect(try Data(contentsOf: config) == Data("{\"keep\": true}".utf8))
        let int8 = try Self.message {
            _ = try CLIPWeights.quantizeCheckpoint(from: out, to: out.appendingPathComponent("x"))
        }
        #expect(int8.contains("already an int8 checkpoint"))
        let same = try Self.message { _ = try CLIPWeights.quantizeCheckpoint(from: out, to: out) }
        #expect(same.contains("another --out"))
    }

    static func message(_ body: () throws -> Void) throws -> String {
        do {
            try body()
        } catch let error as CLIPLoadError {
            #expect(!error.description.contains("\n"))
            return error.description
        }
        Issue.record("no error")
        return ""
    }

    /// Damaged int8 checkpoints: each gets one line naming the file and the tensor, never a crash.
    @Test(
        "hostile int8 checkpoints are refused with one line",
        arguments: [
            ("no metadata", "no vlm_stream.quantization metadata"),
            ("unknown scheme", "cannot read"),
            ("scale shape", "has shape"),
            ("negative scale", "mlp.fc1.weight_scale[2] is -1.0, not a row scale"),
            ("NaN scale", "self_attn.q_proj.weight_scale[0] is nan, not a row scale"),
            ("weight dtype", "has dtype F32"),
            ("channel range", "distinct channels"),
            ("channels unsorted", "distinct channels"),
            ("outlier weight shape", "has shape"),
            ("carried weight shape", "has shape"),
            ("missing sum", "is missing"),
            ("head scale shape", "has shape"),
            ("metadata not strings", "not an object of strings"),
            ("truncated", "truncated"),
        ])
    func hostile(_ damage: String, _ expected: String) throws {
        let good = try Self.temporaryDirectory().appendingPathComponent("q")
        _ = try CLIPWeights.quantizeCheckpoint(from: try Self.outlierCheckpoint(), to: good)
        let layer = "vision_model.encoder.layers.0."
        let directory: URL
        switch damage {
        case "no metadata": directory = try Self.rewrite(good, metadata: [:])
        case "unknown scheme":
            directory = try Self.rewrite(good, metadata: [CLIPWeights.quantizationKey: "int4-v9"])
        case "scale shape":
            directory = try Self.rewrite(good) { key, dtype, shape, data in
                key == layer + "mlp.fc2.weight_scale" ? (dtype, [shape[0] - 1], data.dropLast(4)) : (dtype, shape, data)
            }
        case "negative scale", "NaN scale":
            let (key, index, value): (String, Int, Float) =
                damage == "NaN scale" ? ("self_attn.q_proj.weight_scale", 0, .nan) : ("mlp.fc1.weight_scale", 2, -1)
            directory = try Self.rewrite(good) { name, dtype, shape, data in
                guard name == layer + key else { return (dtype, shape, data) }
                var changed = data
                withUnsafeBytes(of: value.bitPattern.littleEndian) {
                    changed.replaceSubrange(
                        changed.startIndex + 4 * index..<changed.startIndex + 4 * index + 4, with: $0)
                }
                return (dtype, shape, changed)
            }
        case "weight dtype":
            directory = try Self.rewrite(good) { key, dtype, shape, data in
                key == layer + "self_attn.k_proj.weight"
                    ? (.f32, shape, Data(count: data.count * 4)) : (dtype, shape, data)
            }
        case "channel range", "channels unsorted":
            let channels: [Int32] = damage == "channel range" ? [3, 1 << 20] : [10, 3]
            directory = try Self.rewrite(good) { key, dtype, shape, data in
                key == layer + "layer_norm2.outlier_channels"
                    ? (dtype, shape, channels.withUnsafeBytes { Data($0) }) : (dtype, shape, data)
            }
        case "outlier weight shape":
            directory = try Self.rewrite(good) { key, dtype, shape, data in
                key == layer + "self_attn.v_proj.outlier_weight"
                    ? (dtype, [shape[0] * 2, 1], data) : (dtype, shape, data)
            }
        case "carried weight shape":
            directory = try Self.rewrite(good) { key, dtype, shape, data in
                key == layer + "self_attn.out_proj.value_outlier_weight"
                    ? (dtype, [shape[1], shape[0]], data) : (dtype, shape, data)
            }
        case "head scale shape":
            let siglip = try Self.temporaryDirectory().appendingPathComponent("q")
            _ = try CLIPWeights.quantizeCheckpoint(from: Fixtures.url("tiny-siglip"), to: siglip)
            directory = try Self.rewrite(siglip) { key, dtype, shape, data in
                key == "vision_model.head.mlp.fc2.weight_scale"
                    ? (dtype, [shape[0] + 1], data + Data(count: 4)) : (dtype, shape, data)
            }
        case "missing sum":
            directory = try Self.rewrite(good) { key, dtype, shape, data in
                key == layer + "self_attn.out_proj.weight_sum" ? nil : (dtype, shape, data)
            }
        case "metadata not strings":
            directory = try Self.rewrite(good)
            let url = directory.appendingPathComponent("model.safetensors")
            var bytes = try Data(contentsOf: url)
            let range = try #require(bytes.range(of: Data("\"format\":\"pt\"".utf8)))
            bytes.replaceSubrange(range, with: Data("\"format\":1234".utf8))
            try bytes.write(to: url)
        default:  // truncated
            directory = try Self.rewrite(good)
            let url = directory.appendingPathComponent("model.safetensors")
            let bytes = try Data(contentsOf: url)
            try bytes.prefix(bytes.count - 100).write(to: url)
        }
        let message = try Self.message { _ = try CLIPModel.load(directory: directory) }
        #expect(message.contains("model.safetensors"), "\(message)")
        #expect(message.contains(expected), "\(damage): \(message)")
    }

    /// A checkpoint written before v's outlier channels were carried through attention has no
    /// `value_outlier_weight`: it loads, and runs those channels through v's float32 columns as it did then.
    @Test("an int8 checkpoint without the carried value weights runs v's outlier columns as before")
    func withoutCarriedValues() throws {
        let good = try Self.temporaryDirectory().appendingPathComponent("q")
        let source = try Self.outlierCheckpoint()
        _ = try CLIPWeights.quantizeCheckpoint(from: source, to: good)
        let older = try Self.rewrite(good) { key, dtype, shape, data in
            key.hasSuffix("value_outlier_weight") ? nil : (dtype, shape, data)
        }
        let loaded = try CLIPWeights.load(directory: older)
        #expect(loaded.vision.layers.allSatisfy { $0.int8?.valueOutliers == nil && $0.int8?.outliers1 != nil })
        let fp32 = try CLIPWeights.load(directory: source)
        let carried = try CLIPWeights.load(directory: good)
        let (old, new, reference) = (
            try Self.embeddings(loaded), try Self.embeddings(carried), try Self.embeddings(fp32)
        )
        #expect(old != new)
        // Both close to float32 (each embedding is unit length).
        for (a, r) in zip(old + new, reference + reference) {
            #expect(zip(a, r).map { abs($0 - $1) }.max()! < 0.05)
        }
    }

    /// `weights` with SigLIP's pooling head back in float32 (its int8 linears dropped).
    static func floatHead(_ weights: CLIPWeights) throws -> CLIPWeights {
        var head = try #require(weights.vision.head)
        head.int8 = nil
        return weights.replacingHead(head)
    }

    /// SigLIP towers quantize too: the head, patch bias and logit bias survive the conversion, the pooling head's
    /// MLP runs in int8 and is stored so, and the int8 model is close to fp32 (centered relative
    /// error < 0.05 on 16 images, as the tiny CLIP test).
    @Test("SigLIP at int8: converted and from an int8 checkpoint, the pooling head's MLP included")
    func siglip() throws {
        let fp32 = try CLIPWeights.load(directory: Fixtures.url("tiny-siglip"))
        let int8 = fp32.converted(to: .int8)
        #expect(int8.precision == .int8)
        #expect(int8.vision.head != nil && int8.logitBias == fp32.logitBias && int8.vision.patchBias != nil)
        let head = try #require(int8.vision.head?.int8)
        #expect(
            head.fc1.outFeatures == fp32.config.vision.intermediateSize && head.fc2.inFeatures == head.fc1.outFeatures)
        let accuracy = try PrecisionAccuracy.measure(reference: fp32, candidate: int8, imageCount: 16)
        #expect(accuracy.centeredRelativeError < 0.05, "\(accuracy)")
        // The int8 head runs: its embeddings differ from those of the same blocks with the head in float32.
        #expect(try Self.embeddings(int8) != Self.embeddings(Self.floatHead(int8)))
        let out = try Self.temporaryDirectory().appendingPathComponent("q")
        _ = try CLIPWeights.quantizeCheckpoint(from: Fixtures.url("tiny-siglip"), to: out)
        let file = try SafetensorsFile(url: out.appendingPathComponent("model.safetensors"))
        #expect(file.metadata[CLIPWeights.quantizationKey] == "int8-per-row-v2")
        for name in ["mlp.fc1", "mlp.fc2"] {
            let key = "vision_model.head." + name
            #expect(file.entries[key + ".weight"]?.dtype == .i8, "\(key)")
            #expect(file.entries[key + ".weight_scale"]?.dtype == .f32 && file.entries[key + ".weight_sum"] != nil)
        }
        for key in ["attention.in_proj_weight", "attention.out_proj.weight"] {
            #expect(file.entries["vision_model.head." + key]?.dtype == .f32, "\(key)")
        }
        let model = try CLIPModel.load(directory: out)
        #expect(model.weights.precision == .int8 && model.weights.vision.head?.int8 != nil)
        #expect(try Self.embeddings(model.weights) == Self.embeddings(int8))
    }

    /// A v1 int8 checkpoint (written before the pooling head was quantized) holds the head in float32: it loads
    /// and runs that head in float32, bit for bit the int8 blocks with a float32 head.
    @Test("a v1 SigLIP int8 checkpoint runs its pooling head in float32")
    func siglipVersion1() throws {
        let source = Fixtures.url("tiny-siglip")
        let good = try Self.temporaryDirectory().appendingPathComponent("q")
        _ = try CLIPWeights.quantizeCheckpoint(from: source, to: good)
        let original = try SafetensorsFile(url: source.appendingPathComponent("model.safetensors"))
        let older = try Self.rewrite(good, metadata: ["format": "pt", CLIPWeights.quantizationKey: "int8-per-row-v1"]) {
            key, dtype, shape, data in
            guard key.hasPrefix("vision_model.head.mlp.") else { return (dtype, shape, data) }
            if key.hasSuffix(".weight_scale") || key.hasSuffix(".weight_sum") { return nil }
            guard dtype == .i8, let entry = original.entries[key], let bytes = original.storedBytes(key) else {
                return (dtype, shape, data)
            }
            return (entry.dtype, entry.shape, bytes)
        }
        let loaded = try CLIPWeights.load(directory: older)
        #expect(loaded.precision == .int8 && loaded.vision.head != nil && loaded.vision.head?.int8 == nil)
        let expected = try Self.floatHead(CLIPWeights.load(directory: source).converted(to: .int8))
        #expect(try Self.embeddings(loaded) == Self.embeddings(expected))
    }

    /// A head whose layer norm has an outlier channel stays float32 (it has no float32 path for one); the blocks
    /// still quantize, and the int8 checkpoint stores that head in float32.
    @Test("a SigLIP pooling head with outlier channels stays float32")
    func siglipHeadOutliers() throws {
        let source = try Self.rewrite(Fixtures.url("tiny-siglip")) { key, dtype, shape, data in
            guard key == "vision_model.head.layernorm.weight" else { return (dtype, shape, data) }
            var values = data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
            values[3] *= 30
            return (dtype, shape, values.withUnsafeBytes { Data($0) })
        }
        let int8 = try CLIPWeights.load(directory: source).converted(to: .int8)
        #expect(int8.precision == .int8 && int8.vision.head?.int8 == nil)
        let out = try Self.temporaryDirectory().appendingPathComponent("q")
        _ = try CLIPWeights.quantizeCheckpoint(from: source, to: out)
        let file = try SafetensorsFile(url: out.appendingPathComponent("model.safetensors"))
        #expect(file.entries["vision_model.head.mlp.fc1.weight"]?.dtype == .f32)
        let loaded = try CLIPWeights.load(directory: out)
        #expect(loaded.vision.head?.int8 == nil)
        #expect(try Self.embeddings(loaded) == Self.embeddings(int8))
    }
}
