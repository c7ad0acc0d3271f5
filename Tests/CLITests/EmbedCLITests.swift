import Foundation
import TestSupport
import Testing

/// `vlm-stream embed`, `tokenize` and `models` run as a subprocess against the tiny checkpoint, checked against
/// the transformers goldens (tolerances as in CLIPTests' CLIPModelTests).
@Suite struct EmbedCLITests {
    static let model = ["--model", "Tests/Fixtures/tiny-clip"]

    static func json(_ line: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    }

    static func embedding(_ object: [String: Any]) throws -> [Float] {
        try #require(object["embedding"] as? [NSNumber]).map(\.floatValue)
    }

    static func embeddingGoldens() throws -> [String: Any] {
        let data = try Data(contentsOf: Fixtures.url("tiny-clip-embeddings.json"))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    @Test func tokenizeMatchesGoldens() throws {
        let data = try Data(contentsOf: Fixtures.url("tokenizer_goldens.json"))
        let golden = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let cases = try #require(golden["cases"] as? [[String: Any]])
            .filter { !(($0["text"] as? String) ?? "\0").contains("\0") }
            .prefix(60)
        let texts = cases.map { $0["text"] as! String }
        let result = try CLIRunner.run(["tokenize"] + texts + Self.model)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.lines.count == texts.count)
        for (line, c) in zip(result.lines, cases) {
            let object = try Self.json(line)
            #expect(object["text"] as? String == c["text"] as? String)
            #expect((object["ids"] as? [NSNumber])?.map(\.intValue) == (c["ids"] as? [NSNumber])?.map(\.intValue))
        }
    }

    /// Found by a review: `tokenize` printed ids the model has no row for; `embed` refused them.
    @Test func tokenizeRefusesIdsOutsideTheModelsVocabulary() throws {
        let directory = try Fixtures.copy("tiny-clip")
        let config = directory.appendingPathComponent("config.json")
        try String(contentsOf: config, encoding: .utf8).replacingOccurrences(
            of: "\"vocab_size\": 49408", with: "\"vocab_size\": 400"
        ).write(to: config, atomically: true, encoding: .utf8)
        let result = try CLIRunner.run(["tokenize", "a photo of a dog", "--model", directory.path])
        #expect(result.status != 0 && result.stdout.isEmpty)
        #expect(result.stderr.contains("is outside the model's vocabulary of 400"), "\(result.stderr)")
    }

