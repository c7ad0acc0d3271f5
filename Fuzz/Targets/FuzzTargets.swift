import Foundation

/// The fuzz targets of `vlm-fuzz` by name (`scripts/fuzz TARGET`); the environment variable `VLM_FUZZ_TARGET`
/// chooses the one a process runs. Each takes one libFuzzer input and calls the function the program calls.
enum FuzzTargets {
    static let all: [String: @Sendable ([UInt8]) -> Void] = [
        "bpe-tokenizer": fuzzBPETokenizer,
        "caption-vocabulary": fuzzCaptionVocabulary,
        "control-request": fuzzControlRequest,
        "http-request": fuzzHTTPRequest,
        "image-file": fuzzImageFile,
        "index-database": fuzzIndexDatabase,
        "model-config": fuzzModelConfig,
        "mqtt-outbox": fuzzOutbox,
        "pipeline-yaml": fuzzPipelineYAML,
        "safetensors": fuzzSafetensors,
        "sentencepiece-tokenizer": fuzzSentencePiece,
        "text-embedding-cache": fuzzTextEmbeddingCache,
        "torch-checkpoint": fuzzTorchCheckpoint,
        "video-container": fuzzVideoContainer,
        "wordpiece-tokenizer": fuzzWordPiece,
    ]

    /// `VLM_FUZZ_TARGET`.
    static let selectedName = ProcessInfo.processInfo.environment["VLM_FUZZ_TARGET"] ?? ""

    /// The target named by `VLM_FUZZ_TARGET`; exits with the list when it names none.
    static let selected: @Sendable ([UInt8]) -> Void = {
        guard let run = all[selectedName] else {
            let names = all.keys.sorted().joined(separator: " ")
            FileHandle.standardError.write(Data("vlm-fuzz: set VLM_FUZZ_TARGET to one of: \(names)\n".utf8))
            exit(2)
        }
        return run
    }()
}

// MARK: - Helpers

/// A private directory of this process for the files a target hands to a parser that reads a path.
enum Scratch {
    static let directory: URL = {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("vlm-fuzz-\(getpid())")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }()

    /// Writes `bytes` to `name` in the scratch directory (replacing it) and returns its URL.
    @discardableResult
    static func file(_ name: String, _ bytes: [UInt8], in directory: URL = directory) -> URL {
        let url = directory.appendingPathComponent(name)
        // open/write/close: no temporary file, rename or fsync per input (FileManager.createFile is atomic).
        let fd = open(url.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { fatalError("vlm-fuzz: cannot write \(url.path)") }
        var written = 0
        while written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { fatalError("vlm-fuzz: cannot write \(url.path)") }
            written += n
        }
        close(fd)
        return url
    }

    /// A fresh empty subdirectory `name` of the scratch directory.
    static func emptyDirectory(_ name: String) -> URL {
        let url = directory.appendingPathComponent(name)
        try? FileManager.default.removeItem(at: url)
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

extension Array where Element == UInt8 {
    /// The input cut at NUL bytes into exactly `count` parts (missing parts are empty; the last keeps any NULs), so
    /// one input can carry several files or fields.
    func parts(_ count: Int) -> [[UInt8]] {
        var result: [[UInt8]] = []
        var rest = self[...]
        while result.count < count - 1, let nul = rest.firstIndex(of: 0) {
            result.append(Array(rest[..<nul]))
            rest = rest[(nul + 1)...]
        }
        result.append(Array(rest))
        while result.count < count { result.append([]) }
        return result
    }

    /// The input as text, the way a parser that is given a `String` sees arbitrary bytes.
    var text: String { String(decoding: self, as: UTF8.self) }
}

/// The repository's fixture directory (scripts/fuzz runs targets from the repository root).
func fixture(_ path: String) -> URL {
    URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent("Tests/Fixtures/" + path)
}
