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