    @Test func embedTextMatchesTransformers() throws {
        let golden = try #require(try Self.embeddingGoldens()["text"] as? [String: Any])
        let texts = try #require(golden["texts"] as? [String])
        let wants = try #require(golden["embeddings"] as? [[NSNumber]]).map { $0.map(\.floatValue) }
        let result = try CLIRunner.run(["embed", "text"] + texts + Self.model)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.lines.count == texts.count)
        for (i, line) in result.lines.enumerated() where i < wants.count {
            let object = try Self.json(line)
            #expect(object["input"] as? String == texts[i])
            let got = try Self.embedding(object)
            let diff = zip(got, wants[i]).map { abs($0 - $1) }.max() ?? .infinity
            #expect(got.count == wants[i].count && diff < 2e-4, "text \(i): max |Δ| \(diff)")
        }
    }

    @Test func embedImageMatchesTransformers() throws {
        let golden = try #require(try Self.embeddingGoldens()["images"] as? [String: Any])
        let files = try #require(golden["files"] as? [String]).map { "Tests/Fixtures/images/\($0)" }
        let wants = try #require(golden["embeddings"] as? [[NSNumber]]).map { $0.map(\.floatValue) }
        let result = try CLIRunner.run(["embed", "image"] + files + Self.model)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.lines.count == files.count)
        for (i, line) in result.lines.enumerated() where i < wants.count {
            let object = try Self.json(line)
            #expect(object["input"] as? String == files[i])
            let got = try Self.embedding(object)
            let norm = got.reduce(0) { $0 + $1 * $1 }.squareRoot()
            #expect(abs(norm - 1) < 1e-4)
            if files[i].hasSuffix(".png") {
                let diff = zip(got, wants[i]).map { abs($0 - $1) }.max() ?? .infinity
                #expect(diff < 2e-4, "\(files[i]): max |Δ| \(diff)")
            } else {
                let cosine = zip(got, wants[i]).reduce(Float(0)) { $0 + $1.0 * $1.1 }
                #expect(cosine >= 0.99, "\(files[i]): cosine \(cosine)")
            }
        }
    }

    @Test func badImagesAreReportedAndTheRestStillPrinted() throws {
        let result = try CLIRunner.run(
            ["embed", "image", "Tests/Fixtures/images/graf.png", "no/such.jpg", "Tests/Fixtures/truncated.jpg"]
                + Self.model)
        #expect(result.status != 0)
        #expect(result.lines.count == 1)
        let errors = result.stderr.split(separator: "\n").filter { $0.hasPrefix("error:") }
        #expect(errors.count == 2)
        #expect(errors.first?.contains("no/such.jpg") == true)
        #expect(errors.last?.contains("truncated.jpg") == true)
    }

    @Test func truncatedOrIncompleteModelGivesOneLineError() throws {
        let dir = try Fixtures.temporaryDirectory("cli-model")
        defer { try? FileManager.default.removeItem(at: dir) }
        for file in ["config.json", "model.safetensors", "vocab.json", "merges.txt", "preprocessor_config.json"] {
            try FileManager.default.copyItem(
                at: Fixtures.url("tiny-clip/\(file)"), to: dir.appendingPathComponent(file))
        }
        let weights = dir.appendingPathComponent("model.safetensors")
        let data = try Data(contentsOf: weights)
        try data.prefix(data.count / 3).write(to: weights)
        let truncated = try CLIRunner.run(["embed", "text", "hello", "--model", dir.path])
        #expect(truncated.status != 0)
        let lines = truncated.stderr.split(separator: "\n").filter { $0.hasPrefix("error:") }
        #expect(lines.count == 1 && lines[0].contains("model.safetensors"), "\(truncated.stderr)")

        try FileManager.default.removeItem(at: dir.appendingPathComponent("merges.txt"))
        let missing = try CLIRunner.run(["tokenize", "hello", "--model", dir.path])
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("missing merges.txt"))
    }

    @Test func hubNameWithoutCacheSaysWhatToDo() throws {
        let cache = try Fixtures.temporaryDirectory("cli-hub")
        defer { try? FileManager.default.removeItem(at: cache) }
        let result = try CLIRunner.run(["embed", "text", "x"], environment: ["HF_HUB_CACHE": cache.path])
        #expect(result.status != 0)
        #expect(result.stderr.hasPrefix("error: openai/clip-vit-base-patch32 (main) is not in the Hugging Face cache"))
        #expect(result.stderr.contains("vlm-stream models pull openai/clip-vit-base-patch32"))

        let list = try CLIRunner.run(["models", "list"], environment: ["HF_HUB_CACHE": cache.path])
        #expect(list.status == 0 && list.stdout.contains("no CLIP models"))

        let pull = try CLIRunner.run(
            ["models", "pull", "openai/clip-vit-base-patch32"],
            environment: ["HF_HUB_CACHE": cache.path, "HF_ENDPOINT": "http://127.0.0.1:9"])
        #expect(pull.status != 0)
        #expect(pull.stderr.hasPrefix("error: cannot reach http://127.0.0.1:9"))
    }

    @Test func modelsListShowsACachedSnapshot() throws {
        let cache = try Fixtures.temporaryDirectory("cli-hub")
        defer { try? FileManager.default.removeItem(at: cache) }
        let repo = cache.appendingPathComponent("models--openai--clip-vit-base-patch32")
        let commit = String(repeating: "ab", count: 20)
        let snapshot = repo.appendingPathComponent("snapshots/\(commit)")
        try FileManager.default.createDirectory(at: snapshot, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(
            at: repo.appendingPathComponent("refs"), withIntermediateDirectories: true)
        try Data(commit.utf8).write(to: repo.appendingPathComponent("refs/main"))
        for file in ["config.json", "model.safetensors", "vocab.json", "merges.txt", "preprocessor_config.json"] {
            try FileManager.default.copyItem(
                at: Fixtures.url("tiny-clip/\(file)"), to: snapshot.appendingPathComponent(file))
        }
        let list = try CLIRunner.run(["models", "list"], environment: ["HF_HUB_CACHE": cache.path])
        #expect(list.status == 0)
        #expect(list.stdout.contains("openai/clip-vit-base-patch32  main"))
        #expect(list.stdout.contains("complete"))
        let tokens = try CLIRunner.run(["tokenize", "a photo of a cat"], environment: ["HF_HUB_CACHE": cache.path])
        #expect(tokens.stdout.contains("[49406,320,1125,539,320,2368,49407]"))
    }
}

#if canImport(Glibc)
/// vlm-stream does not link FFmpeg: it loads it the first time a picture is decoded, so a command that decodes
/// nothing does not map libavcodec's hundred-odd dependencies. glibc's loader lists every library it loads under
/// `LD_DEBUG=files`.
@Suite struct FFmpegLoadingCLITests {
    static let loadedLibraries = ["LD_DEBUG": "files"]

    static func loadsFFmpeg(_ result: CLIRunner.Result) -> Bool {
        result.stderr.contains("file=libavcodec.so") && result.stderr.contains("file=libavformat.so")
    }

    @Test func onlyCommandsThatDecodeLoadFFmpeg() throws {
        let text = try CLIRunner.run(["embed", "text", "a cat"] + EmbedCLITests.model, environment: Self.loadedLibraries)
        #expect(text.status == 0, "\(text.stderr.suffix(2000))")
        #expect(text.stderr.contains("file=libopenblas"), "LD_DEBUG=files listed no libraries")
        #expect(!Self.loadsFFmpeg(text))

        let image = try CLIRunner.run(
            ["embed", "image", "Tests/Fixtures/still.jpg"] + EmbedCLITests.model, environment: Self.loadedLibraries)
        #expect(image.status == 0, "\(image.stderr.suffix(2000))")
        #expect(Self.loadsFFmpeg(image))
        #expect(image.lines.count == 1)
    }
}
#endif
