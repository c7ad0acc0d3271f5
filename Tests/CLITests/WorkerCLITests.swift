import Foundation
import TestSupport
import Testing
import VLMIndex

/// Several `vlm-stream worker` processes against a throw-away PostgreSQL cluster: killed, stopped and cut off from
/// the database, they still leave every video indexed exactly once, equal to a single-process SQLite index.
@Suite(
    "workers on a PostgreSQL queue", .serialized,
    .enabled(if: PostgresServer.isAvailable, "PostgreSQL server binaries (initdb, postgres) are not installed"))
final class WorkerCLITests {
    let dir: URL
    let server: PostgresServer
    let model = Fixtures.url("tiny-clip").path
    var common: [String] { ["--fps", "12", "--chunk", "4", "--model", model] }

    init() throws {
        dir = try Fixtures.temporaryDirectory("vlm-workers")
        server = try PostgresServer()
    }

    deinit { try? FileManager.default.removeItem(at: dir) }

    /// `count` clips: the sample videos and copies of them under new names.
    func clips(_ count: Int) throws -> [String] {
        let samples = ["plaza.mp4", "megamind.mp4", "static_tree.mp4"].map(Fixtures.sampleVideo)
        return try (0..<count).map { i in
            let target = dir.appendingPathComponent("clip-\(i)-\(samples[i % samples.count].lastPathComponent)")
            try FileManager.default.copyItem(at: samples[i % samples.count], to: target)
            return target.path
        }
    }

    func worker(_ db: String, name: String, lease: Int) throws -> ChildProcess {
        let binary = try #require(CLIRunner.executable, "vlm-stream is not built")
        return try ChildProcess(
            binary.path,
            ["worker", "--db", db, "--name", name, "--lease", "\(lease)", "--poll", "0.5", "--exit-when-done"] + common,
            output: dir.appendingPathComponent("\(name).log"))
    }

    func log(_ name: String) -> String {
        (try? String(contentsOf: dir.appendingPathComponent("\(name).log"), encoding: .utf8)) ?? ""
    }

    /// Waits until `ready` holds (checked every 200 ms) or `seconds` pass.
    func wait(_ seconds: Double, until ready: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try ready() { return true }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return false
    }

    /// The job a worker holds once it has committed at least one chunk of it.
    func runningWithFrames(_ db: String, worker: String) throws -> IndexJob? {
        let index = try VideoIndex(path: db, create: false)
        let partial = Set(try index.videos().filter { !$0.complete && $0.frameCount >= 4 }.map(\.path))
        return try JobQueue(url: db).jobs().first {
            $0.state == "running" && $0.worker == worker && partial.contains($0.input)
        }
    }

    /// Indexes `inputs` in one process into a new SQLite file.
    func reference(_ inputs: [String]) throws -> VideoIndex {
        let db = dir.appendingPathComponent("reference-\(inputs.count).sqlite").path
        let result = try CLIRunner.run(["index"] + inputs + ["--db", db] + common)
        #expect(result.status == 0, "\(result.stderr)")
        return try VideoIndex(path: db, create: false)
    }

    /// Every video complete, the same paths, pts and (to fp16 rounding of equal-batch-independent encodes) embeddings.
    func expectEqual(_ shared: VideoIndex, _ single: VideoIndex) throws {
        let a = try shared.videos().sorted { $0.path < $1.path }
        let b = try single.videos().sorted { $0.path < $1.path }
        #expect(a.map(\.path) == b.map(\.path) && a.allSatisfy(\.complete))
        #expect(a.map(\.frameCount) == b.map(\.frameCount))
        for (x, y) in zip(a, b) {
            let fx = try shared.frames(videoID: x.id)
            let fy = try single.frames(videoID: y.id)
            #expect(fx.map(\.pts) == fy.map(\.pts) && Set(fx.map(\.pts)).count == fx.count)
            let worst = zip(fx, fy).map { zip($0.embedding, $1.embedding).map { abs($0 - $1) }.max() ?? 0 }.max() ?? 0
            #expect(worst <= 2e-3, "\(x.path): embeddings differ by \(worst)")
        }
    }

    @Test("three workers, one killed with SIGKILL mid-video: every video indexed once, equal to one SQLite process")
    func killedWorker() throws {
        let db = try server.createDatabase("kill")
        let inputs = try clips(6)
        let enqueued = try CLIRunner.run(["index", "--enqueue"] + inputs + ["--db", db])
        #expect(enqueued.status == 0 && enqueued.stdout.contains("6 of 6"), "\(enqueued.stdout)\(enqueued.stderr)")
        let workers = try (1...3).map { try worker(db, name: "w\($0)", lease: 3) }
        // Whichever worker first has committed part of a video is killed (a loaded machine may start one late).
        var victim: Int?
        _ = try wait(90) {
            victim = try (0..<3).first { try runningWithFrames(db, worker: "w\($0 + 1)") != nil }
            return victim != nil
        }
        let killed = try #require(victim, "no worker committed a chunk: \(log("w1"))")
        workers[killed].send(SIGKILL)
        #expect(workers[killed].wait(timeout: 10) != nil)
        for (i, w) in workers.enumerated() where i != killed {
            #expect(w.wait(timeout: 150) == 0, "w\(i + 1): \(log("w\(i + 1)"))")
        }
        let jobs = try JobQueue(url: db).jobs()
        #expect(jobs.count == 6 && jobs.allSatisfy { $0.state == "done" }, "\(jobs)")
        #expect(jobs.contains { $0.attempts >= 2 }, "no job was taken over after the kill")
        let shared = try VideoIndex(path: db, create: false)
        let single = try reference(inputs)
        try expectEqual(shared, single)
        let search = ["--text", "a person", "--top", "5", "--json", "--model", model]
        let a = try CLIRunner.run(["search", "--db", db] + search)
        let b = try CLIRunner.run(["search", "--db", single.path] + search)
        let moments = { (r: CLIRunner.Result) in
            try r.lines.map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
                .map { "\($0["video"] ?? "") \($0["start"] ?? "") \($0["end"] ?? "")" }
        }
        #expect(try moments(a) == moments(b) && !a.lines.isEmpty)
    }

