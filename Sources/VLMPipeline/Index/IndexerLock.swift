import Foundation

/// Turn-taking between `index` processes that write one database: each holds an exclusive `flock` on
/// `<database>-indexer.lock` from planning a video to completing it, so two indexers given overlapping videos never
/// encode the same frames at once (which failed with "UNIQUE constraint failed"). The second waits, then finds the
/// video complete and skips it. Searches never take the lock.
///
/// A separate file, not the database: SQLite's POSIX locks are dropped when any descriptor of the database file is
/// closed in the process, so the database itself must never be opened a second time.
final class IndexerLock: Sendable {
    private let descriptor: Int32

    /// Opens (creating) the lock file beside `database`; nil when it cannot be created (a read-only directory),
    /// in which case indexing proceeds without turn-taking, as before.
    init?(database: String) {
        let fd = open(database + "-indexer.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return nil }
        descriptor = fd
    }

    deinit { close(descriptor) }

    /// Waits for the lock, polling so a shutdown request (`stopping`) is honoured at once; false when it was.
    func acquire(stopping: @Sendable () -> Bool) async -> Bool {
        while true {
            if stopping() { return false }
            if flock(descriptor, LOCK_EX | LOCK_NB) == 0 { return true }
            if errno != EWOULDBLOCK && errno != EINTR { return true }  // no flock support here: do not block forever
            try? await Task.sleep(for: .milliseconds(50))
        }
    }

    /// Lets the next indexer go.
    func release() {
        flock(descriptor, LOCK_UN)
    }
}
