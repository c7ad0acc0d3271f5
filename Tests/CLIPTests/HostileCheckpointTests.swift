import CLIP
import Foundation
import TestSupport
import Testing
import VLMCore

/// Hostile checkpoints found by a hostile-input campaign: each is refused with one line naming the file and the
/// problem, never a trap and never a model that silently computes NaN.
@Suite("Hostile checkpoints")
struct HostileCheckpointTests {
    /// A safetensors file whose only tensor has `shape` and `dtype`, with `byteCount` bytes of data.
    static func safetensors(shape: String, dtype: String = "F32", byteCount: Int = 8) throws -> URL {
        let header = #"{"t":{"dtype":"\#(dtype)","shape":\#(shape),"data_offsets":[0,\#(byteCount)]}}"#
        var data = Data()
        withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(contentsOf: Array(header.utf8))
        data.append(Data(count: byteCount))
        let url = try Fixtures.temporaryDirectory("hostile-st").appendingPathComponent("model.safetensors")
        try data.write(to: url)
        return url
    }

    @Test(
        "a shape whose element count overflows is refused, not trapped on",
        arguments: ["[2305843009213693952]", "[2147483648, 2147483648]", "[9223372036854775807, 2]"])
    func overflowingShape(_ shape: String) throws {
        let url = try Self.safetensors(shape: shape)
        let error = try #require(throws: CLIPLoadError.self) { try SafetensorsFile(url: url) }
        #expect(error.description.hasPrefix("model.safetensors: tensor t of shape"))
        #expect(error.description.contains("larger than any file can hold"))
        #expect(!error.description.contains("\n"))
    }

    @Test("a shape that fits still reports the byte mismatch")
    func mismatchStillReported() throws {
        let url = try Self.safetensors(shape: "[3]", byteCount: 8)
        let error = try #require(throws: CLIPLoadError.self) { try SafetensorsFile(url: url) }
        #expect(error.description.contains("needs 12 bytes, its byte range holds 8"))
    }

    static func configError(_ edit: @escaping (inout [String: Any]) -> Void) throws -> String {
        try configError(
            WeightLoadingTests.brokenCheckpoint(config: edit).appendingPathComponent("config.json"))
    }

    static func configError(_ url: URL) throws -> String {
        let error = try #require(throws: CLIPLoadError.self) { try CLIPConfig.load(from: url) }
        #expect(!error.description.contains("\n"))
        return error.description
    }

    static func configFile(_ text: String) throws -> URL {
        let url = try Fixtures.temporaryDirectory("hostile-config").appendingPathComponent("config.json")
        try Data(text.utf8).write(to: url)
        return url
    }

    @Test("eos_token_id outside Int32, as a number or in a list, is refused")
    func eosOutOfRange() throws {
        for value: Any in [Int64(1) << 40, [Int64(1) << 40], -1, [Int64.max]] {
            let message = try Self.configError { config in
                var text = config["text_config"] as? [String: Any] ?? [:]
                text["eos_token_id"] = value
                config["text_config"] = text
            }
            #expect(message.contains("text_config.eos_token_id is"), "\(value): \(message)")
        }
    }

    @Test("a layer_norm_eps that is negative, zero or infinite is refused (it made NaN embeddings)")
    func badEps() throws {
        for eps: Double in [-1e-5, 0] {
            let message = try Self.configError { config in
                var vision = config["vision_config"] as? [String: Any] ?? [:]
                vision["layer_norm_eps"] = eps
                config["vision_config"] = vision
            }
            #expect(message.contains("vision_config.layer_norm_eps is"), "\(eps): \(message)")
        }
    }

