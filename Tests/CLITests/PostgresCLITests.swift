import Foundation
import TestSupport
import Testing
import VLMIndex

/// `vlm-stream index` / `search` with `--db postgres://…` against a throw-away PostgreSQL cluster give what they
/// give with an SQLite file: the same videos, frame counts, stored embeddings, captions and moments.
@Suite(
    "index and search CLI on PostgreSQL", .serialized,
    .enabled(if: PostgresServer.isAvailable, "PostgreSQL server binaries (initdb, postgres) are not installed"))
final class PostgresCLITests {
    static let model = ["--model", "Tests/Fixtures/tiny-clip"]
    let dir: URL
    let server: PostgresServer

    init() throws {
        dir = try Fixtures.temporaryDirectory("vlm-pg-cli")
        server = try PostgresServer()
    }

    deinit { try? FileManager.default.removeItem(at: dir) }

    @discardableResult
    func vlm(_ arguments: [String], expectSuccess: Bool = true) throws -> CLIRunner.Result {
        let result = try CLIRunner.run(arguments)
        if expectSuccess {
            #expect(result.status == 0, "vlm-stream \(arguments.joined(separator: " ")): \(result.stderr)")
        }
        return result
    }

    /// The frame of `video` at `seconds` as PNG (ffmpeg CLI).
    func frame(of video: URL, at seconds: Double) throws -> String {
        let out = dir.appendingPathComponent("\(video.deletingPathExtension().lastPathComponent)-\(seconds).png").path
        let ffmpeg = try ChildProcess(
            "/usr/bin/env",
            ["ffmpeg", "-v", "error", "-y", "-ss", "\(seconds)", "-i", video.path, "-frames:v", "1", out])
        #expect(ffmpeg.wait(timeout: 60) == 0)
        return out
    }

    @Test("index, skip, captions, search --text/--image and --export match an SQLite index of the same clips")
    func parity() throws {
        let videos = [Fixtures.sampleVideo("plaza.mp4"), Fixtures.sampleVideo("megamind.mp4")]
        let sqlite = dir.appendingPathComponent("index.sqlite").path
        let postgres = try server.createDatabase("cli")
        for db in [sqlite, postgres] {
            let indexed = try vlm(
                ["index"] + videos.map(\.path) + ["--db", db, "--fps", "2", "--captions"] + Self.model)
            #expect(
                indexed.lines.count == 2 && indexed.lines.allSatisfy { $0.contains("frames indexed") },
                "\(indexed.stdout)")
        }
        let again = try vlm(["index"] + videos.map(\.path) + ["--db", postgres, "--fps", "2"] + Self.model)
        #expect(again.lines.allSatisfy { $0.contains("unchanged, skipped") } && again.lines.count == 2)

        let lite = try VideoIndex(path: sqlite, create: false)
        let pg = try VideoIndex(path: postgres, create: false)
        let liteVideos = try lite.videos()
        let pgVideos = try pg.videos()
        #expect(pgVideos.map(\.path) == liteVideos.map(\.path))
        #expect(pgVideos.map(\.frameCount) == liteVideos.map(\.frameCount) && pgVideos.allSatisfy(\.complete))
        #expect(pgVideos.map(\.captioned) == liteVideos.map(\.captioned))
        for (a, b) in zip(pgVideos, liteVideos) {
            #expect(try pg.frames(videoID: a.id) == lite.frames(videoID: b.id))
            #expect(try pg.captions(videoID: a.id) == lite.captions(videoID: b.id))
        }

        let image = try frame(of: videos[0], at: 6)
        for query in [["--text", "a person"], ["--image", image]] {
            let args = query + ["--top", "3", "--json"] + Self.model
            let a = try vlm(["search", "--db", sqlite] + args).lines
            let b = try vlm(["search", "--db", postgres] + args).lines
            #expect(!a.isEmpty && a == b, "\(a) vs \(b)")
        }
        let out = dir.appendingPathComponent("export")
        let exported = try vlm(
            ["search", "--db", postgres, "--image", image, "--top", "2", "--json", "--export", out.path] + Self.model)
        #expect(exported.lines.count == 2)
        let files = try FileManager.default.contentsOfDirectory(atPath: out.path)
        #expect(files.filter { $0.hasSuffix(".jpg") }.count == 2 && files.count == 4, "\(files)")
    }

    /// Found by a review: a worker retried a refused login (or a database that does not exist) forever, as an outage.
    @Test("a worker whose database does not exist exits at once with one line; jobs says the same")
    func refusedDatabase() throws {
        let url = server.url(database: "no_such_database")
        for command in [["worker", "--db", url, "--exit-when-done"] + Self.model, ["jobs", "--db", url]] {
            let result = try CLIRunner.run(command, timeout: 60)
            let errors = result.stderr.split(separator: "\n").filter { $0.hasPrefix("error:") }
            #expect(result.status == 1, "\(command): \(result.stderr)")
            #expect(
                errors.count == 1 && errors[0].contains("refused the connection (SQLSTATE 3D000"), "\(result.stderr)")
        }
    }

    @Test("an unreachable PostgreSQL server is one line naming the URL without its password")
    func unreachable() throws {
        let port = try Mosquitto.freePort()
        let url = "postgres://vlm:hunter2@127.0.0.1:\(port)/none?sslmode=disable"
        for command in [["search", "--db", url, "--text", "x"], ["index", "SampleVideos/plaza.mp4", "--db", url]] {
            let result = try vlm(command + Self.model, expectSuccess: false)
            let lines = result.stderr.split(separator: "\n")
            #expect(result.status != 0 && lines.count == 1, "\(result.stderr)")
            #expect(result.stderr.contains("127.0.0.1:\(port)") && !result.stderr.contains("hunter2"))
        }
    }
}
