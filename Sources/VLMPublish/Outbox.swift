import DequeModule
import Foundation

/// One message waiting to be handed to libmosquitto or for its PUBACK.
struct OutboxEntry: Sendable {
    let id: UInt64
    let message: MQTTMessage
    /// Written to disk (events, captions, labels, queries); volatile ones (status) are regenerated after a restart.
    let durable: Bool
}

/// The on-disk outbox of one MQTT client: an append-only log of QoS≥1 messages plus an append-only index of the
/// ones acknowledged (PUBACK) or dropped, so a message leaves the outbox only when the broker has it.
///
/// Files in `directory`:
/// - `outbox.log`: one line per message, `id qos retain base64(topic) base64(payload)`.
/// - `outbox.acked`: one line per acknowledged or dropped id.
///
/// Durability policy: every line is written with `write(2)` before the message is handed to libmosquitto, so a
/// crash or SIGKILL of vlm-stream loses nothing (the kernel has the bytes); `sync()` fsyncs both files and the
/// owner calls it once a second while dirty and on close, so a power loss can lose at most the last second.
/// On open, unacknowledged messages of an earlier run are loaded for replay in order and the log is compacted;
/// while running, both files are truncated whenever everything has been acknowledged and the log passed 1 MiB.
/// Not thread-safe: the owner serialises access.
final class Outbox {
    /// Messages not yet handed to libmosquitto, oldest first.
    private(set) var pending: Deque<OutboxEntry> = []
    /// Messages dropped because the outbox was full (oldest first), since open.
    private(set) var dropped = 0
    /// Unacknowledged messages found on disk at open (from a run that crashed or could not flush).
    let recovered: Int
    /// Bytes of payload held in `pending`.
    private(set) var pendingBytes = 0

    let directory: URL
    let limit: Int
    private var nextID: UInt64 = 1
    private var log: FileHandle?
    private var acked: FileHandle?
    private var logBytes = 0
    private var dirty = false
    /// `flock`ed for as long as the outbox is open, so two runs never share (and corrupt) one outbox.
    private var lockDescriptor: Int32 = -1
    /// Set after the first failed write; the outbox then keeps working in memory only.
    private(set) var writeError: String?

    private static let compactThreshold = 1 << 20

    /// Opens (creating) the outbox in `directory` and loads what an earlier run left unacknowledged.
    init(directory: URL, limit: Int) throws {
        self.directory = directory
        self.limit = limit
        let fm = FileManager.default
        do {
            try fm.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw MQTTError.outbox(path: directory.path, reason: "cannot create directory")
        }
        lockDescriptor = open(directory.appendingPathComponent("lock").path, O_CREAT | O_RDWR | O_CLOEXEC, 0o644)
        guard lockDescriptor >= 0 else {
            throw MQTTError.outbox(path: directory.path, reason: "cannot create its lock file")
        }
        guard flock(lockDescriptor, LOCK_EX | LOCK_NB) == 0 else {
            Foundation.close(lockDescriptor)
            throw MQTTError.outbox(
                path: directory.path,
                reason: "in use by another vlm-stream with the same client id (give each --mqtt-client-id its own)")
        }
        let leftover = Outbox.load(directory)
        recovered = leftover.count
        for entry in leftover { pending.append(entry) }
        pendingBytes = leftover.reduce(0) { $0 + $1.message.payload.count }
        nextID = (leftover.last?.id ?? 0) + 1
        try rewrite(keeping: leftover)
        while pending.count > limit { dropOldest() }
    }

    deinit { close() }

    // MARK: - Queue

    /// Adds a message at the back (or, for `front`, ahead of everything pending); drops the oldest past `limit`.
    ///
    /// Nothing is ever coalesced: every message carries its own `seq`, so replacing a waiting one (even with a newer
    /// retained state of the same topic) would lose a transition a subscriber is promised (`ended` before
    /// `offline`) and show as a gap. Retained state that must go out early is moved, not replaced (`moveToFront`).
    @discardableResult
    func append(_ message: MQTTMessage, durable: Bool, front: Bool = false, inflight: Int = 0) -> OutboxEntry {
        let entry = OutboxEntry(id: nextID, message: message, durable: durable)
        nextID += 1
        if durable { write(Outbox.line(entry), to: log, counting: true) }
        if front { pending.prepend(entry) } else { pending.append(entry) }
        pendingBytes += message.payload.count
        while pending.count + inflight > limit, pending.count > 1 { dropOldest() }
        return entry
    }

    /// Moves every pending message for `topic` ahead of everything else, keeping their order among themselves, and
    /// says whether there was any. On reconnect this puts retained state (`status`, `queries`) still waiting
    /// behind a backlog first, so the broker shows the current state at once, while each transition still goes
    /// out, in order, with its own `seq`.
    @discardableResult
    func moveToFront(topic: String) -> Bool {
        let moving = pending.filter { $0.message.topic == topic }
        guard !moving.isEmpty else { return false }
        pending.removeAll { $0.message.topic == topic }
        pending.insert(contentsOf: moving, at: 0)
        return true
    }

    /// Takes the next message to hand to libmosquitto; it stays unacknowledged on disk until `acknowledge`.
    func popNext() -> OutboxEntry? {
        guard let entry = pending.popFirst() else { return nil }
        pendingBytes -= entry.message.payload.count
        return entry
    }

