import CLIP
import Foundation
import TestSupport
import Testing
import VLMTensor

@testable import GIT

/// pytorch_model.bin through the restricted reader, and the loader's refusals.
@Suite("GIT checkpoints: restricted .bin reader and bad input")
struct CheckpointTests {
    @Test("every tensor of pytorch_model.bin is bit-identical to model.safetensors", arguments: GITGolden.models)
    func binEqualsSafetensors(model: String) throws {
        let directory = Fixtures.url(model)
        let bin = try TorchCheckpoint(url: directory.appendingPathComponent("pytorch_model.bin"))
        let safetensors = try SafetensorsFile(url: directory.appendingPathComponent("model.safetensors"))
        #expect(Set(bin.keys) == Set(safetensors.entries.keys))
        for (key, entry) in safetensors.entries {
            let a = try bin.tensor(key, shape: entry.shape)
            let b = try safetensors.tensor(key, shape: entry.shape)
            #expect(a.values.map(\.bitPattern) == b.values.map(\.bitPattern), "\(model) \(key)")
        }
        // And the whole model from the .bin generates what it does from safetensors.
        let copy = try Fixtures.temporaryDirectory()
        for file in [
            "config.json", "pytorch_model.bin", "vocab.txt", "preprocessor_config.json", "generation_config.json",
        ] {
            try FileManager.default.copyItem(
                at: directory.appendingPathComponent(file), to: copy.appendingPathComponent(file))
        }
        let fromBin = try GITCheckpoint.load(directory: copy)
        #expect(fromBin.weightsFile.lastPathComponent == "pytorch_model.bin")
        #expect(
            fromBin.model.weights.weightBytes
                == (try GITCheckpoint.load(directory: directory)).model.weights.weightBytes)
    }

    @Test("a pickle that asks for os.system is refused and nothing runs")
    func hostilePickle() throws {
        let directory = try Fixtures.temporaryDirectory()
        let marker = directory.appendingPathComponent("ran")
        // GLOBAL 'os system', MARK, BINUNICODE 'touch <marker>', TUPLE, REDUCE, STOP
        var pickle: [UInt8] = [0x80, 0x02] + Array("cos\nsystem\n".utf8) + [0x28]
        let command = Array("touch \(marker.path)".utf8)
        pickle += [0x58] + withUnsafeBytes(of: UInt32(command.count).littleEndian, Array.init) + command
        pickle += [0x74, 0x52, 0x2E]
        let file = directory.appendingPathComponent("pytorch_model.bin")
        try StoredZip.write([("archive/data.pkl", pickle), ("archive/byteorder", Array("little".utf8))], to: file)
        do {
            _ = try TorchCheckpoint(url: file)
            Issue.record("the hostile pickle was accepted")
        } catch let error as GITLoadError {
            #expect(error.description.contains("pytorch_model.bin"))
            #expect(error.description.contains("os.system"))
            #expect(!error.description.contains("\n"))
        }
        #expect(!FileManager.default.fileExists(atPath: marker.path), "os.system ran")
        // builtins.eval through STACK_GLOBAL is refused the same way.
        let stacked: [UInt8] =
            [0x80, 0x04, 0x8C, 8] + Array("builtins".utf8) + [0x8C, 4] + Array("eval".utf8) + [0x93, 0x2E]
        try StoredZip.write([("archive/data.pkl", stacked)], to: file)
        #expect { _ = try TorchCheckpoint(url: file) } throws: { "\($0)".contains("builtins.eval") }
    }

    /// Found by a review: 30 KB of nested tuples overflowed the stack when the values were freed (SIGSEGV).
    @Test("a pickle nesting a million tuples, lists or marks is refused at the depth limit, not a crash")
    func deepPickle() throws {
        let file = try Fixtures.temporaryDirectory().appendingPathComponent("pytorch_model.bin")
        let deep: [[UInt8]] = [
            [0x80, 0x02, 0x4E] + [UInt8](repeating: 0x85, count: 1_000_000) + [0x2E],  // NONE, TUPLE1 × 10⁶
            [0x80, 0x02] + [UInt8](repeating: 0x28, count: 1_000_000) + [UInt8](repeating: 0x74, count: 1_000_000)
                + [0x2E],  // MARK × 10⁶, TUPLE × 10⁶
            [0x80, 0x02] + [UInt8](repeating: 0x5D, count: 500_000) + [UInt8](repeating: 0x61, count: 499_999)
                + [0x2E],  // EMPTY_LIST × 5·10⁵, APPEND each into the one below
        ]
        for pickle in deep {
            try StoredZip.write([("archive/data.pkl", pickle)], to: file)
            #expect {
                _ = try TorchCheckpoint(url: file)
            } throws: { error in
                "\(error)".contains("nests containers deeper than 100 levels")
            }
        }
    }

    @Test("truncated or corrupt .bin files get one line naming the file")
    func truncated() throws {
        let source = try Data(contentsOf: Fixtures.url("tiny-git/pytorch_model.bin"))
        let directory = try Fixtures.temporaryDirectory()
        let file = directory.appendingPathComponent("pytorch_model.bin")
        for length in [10, source.count / 2, source.count - 30] {
            try source.prefix(length).write(to: file)
            #expect(throws: GITLoadError.self) { _ = try TorchCheckpoint(url: file) }
        }
        // A storage that claims more elements than the archive holds.
        var pickle = try #require(try Self.pickle(of: source))
        pickle = Self.replacingStorageCount(pickle)
        try StoredZip.write([("archive/data.pkl", pickle), ("archive/data/0", [0, 0, 0, 0])], to: file)
        let checkpoint = try TorchCheckpoint(url: file)
        #expect(throws: GITLoadError.self) {
            _ = try checkpoint.tensor("git.embeddings.word_embeddings.weight", shape: [30522, 16])
        }
    }

    @Test("strides that overflow or reach past the storage are refused, not trapped on")
    func hostileStrides() throws {
        func unicode(_ text: String) -> [UInt8] {
            [0x58] + withUnsafeBytes(of: UInt32(text.utf8.count).littleEndian, Array.init) + Array(text.utf8)
        }
        func pickle(stride: [UInt8]) -> [UInt8] {
            // {'w': _rebuild_tensor_v2(('storage', torch.FloatStorage, '0', 'cpu', 4), 0, (2, 2), (stride, 1), False)}
            var p: [UInt8] = [0x80, 0x02, 0x7D, 0x28] + unicode("w")
            p += Array("ctorch._utils\n_rebuild_tensor_v2\n".utf8) + [0x28, 0x28] + unicode("storage")
            p += Array("ctorch\nFloatStorage\n".utf8) + unicode("0") + unicode("cpu") + [0x4B, 4, 0x74, 0x51]
            p += [0x4B, 0, 0x4B, 2, 0x4B, 2, 0x86] + stride + [0x4B, 1, 0x86, 0x89, 0x74, 0x52, 0x75, 0x2E]
            return p
        }
        let file = try Fixtures.temporaryDirectory().appendingPathComponent("pytorch_model.bin")
        let storage = [UInt8](repeating: 0, count: 16)
        // stride 2 (in range: the view ends at element 3) loads; 3 reaches element 4; Int64.max overflows.
        try StoredZip.write([("a/data.pkl", pickle(stride: [0x4B, 2])), ("a/data/0", storage)], to: file)
        #expect(try TorchCheckpoint(url: file).tensor("w", shape: [2, 2]).values == [0, 0, 0, 0])
        try StoredZip.write([("a/data.pkl", pickle(stride: [0x4B, 3])), ("a/data/0", storage)], to: file)
        #expect { _ = try TorchCheckpoint(url: file).tensor("w", shape: [2, 2]) } throws: {
            "\($0)".contains("reaches past its storage")
        }
        let huge: [UInt8] = [0x8A, 8] + withUnsafeBytes(of: Int64.max.littleEndian, Array.init)
        try StoredZip.write([("a/data.pkl", pickle(stride: huge)), ("a/data/0", storage)], to: file)
        #expect { _ = try TorchCheckpoint(url: file).tensor("w", shape: [2, 2]) } throws: {
            "\($0)".contains("too large")
        }
    }

    /// Found by a review: a negative eps or length gave empty captions with exit 0, and `max_length` of Int.min
    /// trapped on an overflow.
    @Test("a non-positive layer_norm_eps or a generation length out of range is refused naming the field")
    func badNumbers() throws {
        let eps = try Fixtures.copy("tiny-git")
        let config = try String(contentsOf: Fixtures.url("tiny-git/config.json"), encoding: .utf8)
        try config.replacingOccurrences(of: "\"layer_norm_eps\": 1e-12", with: "\"layer_norm_eps\": -1")
            .write(to: eps.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        #expect { _ = try GITCheckpoint.load(directory: eps) } throws: { "\($0)".contains("layer_norm_eps is -1.0") }
        for (key, value) in [("max_length", "-9223372036854775808"), ("max_length", "0"), ("max_new_tokens", "-5")] {
            let directory = try Fixtures.copy("tiny-git")
            try #"{"\#(key)": \#(value)}"#.write(
                to: directory.appendingPathComponent("generation_config.json"), atomically: true, encoding: .utf8)
            #expect { _ = try GITCheckpoint.load(directory: directory) } throws: {
                "\($0)".contains("\(key) \(value) is outside 1…100000")
            }
        }
    }

    @Test("a CLIP checkpoint is refused as not GIT; a shape mismatch names the tensor")
    func wrongCheckpoint() throws {
        #expect { _ = try GITCheckpoint.load(directory: Fixtures.url("tiny-clip")) } throws: {
            "\($0)".contains("not a GIT checkpoint")
        }
        let directory = try Fixtures.temporaryDirectory()
        for file in ["model.safetensors", "vocab.txt", "preprocessor_config.json"] {
            try FileManager.default.copyItem(
                at: Fixtures.url("tiny-git").appendingPathComponent(file), to: directory.appendingPathComponent(file))
        }
        var config = try String(contentsOf: Fixtures.url("tiny-git/config.json"), encoding: .utf8)
        config = config.replacingOccurrences(
            of: "\"intermediate_size\": 64,\n  \"layer_norm_eps\": 1e-12",
            with: "\"intermediate_size\": 32,\n  \"layer_norm_eps\": 1e-12")
        try config.write(to: directory.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        #expect { _ = try GITCheckpoint.load(directory: directory) } throws: {
            "\($0)".contains("intermediate.dense.weight") && "\($0)".contains("config.json implies")
        }
        // tie_word_embeddings: the output layer reads the word embeddings
        config = try String(contentsOf: Fixtures.url("tiny-git/config.json"), encoding: .utf8)
            .replacingOccurrences(of: "\"tie_word_embeddings\": false", with: "\"tie_word_embeddings\": true")
        try config.write(to: directory.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        let tied = try GITCheckpoint.load(directory: directory).model.weights
        #expect(tied.config.tieWordEmbeddings)
        #expect(tied.outputWeight === tied.embeddings.wordEmbeddings)
    }

    /// The data.pkl of a torch.save archive.
    static func pickle(of archive: Data) throws -> [UInt8]? {
        let directory = try Fixtures.temporaryDirectory()
        let file = directory.appendingPathComponent("a.bin")
        try archive.write(to: file)
        let zip = try ZipArchive(file: try MappedFile(path: file.path), name: "a.bin")
        return zip.entries.values.first { $0.name.hasSuffix("data.pkl") }.map { Array(zip.bytes($0)) }
    }

    /// The first storage's numel (BININT after the location string 'cpu') raised to 10⁹.
    static func replacingStorageCount(_ pickle: [UInt8]) -> [UInt8] {
        var bytes = pickle
        if let at = (0..<(bytes.count - 5)).first(where: { bytes[$0] == 0x4A }) {
            bytes.replaceSubrange(
                (at + 1)...(at + 4), with: withUnsafeBytes(of: UInt32(1_000_000_000).littleEndian, Array.init))
        }
        return bytes
    }
}

