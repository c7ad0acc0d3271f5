import ArgumentParser
import Foundation
import VLMCaption
import VLMCore
import VLMIndex
import VLMPipeline

/// `vlm-stream worker`: indexes jobs from a PostgreSQL index's queue, one video at a time, until stopped.
struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Index queued videos (vlm-stream index --enqueue) from a PostgreSQL index, one at a time.",
        discussion: """
            Run as many workers as you like, on any machine that can read the inputs and reach the database. Each \
            claims one video under a lease it renews; a killed worker's video is taken over after the lease expires \
            and resumes after its last committed chunk. SIGTERM or Ctrl-C finishes the current chunk, releases the \
            video at once and exits 0.
            """
    )

    @Option(help: "The index: postgres://user:password@host:port/db?sslmode=….")
    var db: String

    @Option(parsing: .unconditional, help: "Frames embedded per second of video, chosen by timestamp.")
    var fps: Double = 2

    @Flag(help: "Also store rolling captions.")
    var captions = false

    @OptionGroup var captionOptions: CaptionRunOptions

    @Option(help: "Frames per committed chunk.")
    var chunk: Int = 64

    @Option(help: "Seconds a claim lasts without a heartbeat (renewed every third of it).")
    var lease: Double = 30

    @Option(help: "Runs after which a failing video is marked failed.")
    var maxAttempts: Int = 3

    @Option(help: "Seconds between polls of an idle queue for expired leases (new jobs wake workers by NOTIFY).")
    var poll: Double = 5

    @Option(help: "This worker's name in `vlm-stream jobs` (default: host:pid).")
    var name: String?

    @Flag(help: "Exit when no job is queued or running.")
    var exitWhenDone = false

    @OptionGroup var model: ModelOptions

    func validate() throws {
        guard fps > 0 else { throw ValidationError("--fps must be a positive number of frames per second.") }
        guard chunk >= 1 else { throw ValidationError("--chunk must be at least 1 frame.") }
        guard lease >= 1 else { throw ValidationError("--lease must be at least 1 second.") }
        guard poll > 0 else { throw ValidationError("--poll must be a positive number of seconds.") }
        guard maxAttempts >= 1 else { throw ValidationError("--max-attempts must be at least 1.") }
        _ = try captionOptions.indexCaptions(captions)
    }

    func run() async throws {
        try await reportingErrors {
            let workerName = name ?? "\(ProcessInfo.processInfo.hostName):\(getpid())"
            let log: @Sendable (String) -> Void = { line in
                FileHandle.standardError.write(Data("\(workerName): \(line)\n".utf8))
            }
            _ = try IndexLocation(db)  // a malformed URL is one line at once, not a retry
            let spec = IndexSpec(
                database: db, fps: fps, captions: try captionOptions.indexCaptions(captions), chunkFrames: chunk)
            let encoder = try model.load()
            // A database that is down when the worker starts is waited for, as one that goes away later is.
            let queue = try await IndexWorkerService.opening(log: log) { try JobQueue(url: db) }
            let pipeline = try await IndexWorkerService.opening(log: log) {
                try IndexPipeline(spec: spec, model: encoder, logger: quietLogger("vlm.index"))
            }
            let service = IndexWorkerService(
                pipeline: pipeline, queue: queue,
                options: .init(
                    name: workerName, lease: lease, maxAttempts: maxAttempts, idlePoll: poll,
                    exitWhenDrained: exitWhenDone),
                log: log)
            try await service.runWithSignals(logger: quietLogger("vlm.lifecycle"))
        }
    }
}

/// `vlm-stream jobs`: the queue of a PostgreSQL index.
struct JobsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jobs",
        abstract: "Show a PostgreSQL index's jobs: queued, running (worker, since, progress), done, failed.")

    @Option(help: "The index: postgres://user:password@host:port/db?sslmode=….")
    var db: String

    @Flag(help: "One JSON object per job.")
    var json = false

    func run() async throws {
        try await reportingErrors {
            let jobs = try JobQueue(url: db).jobs()
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                for job in jobs { print(String(decoding: try encoder.encode(job), as: UTF8.self)) }
                return
            }
            for state in ["queued", "running", "done", "failed"] {
                let group = jobs.filter { $0.state == state }
                print("\(state): \(group.count)")
                for job in group {
                    switch state {
                    case "running":
                        let since = job.since.map { Date(timeIntervalSince1970: $0).description } ?? "?"
                        print(
                            "  \(job.input)  worker \(job.worker ?? "?") since \(since), \(job.frames) frames, "
                                + String(format: "%.1f frames/s", job.fps))
                    case "failed":
                        print("  \(job.input)  after \(job.attempts) attempts: \(job.lastError ?? "?")")
                    default:
                        print("  \(job.input)")
                    }
                }
            }
            let running = jobs.filter { $0.state == "running" }
            if !running.isEmpty {
                print("frames/s per worker:")
                for (worker, group) in Dictionary(grouping: running, by: { $0.worker ?? "?" }).sorted(by: {
                    $0.key < $1.key
                }) {
                    print(String(format: "  %@ %.1f", worker, group.reduce(0) { $0 + $1.fps }))
                }
            }
        }
    }
}
