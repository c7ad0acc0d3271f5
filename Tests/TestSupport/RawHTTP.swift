import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A deliberately plain HTTP/1.1 client over a loopback socket (`Connection: close`, read to EOF), so the tests see
/// exactly what the server sends: the request target is written byte for byte (no URL normalisation, so `..` and
/// percent-encodings reach the server as given).
public struct RawHTTP: Sendable {
    public struct Reply: Sendable {
        public var status: Int
        public var headers: [String: String]
        public var body: [UInt8]
        public var text: String { String(decoding: body, as: UTF8.self) }
        public func json() throws -> [String: Any] {
            try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] ?? [:]
        }
    }

    public let port: Int

    /// A client of `127.0.0.1:port`.
    public init(port: Int) { self.port = port }

    /// `requestBlocking` on a Dispatch thread: the test's own threads stay free for the in-process server (its
    /// handlers run on the same cooperative pool as the tests).
    public func request(
        _ method: String = "GET", _ target: String, headers: [String: String] = [:], body: [UInt8] = [],
        chunked: Bool = false
    ) async throws -> Reply {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(
                    with: Result {
                        try requestBlocking(method, target, headers: headers, body: body, chunked: chunked)
                    })
            }
        }
    }

    /// Sends one request. `bodyBytes` goes after the headers (with its Content-Length unless `headers` sets one);
    /// a body the server refuses early may be cut short, so send errors after the headers are ignored.
    public func requestBlocking(
        _ method: String = "GET", _ target: String, headers: [String: String] = [:], body bodyBytes: [UInt8] = [],
        chunked: Bool = false
    ) throws -> Reply {
        guard let fd = LoopbackSocket.connect(port: port) else { throw POSIXError(.ECONNREFUSED) }
        defer { close(fd) }
        // Only a hang guard: a loaded CI machine has taken over 60 s to answer (the test servers allow 120 s).
        var timeout = timeval(tv_sec: 300, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var head = "\(method) \(target) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        if chunked {
            head += "Transfer-Encoding: chunked\r\n"
        } else if headers.keys.allSatisfy({ $0.lowercased() != "content-length" })
            && (!bodyBytes.isEmpty || method == "POST")
        {
            head += "Content-Length: \(bodyBytes.count)\r\n"
        }
        head += "\r\n"
        _ = sendAll(fd, Array(head.utf8))
        // The body goes out on another thread so a server that answers early (413) is read while we still send.
        let sender = Thread {
            if chunked {
                var offset = 0
                while offset < bodyBytes.count {
                    let piece = bodyBytes[offset..<min(bodyBytes.count, offset + (1 << 20))]
                    guard sendAll(fd, Array(String(piece.count, radix: 16).utf8) + [13, 10] + piece + [13, 10]) else {
                        return
                    }
                    offset += piece.count
                }
                _ = sendAll(fd, Array("0\r\n\r\n".utf8))
            } else if !bodyBytes.isEmpty {
                _ = sendAll(fd, bodyBytes)
            }
        }
        sender.start()
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        var failure: POSIXErrorCode?  // why the last recv failed, for the error when no reply came
        while true {
            let n = recv(fd, &chunk, chunk.count, 0)
            if n < 0 && errno == EINTR { continue }  // a signal, not an answer: wait on
            if n < 0 { failure = POSIXErrorCode(rawValue: errno) }
            if n <= 0 { break }
            received += chunk[0..<n]
            if let reply = Self.parse(received), reply.complete { break }
        }
        shutdown(fd, Int32(SHUT_RDWR))
        while !sender.isFinished { usleep(1000) }
        // No reply: the socket's own error (reset, timed out), else EBADMSG for a close before a whole head.
        guard let reply = Self.parse(received) else { throw POSIXError(failure ?? .EBADMSG) }
        return reply.reply
    }

    private func sendAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return false }
            offset += n
        }
        return true
    }

    /// A response once its head is in; `complete` when the body has its Content-Length (or is chunked and ended).
    static func parse(_ bytes: [UInt8]) -> (reply: Reply, complete: Bool)? {
        guard
            let end = (0..<max(0, bytes.count - 3)).first(where: { bytes[$0..<$0 + 4].elementsEqual([13, 10, 13, 10]) })
        else { return nil }
        let lines = String(decoding: bytes[..<end], as: UTF8.self).components(separatedBy: "\r\n")
        let status = Int(lines[0].split(separator: " ").dropFirst().first ?? "") ?? 0
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(
                in: .whitespaces)
        }
        var body = Array(bytes[(end + 4)...])
        var complete = false
        if headers["transfer-encoding"]?.lowercased() == "chunked" {
            var decoded: [UInt8] = []
            var i = 0
            while let lineEnd = (i..<max(i, body.count - 1)).first(where: { body[$0] == 13 && body[$0 + 1] == 10 }) {
                guard let size = Int(String(decoding: body[i..<lineEnd], as: UTF8.self), radix: 16) else { break }
                if size == 0 {
                    complete = true
                    break
                }
                guard lineEnd + 2 + size <= body.count else { break }
                decoded += body[(lineEnd + 2)..<(lineEnd + 2 + size)]
                i = lineEnd + 2 + size + 2
            }
            body = decoded
        } else if let length = headers["content-length"].flatMap(Int.init) {
            complete = body.count >= length
            body = Array(body.prefix(length))
        }
        return (Reply(status: status, headers: headers, body: body), complete)
    }
}
