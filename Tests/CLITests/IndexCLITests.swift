import Foundation
import TestSupport
import Testing
import VLMIndex

/// `vlm-stream index` / `search` run as subprocesses with the tiny CLIP checkpoint on the sample clips, against a
/// real SQLite file and real FFmpeg (frames for image queries are cut with the `ffmpeg` CLI).
@Suite("index and search CLI", .serialized)
struct IndexCLITests {
    static let model = ["--model", "Tests/Fixtures/tiny-clip"]
    let dir: URL
    let db: String

    init() throws {
        dir = try Fixtures.temporaryDirectory("vlm-index-cli")
        db = dir.appendingPathComponent("index.sqlite").path
    }

    // MARK: - Helpers

    /// Runs `vlm-stream` and expects success.
    @discardableResult
    func vlm(_ arguments: [String], expectSuccess: Bool = true) throws -> CLIRunner.Result {
        let result = try CLIRunner.run(arguments)
        if expectSuccess {
            #expect(result.status == 0, "vlm-stream \(arguments.joined(separator: " ")): \(result.stderr)")
        }
        return result
    }

    /// The frame of `video` shown at `seconds`, written as PNG by the ffmpeg CLI.
    func frame(of video: URL, at seconds: Double) throws -> String {
        let out = dir.appendingPathComponent("\(video.deletingPathExtension().lastPathComponent)-\(seconds).png").path
        let ffmpeg = Process()
        ffmpeg.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        ffmpeg.arguments = [
            "ffmpeg", "-v", "error", "-y", "-ss", "\(seconds)", "-i", video.path, "-frames:v", "1", out,
        ]
        try ffmpeg.run()
        ffmpeg.waitUntilExit()
        #expect(ffmpeg.terminationStatus == 0)
        return out
    }

    func moments(_ result: CLIRunner.Result) throws -> [[String: Any]] {
        try result.lines.map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
    }

    func imageSearch(_ image: String, top: Int = 3, extra: [String] = []) throws -> [[String: Any]] {
        try moments(vlm(["search", "--db", db, "--image", image, "--top", "\(top)", "--json"] + Self.model + extra))
    }

    // MARK: - Tests

    @Test("an image query of a frame finds its clip and time as the top moment")
    func imageQueryFindsFrame() throws {
        let plaza = Fixtures.sampleVideo("plaza.mp4")
        let megamind = Fixtures.sampleVideo("megamind.mp4")
        let indexed = try vlm(["index", plaza.path, megamind.path, "--db", db, "--fps", "2"] + Self.model)
        #expect(indexed.lines.count == 2 && indexed.lines.allSatisfy { $0.contains("frames indexed") })
        for (video, time) in [(plaza, 6.0), (megamind, 5.3)] {
            let top = try #require(try imageSearch(frame(of: video, at: time)).first)
            #expect(top["video"] as? String == video.path)
            let peak = try #require(top["peak"] as? Double)
            let start = try #require(top["start"] as? Double)
            let end = try #require(top["end"] as? Double)
            #expect(abs(peak - time) <= 0.5, "peak \(peak) for a frame at \(time)")  // one sampling interval at 2 fps
            #expect(start <= peak && peak <= end && (top["score"] as? Double ?? 0) > 0.9)
        }
        // Several queries in one run (one sgemm): each query's best moment is its own clip.
        let queries = [(plaza, try frame(of: plaza, at: 2.5)), (megamind, try frame(of: megamind, at: 1.2))]
        let batched = try moments(
            vlm(["search", "--db", db, "--top", "1", "--json"] + queries.flatMap { ["--image", $0.1] } + Self.model))
        #expect(batched.map { $0["query"] as? String } == queries.map(\.1))
        #expect(batched.map { $0["video"] as? String } == queries.map(\.0.path))
        // A text query reads the stored embeddings only and answers with moments of both files' paths.
        let text = try moments(vlm(["search", "--db", db, "--text", "a person", "--top", "5", "--json"] + Self.model))
        #expect(!text.isEmpty && text.allSatisfy { [plaza.path, megamind.path].contains($0["video"] as? String) })
    }

