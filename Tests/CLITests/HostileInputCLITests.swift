import Foundation
import TestSupport
import Testing
import VLMCore
import VLMIndex

/// What a hostile-input campaign found in the CLI, each run as a subprocess: outputs that cannot be written, bad
/// inputs among good ones, damaged videos, concurrent indexers and unclear messages.
@Suite("hostile input through the CLI", .serialized)
struct HostileInputCLITests {
    static let model = ["--model", "Tests/Fixtures/tiny-clip"]
    let dir: URL

    init() throws {
        dir = try Fixtures.temporaryDirectory("vlm-hostile-cli")
    }

    /// Runs `vlm-stream arguments` through the shell with standard output sent to `stdout` (e.g. /dev/full).
    func shell(_ arguments: [String], stdout: String) throws -> (status: Int32, stderr: String) {
        let executable = try #require(CLIRunner.executable)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "exec \"$0\" \"$@\" >\(stdout)", executable.path] + arguments
        process.currentDirectoryURL = Fixtures.root
        let err = Pipe()
        process.standardError = err
        try process.run()
        let data = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    func errorLines(_ stderr: String) -> [Substring] {
        stderr.split(separator: "\n").filter { $0.hasPrefix("error:") }
    }

    @Test("results that cannot be written (/dev/full) fail the run with one line, for --json and outputs.json")
    func fullDisk() throws {
        let plaza = Fixtures.sampleVideo("plaza.mp4").path
        let json = try shell(["run", plaza, "--query", "a person", "--json"] + Self.model, stdout: "/dev/full")
        #expect(json.status != 0)
        #expect(errorLines(json.stderr).count == 1 && json.stderr.contains("No space left"), "\(json.stderr)")

        let pipeline = dir.appendingPathComponent("p.yaml")
        try "sources:\n  - url: \(plaza)\nqueries: [a person]\noutputs: {json: /dev/full}\n".write(
            to: pipeline, atomically: true, encoding: .utf8)
        let file = try CLIRunner.run(["run", "--pipeline", pipeline.path] + Self.model)
        #expect(file.status != 0)
        #expect(file.stderr.contains("cannot write results to /dev/full"), "\(file.stderr)")
        // The device is written to, never replaced by a regular file.
        var info = stat()
        #expect(stat("/dev/full", &info) == 0 && info.st_mode & S_IFMT == S_IFCHR)

        let db = dir.appendingPathComponent("i.sqlite").path
        #expect(try CLIRunner.run(["index", plaza, "--db", db, "--fps", "1"] + Self.model).status == 0)
        let search = try shell(["search", "--db", db, "--text", "a tree", "--json"] + Self.model, stdout: "/dev/full")
        #expect(search.status != 0 && errorLines(search.stderr).count == 1, "\(search.stderr)")

        // Subtitles are rewritten whole at each caption; a write that failed last is a failed run too.
        let srt = try CLIRunner.run(["run", plaza, "--captions", "--srt", "/dev/full"] + Self.model)
        #expect(srt.status != 0, "\(srt.stderr)")
        #expect(srt.stderr.contains("error: cannot write results to the subtitles '/dev/full'"), "\(srt.stderr)")
    }

    /// Found by a review: opening an output truncates it, so `--srt clip.mp4` erased the video and exited 0.
    @Test("an output that is an input, a model file, the pipeline file or another output is refused; nothing erased")
    func outputsOverwriteNothing() throws {
        let fm = FileManager.default
        let video = dir.appendingPathComponent("clip.mp4")
        try fm.copyItem(at: Fixtures.sampleVideo("plaza.mp4"), to: video)
        let link = dir.appendingPathComponent("link.mp4")
        try fm.createSymbolicLink(at: link, withDestinationURL: video)
        let model = dir.appendingPathComponent("model")
        try fm.copyItem(at: Fixtures.url("tiny-clip"), to: model)
        let weights = model.appendingPathComponent("model.safetensors")
        let git = dir.appendingPathComponent("git")
        try fm.copyItem(at: Fixtures.url("tiny-git"), to: git)
        let vocabulary = git.appendingPathComponent("vocab.txt")
        let pipeline = dir.appendingPathComponent("p.yaml")
        try "sources:\n  - url: \(video.path)\nqueries: [a person]\noutputs: {json: \(pipeline.path)}\n".write(
            to: pipeline, atomically: true, encoding: .utf8)
        let before = try [video, weights, pipeline, vocabulary].map { try Data(contentsOf: $0) }
        let subtitles = dir.appendingPathComponent("out.srt").path
        let cases: [([String], String)] = [
            (["run", video.path, "--srt", video.path], "the SubRip output '\(video.path)' is an input video"),
            (["run", video.path, "--vtt", link.path], "the WebVTT output '\(link.path)' is an input video"),
            (["run", video.path, "--srt", weights.path], "is a file of the model"),
            (["run", video.path, "--caption-model", git.path, "--srt", vocabulary.path], "is a file of the model"),
            (["run", "--pipeline", pipeline.path], "the JSON Lines output '\(pipeline.path)' is the pipeline file"),
            (["run", video.path, "--srt", subtitles, "--vtt", subtitles], "is the SubRip output too"),
        ]
        for (arguments, message) in cases {
            let result = try CLIRunner.run(arguments + ["--model", model.path])
            #expect(result.status != 0, "\(arguments)")
            #expect(errorLines(result.stderr).count == 1 && result.stderr.contains(message), "\(result.stderr)")
        }
        #expect(try [video, weights, pipeline, vocabulary].map { try Data(contentsOf: $0) } == before)
        #expect(!fm.fileExists(atPath: subtitles))
    }

    @Test("a directory and a fifo among the inputs get one error line each; the other videos are indexed")
    func badInputsInABatch() throws {
        let folder = dir.appendingPathComponent("folder")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let fifo = dir.appendingPathComponent("fifo").path
        #expect(mkfifo(fifo, 0o644) == 0)
        let plaza = Fixtures.sampleVideo("plaza.mp4").path
        let db = dir.appendingPathComponent("i.sqlite").path
        // A fifo with no writer must not block: the run finishes well within the timeout.
        let result = try CLIRunner.run(
            ["index", folder.path, fifo, plaza, "--db", db, "--fps", "1"] + Self.model, timeout: 60)
        #expect(result.status == 1)
        let errors = errorLines(result.stderr)
        #expect(errors.count == 2, "\(result.stderr)")
        #expect(errors.first?.contains("is a directory") == true && errors.last?.contains("pipe") == true)
        #expect(!result.stderr.contains("NSCocoaErrorDomain"))
        #expect(try VideoIndex(path: db, create: false).videos().map(\.path) == [plaza])
    }

    @Test("a partly undecodable video is indexed as partial and fails the run; one with no frames fails")
    func damagedVideos() throws {
        var bytes = try Data(contentsOf: Fixtures.sampleVideo("plaza.mp4"))
        let mdat = try #require(bytes.range(of: Data("mdat".utf8))).lowerBound
        let cut = dir.appendingPathComponent("cut.mp4")
        try bytes.prefix(mdat + 16).write(to: cut)
        let n = bytes.count
        for offset in stride(from: n / 10, to: n * 9 / 10, by: n / 12) {
            bytes.replaceSubrange(
                offset..<offset + 20_000, with: (0..<20_000).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) })
        }
        let corrupt = dir.appendingPathComponent("corrupt.mp4")
        try bytes.write(to: corrupt)
        let db = dir.appendingPathComponent("d.sqlite").path