    @Test("SIGTERM: the worker commits its chunk, releases its lease at once and exits 0")
    func terminatedWorker() throws {
        let db = try server.createDatabase("term")
        // Six clips, so the worker is still mid-video when the poll looks (with two it sometimes finished first).
        let inputs = try clips(6)
        _ = try CLIRunner.run(["index", "--enqueue"] + inputs + ["--db", db])
        let w = try worker(db, name: "t1", lease: 300)
        try #require(try wait(90) { try runningWithFrames(db, worker: "t1") != nil }, "\(log("t1"))")
        w.send(SIGTERM)
        #expect(w.wait(timeout: 30) == 0, "\(log("t1"))")
        let jobs = try JobQueue(url: db).jobs()
        #expect(!jobs.contains { $0.state == "running" }, "\(jobs)")  // the 300 s lease was released, not expired
        #expect(jobs.allSatisfy { $0.leaseUntil == nil })
    }

    @Test("the database stopped for 10 s while workers run: nothing committed is lost, they finish after it returns")
    func databaseOutage() throws {
        let db = try server.createDatabase("outage")
        let inputs = try clips(3)
        _ = try CLIRunner.run(["index", "--enqueue"] + inputs + ["--db", db])
        let workers = try (1...2).map { try worker(db, name: "o\($0)", lease: 3) }
        // Either worker mid-video: o1 alone was sometimes done with its only clip before a poll saw it, the other
        // two going to o2.
        try #require(
            try wait(60) { try ["o1", "o2"].contains { try runningWithFrames(db, worker: $0) != nil } },
            "\(log("o1"))\n\(log("o2"))")
        let before = try VideoIndex(path: db, create: false)
        let committed = try Dictionary(
            uniqueKeysWithValues: before.videos().map { ($0.path, try before.framePTS(videoID: $0.id)) })
        server.stop()
        Thread.sleep(forTimeInterval: 10)
        try server.start()
        for (i, w) in workers.enumerated() { #expect(w.wait(timeout: 120) == 0, "o\(i + 1): \(log("o\(i + 1)"))") }
        // The outage was felt (a worker retried or re-queued its video) and overcome.
        let logs = log("o1") + log("o2")
        #expect(logs.contains("database unavailable") || logs.contains("failed "), "\(logs)")
        let after = try VideoIndex(path: db, create: false)
        for video in try after.videos() {
            let pts = try after.framePTS(videoID: video.id)
            #expect(Array(pts.prefix(committed[video.path]?.count ?? 0)) == committed[video.path] ?? [])
        }
        #expect(try JobQueue(url: db).jobs().allSatisfy { $0.state == "done" })
        try expectEqual(after, reference(inputs))
    }

    @Test("an input no worker can open fails after --max-attempts with its error; jobs shows it (text and --json)")
    func unreadableInput() throws {
        let db = try server.createDatabase("bad")
        let good = try clips(1)
        let missing = dir.appendingPathComponent("missing.mp4").path
        _ = try CLIRunner.run(["index", "--enqueue", missing] + good + ["--db", db])
        let binary = try #require(CLIRunner.executable, "vlm-stream is not built")
        let w = try ChildProcess(
            binary.path,
            ["worker", "--db", db, "--name", "b1", "--max-attempts", "2", "--exit-when-done"] + common,
            output: dir.appendingPathComponent("b1.log"))
        #expect(w.wait(timeout: 120) == 0, "\(log("b1"))")
        let jobs = try JobQueue(url: db).jobs()
        let failed = try #require(jobs.first { $0.input == missing })
        #expect(failed.state == "failed" && failed.attempts == 2 && (failed.lastError ?? "").contains(missing))
        #expect(jobs.first { $0.input == good[0] }?.state == "done")
        let text = try CLIRunner.run(["jobs", "--db", db])
        #expect(text.stdout.contains("done: 1") && text.stdout.contains("failed: 1") && text.stdout.contains(missing))
        let json = try CLIRunner.run(["jobs", "--db", db, "--json"])
        let states = try json.lines.map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])["state"] as? String
        }
        #expect(states.sorted { ($0 ?? "") < ($1 ?? "") } == ["done", "failed"])
        let sqlite = try CLIRunner.run(["jobs", "--db", dir.appendingPathComponent("x.sqlite").path])
        #expect(sqlite.status != 0 && sqlite.stderr.split(separator: "\n").count == 1, "\(sqlite.stderr)")
    }

    @Test("an idle worker is woken by NOTIFY when a job is queued (long before its next poll)")
    func notifyWakes() throws {
        let db = try server.createDatabase("wake")
        _ = try JobQueue(url: db)  // the schema, so the worker starts on an empty queue
        let binary = try #require(CLIRunner.executable, "vlm-stream is not built")
        let w = try ChildProcess(
            binary.path, ["worker", "--db", db, "--name", "n1", "--poll", "600"] + common,
            output: dir.appendingPathComponent("n1.log"))
        Thread.sleep(forTimeInterval: 2)  // started, LISTENing, idle
        let inputs = try clips(1)
        _ = try CLIRunner.run(["index", "--enqueue"] + inputs + ["--db", db])
        let done = try wait(60) { try JobQueue(url: db).jobs().first?.state == "done" }
        #expect(done, "\(log("n1"))")
        w.send(SIGTERM)
        #expect(w.wait(timeout: 30) == 0, "\(log("n1"))")
    }
}