    @Test("unchanged videos are skipped, changed ones replaced")
    func skipAndReplace() throws {
        let video = dir.appendingPathComponent("clip.mp4")
        try FileManager.default.copyItem(at: Fixtures.sampleVideo("plaza.mp4"), to: video)
        #expect(
            try vlm(["index", video.path, "--db", db, "--fps", "1"] + Self.model).stdout.contains("10 frames indexed"))
        #expect(
            try vlm(["index", video.path, "--db", db, "--fps", "1"] + Self.model).stdout.contains("unchanged, skipped"))
        // The same file through a symlink, or named twice, is the same video.
        let link = dir.appendingPathComponent("link.mp4")
        try FileManager.default.createSymbolicLink(at: link, withDestinationURL: video)
        let again = try vlm(["index", link.path, video.path, "--db", db, "--fps", "1"] + Self.model)
        #expect(again.lines.count == 1 && again.stdout.contains("unchanged, skipped"), "\(again.stdout)")
        #expect(try VideoIndex(path: db, create: false).videos().map(\.path) == [video.path])
        // A moment named through the link is found (`vlm` expects exit 0).
        try vlm([video.path, "--query-moment", "\(db):\(link.path)@3", "--baseline", "0"] + Self.model)
        try FileManager.default.removeItem(at: video)
        try FileManager.default.copyItem(at: Fixtures.sampleVideo("megamind.mp4"), to: video)
        let replaced = try vlm(["index", video.path, "--db", db, "--fps", "1"] + Self.model).stdout
        #expect(replaced.contains("8 frames indexed") && replaced.contains("replaced"), "\(replaced)")
        let videos = try VideoIndex(path: db, create: false).videos()
        #expect(videos.count == 1 && videos[0].frameCount == 8 && videos[0].complete)
        let top = try #require(try imageSearch(frame(of: Fixtures.sampleVideo("megamind.mp4"), at: 5.3)).first)
        #expect(top["video"] as? String == video.path && abs((top["peak"] as? Double ?? 0) - 5.3) <= 1.0)
    }

    @Test("kill -9 mid-run leaves a readable index; the next run resumes without duplicates")
    func killAndResume() throws {
        let plaza = Fixtures.sampleVideo("plaza.mp4")
        let megamind = Fixtures.sampleVideo("megamind.mp4")
        let arguments = ["index", plaza.path, megamind.path, "--db", db, "--fps", "24", "--chunk", "4"] + Self.model
        let child = Process()
        let binary: URL = try #require(CLIRunner.executable, "vlm-stream is not built")
        child.executableURL = binary
        child.arguments = arguments
        child.currentDirectoryURL = Fixtures.root
        child.standardOutput = FileHandle.nullDevice
        child.standardError = FileHandle.nullDevice
        try child.run()
        // Wait until some frames of the second video are committed, then kill without warning.
        let deadline = Date().addingTimeInterval(120)
        var storedBeforeKill = 0
        while Date() < deadline, child.isRunning {
            if FileManager.default.fileExists(atPath: db),
                let partial = try? VideoIndex(path: db, create: false).videos().first(where: {
                    $0.path == megamind.path
                }),
                partial.frameCount >= 8
            {
                kill(child.processIdentifier, SIGKILL)
                break
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        child.waitUntilExit()
        try #require(child.terminationReason == .uncaughtSignal, "indexing finished before it could be killed")

        // Readable: the complete video is searchable, the interrupted one is not (yet).
        let index = try VideoIndex(path: db, create: false)
        let before = try index.videos()
        storedBeforeKill = try #require(before.first { $0.path == megamind.path }).frameCount
        #expect(before.first { $0.path == plaza.path }?.complete == true)
        #expect(before.first { $0.path == megamind.path }?.complete == false)
        #expect(try imageSearch(frame(of: plaza, at: 6)).allSatisfy { $0["video"] as? String == plaza.path })

        let resumed = try vlm(arguments).stdout
        #expect(resumed.contains("plaza.mp4: unchanged, skipped"))
        #expect(resumed.contains("megamind.mp4") && resumed.contains("resumed after"), "\(resumed)")

        // Same frames as a clean run, each once.
        let cleanDB = dir.appendingPathComponent("clean.sqlite").path
        try vlm(["index", megamind.path, "--db", cleanDB, "--fps", "24"] + Self.model)
        let clean = try VideoIndex(path: cleanDB, create: false)
        let cleanPTS = try clean.framePTS(videoID: try #require(clean.videos().first).id)
        let after = try #require(try index.videos().first { $0.path == megamind.path })
        let pts = try index.framePTS(videoID: after.id)
        #expect(after.complete && pts == cleanPTS && Set(pts).count == pts.count && pts.count > storedBeforeKill)
        #expect(resumed.contains("\(cleanPTS.count - storedBeforeKill) encoded"), "\(resumed)")
    }

    @Test("SIGTERM drains: the encoded frames are committed, exit 130 with one line; the same command resumes")
    func sigtermAndResume() throws {
        let megamind = Fixtures.sampleVideo("megamind.mp4")
        let arguments =
            [
                "index", megamind.path, "--db", db, "--fps", "24", "--chunk", "4", "--model",
                Fixtures.url("tiny-clip").path,
            ]
        let log = dir.appendingPathComponent("index.log")
        let child = try ChildProcess(try #require(CLIRunner.executable).path, arguments, output: log)
        // Wait until some frames are committed, then ask for a graceful stop. The index is only opened once the
        // child has switched it to WAL (its -wal file exists), so this reader never races the schema setup.
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline, child.isRunning {
            if FileManager.default.fileExists(atPath: db + "-wal"),
                let partial = try? VideoIndex(path: db, create: false).videos().first, partial.frameCount >= 8
            {
                child.send(SIGTERM)
                break
            }
            Thread.sleep(forTimeInterval: 0.02)
        }
        let status = try #require(child.wait(timeout: 30), "still running 30 s after SIGTERM")
        let output = try String(contentsOf: log, encoding: .utf8)
        try #require(status != 0, "indexing finished before SIGTERM arrived")
        #expect((status & 0x7f) == 0 && (status >> 8) & 0xff == 130, "wait status \(status): \(output)")
        let index = try VideoIndex(path: db, create: false)
        let partial = try #require(try index.videos().first)
        let stored = try index.framePTS(videoID: partial.id).count
        #expect(!partial.complete && stored >= 8)
        let lines = output.split(separator: "\n").filter { !$0.isEmpty }
        #expect(
            lines == ["interrupted: megamind.mp4 has \(stored) frames committed; run the same command again to resume"],
            "\(output)")

        let resumed = try vlm(arguments).stdout
        #expect(resumed.contains("megamind.mp4") && resumed.contains("resumed after"), "\(resumed)")
        let after = try #require(try index.videos().first)
        let pts = try index.framePTS(videoID: after.id)
        #expect(after.complete && Set(pts).count == pts.count && pts.count > stored)
        #expect(resumed.contains("\(pts.count - stored) encoded"), "\(resumed)")
    }

    @Test("search while index writes (WAL)")
    func concurrentSearch() throws {
        let plaza = Fixtures.sampleVideo("plaza.mp4")
        try vlm(["index", plaza.path, "--db", db, "--fps", "2"] + Self.model)
        let query = try frame(of: plaza, at: 3)
        let child = Process()
        child.executableURL = CLIRunner.executable
        // Two clips, so the writer is still busy while a search (a whole process) runs.
        child.arguments =
            [
                "index", Fixtures.sampleVideo("megamind.mp4").path, Fixtures.sampleVideo("static_tree.mp4").path,
                "--db", db, "--fps", "24", "--chunk", "2",
            ]
            + Self.model
        child.currentDirectoryURL = Fixtures.root
        child.standardOutput = FileHandle.nullDevice
        child.standardError = FileHandle.nullDevice
        try child.run()
        var searchesDuringWrite = 0
        while child.isRunning {
            let top = try #require(try imageSearch(query, top: 1).first)
            #expect(top["video"] as? String == plaza.path)
            if child.isRunning { searchesDuringWrite += 1 }
        }
        child.waitUntilExit()
        #expect(child.terminationStatus == 0)
        #expect(searchesDuringWrite >= 1)
        #expect(try VideoIndex(path: db, create: false).videos().allSatisfy(\.complete))
    }

    @Test("another model's index, a corrupt file and a missing file are refused with one line")
    func refusals() throws {
        let plaza = Fixtures.sampleVideo("plaza.mp4")
        try vlm(["index", plaza.path, "--db", db, "--fps", "1"] + Self.model)
        // Another checkpoint: the tiny model's files with a different config.json (identity hashes the config).
        let otherModel = dir.appendingPathComponent("other-clip")
        try FileManager.default.copyItem(at: Fixtures.url("tiny-clip"), to: otherModel)
        let config = otherModel.appendingPathComponent("config.json")
        let text = try String(contentsOf: config, encoding: .utf8)
        try text.replacingOccurrences(of: "\"initializer_factor\": 1.0", with: "\"initializer_factor\": 0.5")
            .write(to: config, atomically: true, encoding: .utf8)
        let other = ["--model", otherModel.path]
        for command in [["search", "--db", db, "--text", "a tree"], ["index", plaza.path, "--db", db]] {
            let refused = try vlm(command + other, expectSuccess: false)
            #expect(refused.status != 0)
            #expect(refused.stderr.contains("was built with model") && refused.stderr.split(separator: "\n").count == 1)
        }
        let corrupt = dir.appendingPathComponent("corrupt.sqlite").path
        try Data((0..<20_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }).write(to: URL(fileURLWithPath: corrupt))
        for command in [["search", "--db", corrupt, "--text", "a tree"], ["index", plaza.path, "--db", corrupt]] {
            let result = try vlm(command + Self.model, expectSuccess: false)
            #expect(result.status != 0)
            #expect(result.stderr.hasPrefix("error: \(corrupt) is not a readable vlm-stream index"), "\(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count == 1)
        }
        let missing = try vlm(
            ["search", "--db", dir.appendingPathComponent("none.sqlite").path, "--text", "x"]
                + Self.model, expectSuccess: false)
        #expect(missing.status != 0 && missing.stderr.contains("no index at"))
        // A directory: SQLite said "disk I/O error", and the advice was to delete it.
        for command in [["search", "--db", dir.path, "--text", "x"], ["index", plaza.path, "--db", dir.path]] {
            let result = try vlm(command + Self.model, expectSuccess: false)
            #expect(result.status != 0)
            #expect(
                result.stderr == "error: --db \(dir.path) is a directory: give an index file in it "
                    + "(\(dir.path)/videos.sqlite) or a postgres:// URL\n", "\(result.stderr)")
        }
        let empty = try vlm(["search", "--db", db, "--text", "  "] + Self.model, expectSuccess: false)
        #expect(empty.status != 0 && empty.stderr.contains("--text is empty"), "\(empty.stderr)")
    }

    @Test("a file that is not a video is reported and skipped; a truncated one is indexed up to the damage")
    func badVideos() throws {
        let notVideo = Fixtures.url("not_a_video.mp4").path
        let truncated = Fixtures.url("truncated.mp4").path
        let plaza = Fixtures.sampleVideo("plaza.mp4").path
        let result = try vlm(
            ["index", notVideo, truncated, plaza, "--db", db, "--fps", "2"] + Self.model,
            expectSuccess: false)
        #expect(result.status == 1)
        let errors = result.stderr.split(separator: "\n").filter { $0.hasPrefix("error:") }
        #expect(errors.count == 1 && errors[0].contains("not_a_video.mp4"), "\(result.stderr)")
        #expect(result.stderr.contains("warning: '\(truncated)' is damaged or truncated"))
        let videos = try VideoIndex(path: db, create: false).videos()
        #expect(Set(videos.map(\.path)) == [truncated, plaza] && videos.allSatisfy(\.complete))
        #expect(videos.first { $0.path == truncated }.map { $0.frameCount > 0 } == true)
    }

    @Test("--export writes playable stream-copied clips and JPEG thumbnails")
    func export() throws {
        let plaza = Fixtures.sampleVideo("plaza.mp4")
        try vlm(["index", plaza.path, "--db", db, "--fps", "2"] + Self.model)
        let out = dir.appendingPathComponent("export")
        let found = try imageSearch(frame(of: plaza, at: 6), top: 2, extra: ["--export", out.path])
        #expect(found.count == 2)
        for moment in found {
            let clip = try #require(moment["clip"] as? String)
            let thumbnail = try #require(moment["thumbnail"] as? String)
            let jpeg = try Data(contentsOf: URL(fileURLWithPath: thumbnail))
            #expect(jpeg.prefix(2) == Data([0xFF, 0xD8]))
            let probe = Process()
            let pipe = Pipe()
            probe.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            probe.arguments = [
                "ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries",
                "stream=codec_name,nb_read_frames", "-of", "csv=p=0", clip,
            ]
            probe.standardOutput = pipe
            try probe.run()
            let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            probe.waitUntilExit()
            #expect(probe.terminationStatus == 0)
            let fields = output.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ",")
            #expect(fields.first == "h264" && (Int(fields.last ?? "") ?? 0) > 0, "\(output)")
        }
    }
}