    /// The broker has the message (PUBACK), or it could never be sent: remove it from the outbox for good.
    func acknowledge(_ entry: OutboxEntry) {
        guard entry.durable else { return }
        write(Array("\(entry.id)\n".utf8), to: acked, counting: false)
    }

    /// Truncates both files when nothing is pending or in flight and the log has grown past 1 MiB.
    func compactIfIdle(inflight: Int) {
        guard pending.isEmpty, inflight == 0, logBytes > Outbox.compactThreshold, writeError == nil else { return }
        try? rewrite(keeping: [])
    }

    /// fsyncs both files if anything was written since the last call.
    func sync() {
        guard dirty else { return }
        dirty = false
        try? log?.synchronize()
        try? acked?.synchronize()
    }

    func close() {
        sync()
        try? log?.close()
        try? acked?.close()
        log = nil
        acked = nil
        if lockDescriptor >= 0 {
            Foundation.close(lockDescriptor)  // releases the flock
            lockDescriptor = -1
        }
    }

    // MARK: - Files

    private var logURL: URL { directory.appendingPathComponent("outbox.log") }
    private var ackedURL: URL { directory.appendingPathComponent("outbox.acked") }

    private func dropOldest() {
        guard let entry = popNext() else { return }
        acknowledge(entry)
        dropped += 1
    }

    private func write(_ bytes: [UInt8], to handle: FileHandle?, counting: Bool) {
        guard let handle, writeError == nil else { return }
        do {
            try handle.write(contentsOf: bytes)
            dirty = true
            if counting { logBytes += bytes.count }
        } catch {
            writeError = "\(error)"
        }
    }

    /// Replaces the log with `entries` (fsynced, then renamed into place) and empties the ack index.
    private func rewrite(keeping entries: [OutboxEntry]) throws {
        try? log?.close()
        try? acked?.close()
        let temporary = directory.appendingPathComponent("outbox.log.tmp")
        var bytes: [UInt8] = []
        for entry in entries { bytes += Outbox.line(entry) }
        do {
            try Data(bytes).write(to: temporary)
            let handle = try FileHandle(forWritingTo: temporary)
            try handle.synchronize()
            try handle.close()
            guard rename(temporary.path, logURL.path) == 0 else { throw CocoaError(.fileWriteUnknown) }
            try Data().write(to: ackedURL)
            log = try FileHandle(forWritingTo: logURL)
            acked = try FileHandle(forWritingTo: ackedURL)
            try log?.seekToEnd()
            try acked?.seekToEnd()
        } catch {
            throw MQTTError.outbox(path: directory.path, reason: "cannot write (\(error.localizedDescription))")
        }
        logBytes = bytes.count
    }

    // MARK: - Format

    static func line(_ entry: OutboxEntry) -> [UInt8] {
        let m = entry.message
        let text =
            "\(entry.id) \(m.qos) \(m.retained ? 1 : 0) \(Data(m.topic.utf8).base64EncodedString()) "
            + "\(Data(m.payload).base64EncodedString())\n"
        return Array(text.utf8)
    }

    /// The bytes of `url`, or nil when it cannot be read. Through `FileHandle`: swift-foundation's
    /// `Data(contentsOf:)` leaks a 4 KB buffer for every empty file it reads (the acknowledgement file usually is),
    /// which the mqtt-outbox fuzz target found as an out-of-memory after ~500,000 inputs.
    private static func readFile(_ url: URL) -> Data? {
        guard let handle = try? FileHandle(forReadingFrom: url) else { return nil }
        defer { try? handle.close() }
        do {
            return try handle.readToEnd() ?? Data()
        } catch {
            return nil
        }
    }

    /// The unacknowledged entries of the files in `directory`, in log order. A torn last line (crash mid-write)
    /// and lines that do not parse are skipped.
    static func load(_ directory: URL) -> [OutboxEntry] {
        guard let logData = readFile(directory.appendingPathComponent("outbox.log")) else { return [] }
        let ackData = readFile(directory.appendingPathComponent("outbox.acked")) ?? Data()
        var ackedIDs = Set<UInt64>()
        for line in ackData.split(separator: UInt8(ascii: "\n")) {
            if let id = UInt64(String(decoding: line, as: UTF8.self)) { ackedIDs.insert(id) }
        }
        var entries: [OutboxEntry] = []
        var lines = logData.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        if !lines.isEmpty { lines.removeLast() }  // after the final newline: empty, or a torn line
        for line in lines {
            let fields = line.split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false)
            guard fields.count == 5,
                let id = UInt64(String(decoding: fields[0], as: UTF8.self)), !ackedIDs.contains(id),
                let qos = Int(String(decoding: fields[1], as: UTF8.self)),
                let topic = Data(base64Encoded: Data(fields[3])), let payload = Data(base64Encoded: Data(fields[4]))
            else { continue }
            let message = MQTTMessage(
                topic: String(decoding: topic, as: UTF8.self), payload: Array(payload), qos: qos,
                retained: fields[2].first == UInt8(ascii: "1"))
            entries.append(OutboxEntry(id: id, message: message, durable: true))
        }
        return entries
    }
}