    @Test("a fractional size names the number, not 'not valid JSON'")
    func fractionalSize() throws {
        let message = try Self.configError(Self.configFile(#"{"vision_config": {"hidden_size": 64.5}}"#))
        #expect(!message.contains("not valid JSON"), "\(message)")
        #expect(message.contains("64.5"), "\(message)")
    }

    @Test("a top level that is a list says so instead of naming an empty field")
    func topLevelList() throws {
        let message = try Self.configError(Self.configFile("[1, 2, 3]"))
        #expect(message.contains("JSON object"), "\(message)")
        #expect(!message.contains("field  "), "\(message)")
    }

    @Test("bytes that are not JSON still say 'not valid JSON'")
    func notJSON() throws {
        #expect(try Self.configError(Self.configFile("{\"vision_config\": ")).contains("not valid JSON"))
    }
}

/// preprocessor_config.json values of the wrong type are errors, never silently replaced by defaults.
@Suite("Hostile preprocessor configs")
struct HostilePreprocessorConfigTests {
    static func error(_ json: [String: Any]) -> String? {
        do {
            _ = try ImagePreprocessing(json: json)
            return nil
        } catch {
            return error.description
        }
    }

    @Test("wrong types and out-of-range numbers are refused naming the key")
    func wrongTypes() {
        let cases: [([String: Any], String)] = [
            (["rescale_factor": "a"], "rescale_factor"),
            (["do_normalize": "no"], "do_normalize"),
            (["size": 1e300], "size"),
            (["size": ["shortest_edge": 224.5]], "size.shortest_edge"),
            (["crop_size": ["height": "224", "width": 224]], "crop_size.height"),
            (["image_mean": ["a", "b", "c"]], "image_mean"),
            (["image_std": [Double.infinity, 1, 1]], "image_std"),
            (["resample": 1e30], "resample"),
        ]
        for (json, key) in cases {
            let message = Self.error(json)
            #expect(message?.contains(key) == true, "\(json): \(message ?? "accepted")")
        }
    }

    @Test("the usual forms are still accepted")
    func validForms() throws {
        let config = try ImagePreprocessing(json: [
            "rescale_factor": 0.5, "size": ["shortest_edge": 224], "crop_size": 224, "do_normalize": true,
            "image_mean": [0.5, 0.5, 0.5], "resample": 3,
        ])
        #expect(config.rescaleFactor == 0.5)
    }
}

/// Values a well-formed file may still hold: found by a review, where one NaN weight gave `null` embeddings, an index
/// of NaN frames and scores of -1, all with exit 0.
@Suite("Hostile checkpoint values")
struct HostileCheckpointValueTests {
    /// A copy of tiny-clip with `value` written over the first element of the float32 tensor `key`.
    static func tinyCLIP(setting key: String, to value: Float) throws -> URL {
        let dir = try Fixtures.copy("tiny-clip")
        let url = dir.appendingPathComponent("model.safetensors")
        var data = try Data(contentsOf: url)
        let headerLength = Int(
            UInt64(littleEndian: data.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }))
        let header = try #require(try JSONSerialization.jsonObject(with: data[8..<8 + headerLength]) as? [String: Any])
        let entry = try #require(header[key] as? [String: Any])
        #expect(entry["dtype"] as? String == "F32")
        let start = 8 + headerLength + (try #require((entry["data_offsets"] as? [Int])?.first))
        withUnsafeBytes(of: value.bitPattern.littleEndian) { data.replaceSubrange(start..<start + 4, with: $0) }
        try data.write(to: url)
        return dir
    }

    @Test("a NaN weight makes encoding throw one line, for images and for texts, instead of NaN embeddings")
    func nanWeights() throws {
        let image = RGBImage(width: 32, height: 32, pixels: [UInt8](repeating: 128, count: 32 * 32 * 3))
        let vision = try CLIPModel.load(
            directory: try Self.tinyCLIP(setting: "vision_model.embeddings.class_embedding", to: .nan))
        #expect(try CLIPModel.load(directory: Fixtures.url("tiny-clip")).encode(images: [image]).count == 1)
        let imageError = try #require(throws: CLIPInputError.self) { try vision.encode(images: [image]) }
        #expect(imageError.description.hasPrefix("an image embedding holds NaN or infinity"))
        _ = try vision.encode(texts: ["a dog"])  // the text tower is intact
        let text = try CLIPModel.load(
            directory: try Self.tinyCLIP(setting: "text_model.embeddings.position_embedding.weight", to: .infinity))
        let textError = try #require(throws: CLIPInputError.self) { try text.encode(texts: ["a dog"]) }
        #expect(textError.description.hasPrefix("a text embedding holds NaN or infinity"))
    }

    @Test(
        "a logit_scale that is not finite, or whose exponential is not, is refused at load",
        arguments: [
            Float.nan, .infinity, 1e30,
        ])
    func badLogitScale(_ value: Float) throws {
        let dir = try Self.tinyCLIP(setting: "logit_scale", to: value)
        let error = try #require(throws: CLIPLoadError.self) { try CLIPModel.load(directory: dir) }
        #expect(error.description.hasPrefix("model.safetensors: logit_scale is \(value)"), "\(error)")
    }

    @Test("two tensors that share bytes are refused")
    func overlappingTensors() throws {
        let header =
            #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#
        var data = Data()
        withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(contentsOf: Array(header.utf8))
        data.append(Data(count: 12))
        let url = try Fixtures.temporaryDirectory("hostile-st").appendingPathComponent("model.safetensors")
        try data.write(to: url)
        let error = try #require(throws: CLIPLoadError.self) { try SafetensorsFile(url: url) }
        #expect(error.description.hasPrefix("model.safetensors: tensors a and b overlap"), "\(error)")
    }
}