        let partial = try CLIRunner.run(["index", corrupt.path, "--db", db, "--fps", "2"] + Self.model)
        #expect(partial.status == 1, "\(partial.stderr)")
        #expect(partial.stderr.contains("indexed only partially"), "\(partial.stderr)")
        let empty = try CLIRunner.run(["index", cut.path, "--db", db, "--fps", "2"] + Self.model)
        #expect(empty.status == 1)
        #expect(errorLines(empty.stderr).first?.contains("no frame could be decoded") == true, "\(empty.stderr)")
        #expect(try VideoIndex(path: db, create: false).videos().map(\.path) == [corrupt.path])
    }

    @Test("two index processes on overlapping videos both succeed and index each video once")
    func concurrentIndexers() throws {
        let videos = ["plaza.mp4", "static_tree.mp4"].map { Fixtures.sampleVideo($0).path }
        let db = dir.appendingPathComponent("c.sqlite").path
        let results = Locked<[CLIRunner.Result]>([])
        DispatchQueue.concurrentPerform(iterations: 2) { i in
            let order = i == 0 ? videos : videos.reversed()
            if let result = try? CLIRunner.run(["index"] + order + ["--db", db, "--fps", "2"] + Self.model) {
                results.withLock { $0.append(result) }
            }
        }
        #expect(results.current.count == 2)
        for result in results.current { #expect(result.status == 0, "\(result.stderr)") }
        let stored = try VideoIndex(path: db, create: false).videos()
        #expect(Set(stored.map(\.path)) == Set(videos) && stored.allSatisfy(\.complete))
    }

    @Test("--export to a place that cannot be created names the directory and the reason")
    func exportDirectory() throws {
        let plaza = Fixtures.sampleVideo("plaza.mp4").path
        let db = dir.appendingPathComponent("e.sqlite").path
        #expect(try CLIRunner.run(["index", plaza, "--db", db, "--fps", "1"] + Self.model).status == 0)
        let result = try CLIRunner.run(
            ["search", "--db", db, "--text", "a tree", "--export", "/proc/x"] + Self.model)
        #expect(result.status != 0)
        #expect(errorLines(result.stderr).first?.contains("--export /proc/x") == true, "\(result.stderr)")
        #expect(!result.stderr.contains("NSCocoaErrorDomain"))
    }

    @Test("bench pipeline on a video that is not there, or not a video, fails with one line naming it")
    func benchPipelineInput() throws {
        let missing = dir.appendingPathComponent("missing.mp4").path
        let notVideo = Fixtures.url("not_a_video.mp4").path
        for (input, says) in [(missing, "no such file"), (notVideo, notVideo)] {
            let result = try CLIRunner.run(["bench", "pipeline", input, "--repeats", "1"])
            #expect(result.status != 0)
            let lines = errorLines(result.stderr)
            #expect(lines.count == 1 && lines[0].contains(input) && lines[0].contains(says), "\(result.stderr)")
        }
    }

    @Test("a pipeline file that is not UTF-8 says so, with the offset")
    func notUTF8() throws {
        let file = dir.appendingPathComponent("latin1.yaml")
        try Data("sources:\n  - url: caf".utf8 + [0xE9] + Data(".mp4\nqueries: [x]\n".utf8)).write(to: file)
        let result = try CLIRunner.run(["run", "--pipeline", file.path] + Self.model)
        #expect(result.status != 0)
        #expect(result.stderr.contains("is not UTF-8 text"), "\(result.stderr)")
    }
}
