import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A plain reader of a Server-Sent Events response over a loopback socket: sends one GET, checks the head, then
/// parses `id:`/`event:`/`data:` blocks as they arrive, so a test sees exactly what a browser's EventSource would.
public final class EventStreamClient: @unchecked Sendable {
    /// One event: its id, name and data (lines joined with `\n`).
    public struct Event: Sendable {
        public var id: Int?
        public var name: String
        public var data: String

        /// `data` as a JSON object.
        public var json: [String: Any] {
            (try? JSONSerialization.jsonObject(with: Data(data.utf8))) as? [String: Any] ?? [:]
        }
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    private let fd: Int32
    private var pending: [UInt8] = []
    /// The response's status and headers (lowercased names).
    public private(set) var status = 0
    public private(set) var headers: [String: String] = [:]
    /// True once the server closed the stream.
    public private(set) var ended = false

    /// Connects to `127.0.0.1:port` and requests `target` with `headers`.
    public init(port: Int, target: String, headers extra: [String: String] = [:]) throws {
        guard let socket = LoopbackSocket.connect(port: port) else {
            throw Failure(description: "cannot connect to port \(port)")
        }
        fd = socket
        var head = "GET \(target) HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
        for (name, value) in extra { head += "\(name): \(value)\r\n" }
        head += "\r\n"
        let bytes = Array(head.utf8)
        _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        // The head.
        let deadline = Date().addingTimeInterval(30)
        while pending.firstRange(of: [13, 10, 13, 10]) == nil {
            guard try fill(until: deadline) else { throw Failure(description: "no response head") }
        }
        let end = pending.firstRange(of: [13, 10, 13, 10])!
        let text = String(decoding: pending[..<end.lowerBound], as: UTF8.self)
        pending.removeSubrange(..<end.upperBound)
        let lines = text.components(separatedBy: "\r\n")
        status = Int(lines.first?.split(separator: " ").dropFirst().first ?? "") ?? 0
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(
                in: .whitespaces)
        }
        if headers["transfer-encoding"]?.lowercased() == "chunked" { chunked = true }
    }

    deinit { close(fd) }

    private var chunked = false
    private var decoded: [UInt8] = []

    /// The next event (comments skipped), or nil when the stream ended or `timeout` seconds passed.
    public func next(timeout: Double) throws -> Event? {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            decodeChunks()
            if let event = takeEvent() { return event }
            if ended { return nil }
            guard try fill(until: deadline) else { return nil }
        }
    }

    /// Events until `stop(event)` is true (that one included) or the deadline; nil in the result's place when
    /// the deadline or the end came first.
    public func collect(timeout: Double, until stop: (Event) -> Bool) throws -> (events: [Event], stopped: Bool) {
        let deadline = Date().addingTimeInterval(timeout)
        var events: [Event] = []
        while let event = try next(timeout: deadline.timeIntervalSinceNow) {
            events.append(event)
            if stop(event) { return (events, true) }
        }
        return (events, false)
    }

    /// Reads (and drops) events until the server ends the stream; false if it is still open after `timeout`.
    public func waitForEnd(timeout: Double) throws -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while !ended && Date() < deadline { _ = try next(timeout: deadline.timeIntervalSinceNow) }
        return ended
    }

    private func fill(until deadline: Date) throws -> Bool {
        let left = deadline.timeIntervalSinceNow
        guard left > 0 else { return false }
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, Int32(min(left, 1) * 1000)) > 0 else { return true }
        var buffer = [UInt8](repeating: 0, count: 65536)
        let n = recv(fd, &buffer, buffer.count, 0)
        if n <= 0 {
            ended = true
            return false
        }
        pending += buffer[0..<n]
        return true
    }

    /// Moves whole chunks of a chunked body from `pending` to `decoded` (or everything when not chunked).
    private func decodeChunks() {
        guard chunked else {
            decoded += pending
            pending = []
            return
        }
        while let lineEnd = pending.firstRange(of: [13, 10]) {
            let sizeText = String(decoding: pending[..<lineEnd.lowerBound], as: UTF8.self)
            guard let size = Int(sizeText.split(separator: ";").first ?? "", radix: 16) else { return }
            if size == 0 {
                ended = true
                pending = []
                return
            }
            guard pending.count >= lineEnd.upperBound + size + 2 else { return }
            decoded += pending[lineEnd.upperBound..<(lineEnd.upperBound + size)]
            pending.removeSubrange(..<(lineEnd.upperBound + size + 2))
        }
    }

    private func takeEvent() -> Event? {
        while let end = decoded.firstRange(of: [10, 10]) {
            let block = String(decoding: decoded[..<end.lowerBound], as: UTF8.self)
            decoded.removeSubrange(..<end.upperBound)
            var event = Event(id: nil, name: "message", data: "")
            var data: [String] = []
            for line in block.split(separator: "\n", omittingEmptySubsequences: false) {
                if line.hasPrefix(":") { continue }
                let parts = line.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
                let field = String(parts[0])
                var value = parts.count > 1 ? String(parts[1]) : ""
                if value.hasPrefix(" ") { value.removeFirst() }
                switch field {
                case "id": event.id = Int(value)
                case "event": event.name = value
                case "data": data.append(value)
                default: break
                }
            }
            guard !data.isEmpty else { continue }  // a comment or retry: no event
            event.data = data.joined(separator: "\n")
            return event
        }
        return nil
    }
}
