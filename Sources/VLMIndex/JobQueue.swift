import Foundation
import PostgresNIO

/// One indexing job: an input (a path or URL every worker can read) and where it stands.
public struct IndexJob: Sendable, Equatable, Codable {
    public var id: Int64
    public var input: String
    /// `queued`, `running`, `done` or `failed`.
    public var state: String
    /// The worker holding the lease (running), or that last held it.
    public var worker: String?
    /// Seconds since the epoch when the current run started.
    public var since: Double?
    /// Lease expiry, seconds since the epoch.
    public var leaseUntil: Double?
    public var attempts: Int
    public var lastError: String?
    /// Frames stored in the current or last run.
    public var frames: Int
    /// Frames per second of the current or last run.
    public var fps: Double
}

/// The job queue of a PostgreSQL index: `index --enqueue` adds jobs, `worker`s claim one video at a time under a
/// lease (`SELECT … FOR UPDATE SKIP LOCKED`), renew it by heartbeat, and finish, release or fail it.
///
/// A job whose lease expired (its worker was killed, or lost the database) is claimed again; the index's own resume
/// logic continues after the last committed chunk. Every statement binds its values.
public final class JobQueue: Sendable {
    /// The NOTIFY channel that wakes idle workers.
    public static let channel = "vlm_jobs"

    private let store: PostgresStore
    /// The database as shown in messages.
    public let path: String

    /// Opens the queue of the PostgreSQL index at `url` (migrating the schema); an SQLite path is refused.
    public init(url: String) throws {
        guard case .postgres(let pg) = try IndexLocation(url) else {
            throw IndexError.badURL(
                url: PostgresURL.mask(url), reason: "jobs and workers need a PostgreSQL index (postgres://…)")
        }
        store = try PostgresStore(url: pg)
        path = pg.display
    }

    /// Calls `wake` whenever a job is queued or released (LISTEN on `channel`, a connection of its own).
    public func onWake(_ wake: @escaping @Sendable () -> Void) throws {
        try store.listen(channel: Self.channel, wake)
    }

    /// Adds (or re-queues, unless running) jobs for `inputs`; returns how many were queued. Wakes idle workers.
    @discardableResult
    public func enqueue(_ inputs: [String]) throws -> Int {
        try store.postgres { tx in
            var queued = 0
            var seen = Set<String>()
            for input in inputs where seen.insert(input).inserted {  // the same path twice is one job
                let rows = try tx.run(
                    """
                    INSERT INTO job (input) VALUES (\(input))
                    ON CONFLICT (input) DO UPDATE SET state = 'queued', attempts = 0, last_error = NULL,
                        worker = NULL, lease_until = NULL, updated_at = now()
                    WHERE job.state <> 'running' RETURNING id
                    """)
                queued += rows.count
            }
            try tx.run("SELECT pg_notify(\(Self.channel), 'queued')")
            return queued
        }
    }

    /// Claims the oldest queued job, or a running one whose lease expired, for `worker` for `lease` seconds.
    public func claim(worker: String, lease: Double) throws -> IndexJob? {
        try store.postgres { tx in
            try tx.run(
                """
                UPDATE job SET state = 'running', worker = \(worker),
                    lease_until = now() + make_interval(secs => \(lease)), attempts = attempts + 1,
                    started_at = now(), updated_at = now(), frames = 0, fps = 0
                WHERE id = (
                    SELECT id FROM job WHERE state = 'queued' OR (state = 'running' AND lease_until < now())
                    ORDER BY id FOR UPDATE SKIP LOCKED LIMIT 1)
                RETURNING \(unescaped: Self.columns)
                """
            ).first.map(Self.job)
        }
    }

    /// Renews `worker`'s lease on `job` and records its progress; false when the lease was lost (expired and
    /// claimed by another worker).
    public func heartbeat(job: Int64, worker: String, lease: Double, frames: Int, fps: Double) throws -> Bool {
        try store.postgres { tx in
            !(try tx.run(
                """
                UPDATE job SET lease_until = now() + make_interval(secs => \(lease)), frames = \(Int64(frames)),
                    fps = \(fps), updated_at = now()
                WHERE id = \(job) AND worker = \(worker) AND state = 'running' RETURNING id
                """)).isEmpty
        }
    }

    /// The job is indexed.
    public func finish(job: Int64, worker: String) throws {
        try store.postgres { tx in
            try tx.run(
                """
                UPDATE job SET state = 'done', lease_until = NULL, last_error = NULL, updated_at = now()
                WHERE id = \(job) AND worker = \(worker)
                """)
        }
    }

    /// Gives the job back at once (graceful shutdown): queued again, this run not counted as an attempt.
    public func release(job: Int64, worker: String) throws {
        try store.postgres { tx in
            try tx.run(
                """
                UPDATE job SET state = 'queued', lease_until = NULL, attempts = greatest(attempts - 1, 0),
                    updated_at = now()
                WHERE id = \(job) AND worker = \(worker) AND state = 'running'
                """)
            try tx.run("SELECT pg_notify(\(Self.channel), 'released')")
        }
    }

    /// Records a failed run: queued again, or `failed` once it has been tried `maxAttempts` times.
    public func fail(job: Int64, worker: String, error: String, maxAttempts: Int) throws {
        try store.postgres { tx in
            try tx.run(
                """
                UPDATE job SET state = CASE WHEN attempts >= \(Int32(maxAttempts)) THEN 'failed' ELSE 'queued' END,
                    lease_until = NULL, last_error = \(error), updated_at = now()
                WHERE id = \(job) AND worker = \(worker) AND state = 'running'
                """)
        }
    }

    /// Every job, by id.
    public func jobs() throws -> [IndexJob] {
        try store.postgres { tx in
            try tx.run("SELECT \(unescaped: Self.columns) FROM job ORDER BY id").map(Self.job)
        }
    }

    /// True when no job is queued or running.
    public func isDrained() throws -> Bool {
        try jobs().allSatisfy { $0.state == "done" || $0.state == "failed" }
    }

    private static let columns = """
        id, input, state, worker, extract(epoch FROM started_at)::float8, extract(epoch FROM lease_until)::float8,
        attempts, last_error, frames, fps
        """

    private static func job(_ row: PostgresRandomAccessRow) throws -> IndexJob {
        IndexJob(
            id: try row[0].decode(Int64.self), input: try row[1].decode(String.self),
            state: try row[2].decode(String.self), worker: try row[3].decode(String?.self),
            since: try row[4].decode(Double?.self), leaseUntil: try row[5].decode(Double?.self),
            attempts: Int(try row[6].decode(Int32.self)), lastError: try row[7].decode(String?.self),
            frames: Int(try row[8].decode(Int64.self)), fps: try row[9].decode(Double.self))
    }
}