/// Writes a zip of stored entries, as torch.save lays one out (no compression; CRC left zero, which the reader
/// does not check).
enum StoredZip {
    static func write(_ entries: [(String, [UInt8])], to url: URL) throws {
        var out: [UInt8] = []
        var central: [UInt8] = []
        func u16(_ v: Int) -> [UInt8] { withUnsafeBytes(of: UInt16(v).littleEndian, Array.init) }
        func u32(_ v: Int) -> [UInt8] { withUnsafeBytes(of: UInt32(v).littleEndian, Array.init) }
        for (name, data) in entries {
            let offset = out.count
            let n = Array(name.utf8)
            out +=
                u32(0x0403_4B50) + u16(20) + u16(0) + u16(0) + u16(0) + u16(0) + u32(0) + u32(data.count)
                + u32(data.count) + u16(n.count) + u16(0) + n + data
            central +=
                u32(0x0201_4B50) + u16(20) + u16(20) + u16(0) + u16(0) + u16(0) + u16(0) + u32(0)
                + u32(data.count) + u32(data.count) + u16(n.count) + u16(0) + u16(0) + u16(0) + u16(0) + u32(0)
                + u32(offset) + n
        }
        let start = out.count
        out += central
        out +=
            u32(0x0605_4B50) + u16(0) + u16(0) + u16(entries.count) + u16(entries.count) + u32(central.count)
            + u32(start) + u16(0)
        try Data(out).write(to: url)
    }
}
