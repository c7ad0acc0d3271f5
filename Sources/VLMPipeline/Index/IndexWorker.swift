import Foundation
import Logging
import ServiceLifecycle
import VLMCore
import VLMIndex

/// `vlm-stream worker` as a service: claims one job at a time from a PostgreSQL index's queue, indexes it through
/// the same `IndexPipeline` as `index` (so a claimed job resumes after its last committed chunk), and renews its
/// lease by heartbeat while the video runs.
///
/// Graceful shutdown (SIGTERM/SIGINT) drains the current video's graph (its encoded frames are committed) and
/// releases the lease at once. A failed run is recorded and the job re-queued until `maxAttempts`, then marked
/// failed. When the database is unreachable the worker retries with backoff (doubling to 10 s); committed chunks
/// stay, and the lease of the video it was on expires so another worker (or this one) resumes it.
public struct IndexWorkerService: Service {
    /// How the worker behaves.
    public struct Options: Sendable {
        /// The worker's name in the queue (`host:pid` by default).
        public var name: String
        /// Seconds a claim lasts without a heartbeat (renewed every third of it).
        public var lease: Double
        /// Runs after which a failing job is marked failed.
        public var maxAttempts: Int
        /// Seconds between polls of an empty queue (NOTIFY wakes an idle worker sooner).
        public var idlePoll: Double
        /// Exit once no job is queued or running (tests, batch runs).
        public var exitWhenDrained: Bool

        public init(
            name: String, lease: Double = 30, maxAttempts: Int = 3, idlePoll: Double = 5, exitWhenDrained: Bool = false
        ) {
            self.name = name
            self.lease = lease
            self.maxAttempts = maxAttempts
            self.idlePoll = idlePoll
            self.exitWhenDrained = exitWhenDrained
        }
    }

    public let pipeline: IndexPipeline
    public let queue: JobQueue
    public let options: Options
    /// One line per event (claimed, done, failed, released, database retries).
    public let log: @Sendable (String) -> Void

    public init(pipeline: IndexPipeline, queue: JobQueue, options: Options, log: @escaping @Sendable (String) -> Void) {
        self.pipeline = pipeline
        self.queue = queue
        self.options = options
        self.log = log
    }

    public func run() async throws {
        await withGracefulShutdownHandler {
            await loop()
        } onGracefulShutdown: { [pipeline = self.pipeline] in
            pipeline.stop()
        }
    }

    private func loop() async {
        let woken = Locked(false)
        do {
            try queue.onWake { woken.withLock { $0 = true } }
        } catch {
            log("no LISTEN connection, polling every \(options.idlePoll) s: \(Self.describe(error))")
        }
        var backoff = 0.25
        while !pipeline.isStopping {
            let job: IndexJob?
            do {
                job = try queue.claim(worker: options.name, lease: options.lease)
                backoff = 0.25
            } catch {
                log("database unavailable, retrying in \(backoff) s: \(Self.describe(error))")
                await pause(backoff)
                backoff = min(backoff * 2, 10)
                continue
            }
            guard let job else {
                if options.exitWhenDrained, (try? queue.isDrained()) == true { return }
                // Expired leases are noticed by polling; new and released jobs by NOTIFY.
                woken.withLock { $0 = false }
                await pause(options.idlePoll) { woken.current }
                continue
            }
            if await index(job) == .stop { return }
        }
    }

    private enum Next { case next, stop }

    /// Indexes one claimed job with a heartbeat; records how it ended.
    private func index(_ job: IndexJob) async -> Next {
        log("claimed \(job.input) (attempt \(job.attempts))")
        let started = Date()
        let frames = Locked(0)
        let beat = Task.detached { [queue, options] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(options.lease / 3))
                if Task.isCancelled { return }
                let n = frames.current
                let fps = Double(n) / max(Date().timeIntervalSince(started), 1e-3)
                _ = try? queue.heartbeat(job: job.id, worker: options.name, lease: options.lease, frames: n, fps: fps)
            }
        }
        defer { beat.cancel() }
        let url =
            job.input.contains("://")
            ? (URL(string: job.input) ?? URL(fileURLWithPath: job.input))
            : URL(fileURLWithPath: job.input)
        let outcome: Result<IndexOutcome, any Error>
        do {
            outcome = .success(try await pipeline.index(url, onProgress: { p in frames.withLock { $0 = p.encoded } }))
        } catch {
            outcome = .failure(error)
        }
        beat.cancel()
        switch outcome {
        case .success(.interrupted(let stored)):
            try? queue.release(job: job.id, worker: options.name)
            log("released \(job.input) (\(stored) frames committed)")
            return .stop
        case .success:
            let n = frames.current
            let fps = Double(n) / max(Date().timeIntervalSince(started), 1e-3)
            _ = try? queue.heartbeat(job: job.id, worker: options.name, lease: options.lease, frames: n, fps: fps)
            await retrying { try queue.finish(job: job.id, worker: options.name) }
            log("done \(job.input)")
            return pipeline.isStopping ? .stop : .next
        case .failure(let error):
            if let indexError = error as? IndexError, case .unreachable = indexError {
                // The database went away mid-video: the committed chunks stay. Once it answers again the job is given
                // back uncounted, as an outage is no failed attempt of the video (another worker may have taken it
                // over after the lease ran out: then this changes nothing).
                log("database unavailable during \(job.input): \(Self.describe(error))")
                await retrying { try queue.release(job: job.id, worker: options.name) }
                return .next
            }
            let reason = Self.describe(error)
            await retrying {
                try queue.fail(job: job.id, worker: options.name, error: reason, maxAttempts: options.maxAttempts)
            }
            log("failed \(job.input): \(reason)")
            return .next
        }
    }

    /// Retries a queue update with backoff until it succeeds or the worker stops.
    private func retrying(_ body: () throws -> Void) async {
        var backoff = 0.25
        while true {
            do {
                try body()
                return
            } catch {
                if pipeline.isStopping { return }
                await pause(backoff)
                backoff = min(backoff * 2, 10)
            }
        }
    }

    /// Sleeps `seconds`, waking early when the worker stops or `wake` turns true.
    private func pause(_ seconds: Double, wake: () -> Bool = { false }) async {
        let until = Date().addingTimeInterval(seconds)
        while Date() < until, !pipeline.isStopping, !wake() { try? await Task.sleep(for: .milliseconds(50)) }
    }

    static func describe(_ error: any Error) -> String {
        (error as? UserFacingError)?.description ?? "\(error)"
    }
}

extension IndexWorkerService {
    /// Opens what a worker needs (`open`: the queue, the index), retrying with the worker's backoff (doubling to
    /// 10 s) while the database is unreachable, so a worker started before its database, or during an outage,
    /// waits for it instead of exiting. Any other error (a bad URL, a foreign database) is thrown at once.
    public static func opening<T>(log: (String) -> Void, _ open: () throws -> T) async throws -> T {
        var backoff = 0.25
        while true {
            do {
                return try open()
            } catch let error as IndexError {
                guard case .unreachable = error else { throw error }
                log("database unavailable, retrying in \(backoff) s: \(describe(error))")
                try await Task.sleep(for: .seconds(backoff))
                backoff = min(backoff * 2, 10)
            }
        }
    }

    /// Runs the worker in a `ServiceGroup` that turns SIGINT/SIGTERM into a graceful shutdown (exit 0 after the lease
    /// is released), and exits with status 130 at once on a second signal.
    public func runWithSignals(logger: Logger) async throws {
        try await runWithSignals(named: "worker", logger: logger)
    }
}
