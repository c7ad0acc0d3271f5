import Foundation
import VLMCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A minimal HTTP/1.1 server on 127.0.0.1 (an ephemeral port) for tests that download: serves fixed routes to
/// HEAD and GET, honours `Range: bytes=N-`, can answer with a redirect, and can cut a body short once to
/// simulate a dropped connection. One connection at a time, `Connection: close`.
public final class LoopbackHTTPServer: Sendable {
    /// What a path answers.
    public struct Route: Sendable {
        public var status: Int
        public var headers: [String: String]
        public var body: Data
        /// Send only this many body bytes, then close, the first time the route is fetched with GET.
        public var cutAfter: Int?

        public init(status: Int = 200, headers: [String: String] = [:], body: Data = Data(), cutAfter: Int? = nil) {
            self.status = status
            self.headers = headers
            self.body = body
            self.cutAfter = cutAfter
        }
    }

    /// One request as received: method, path and the Range header (if any).
    public struct Request: Sendable, Equatable {
        public var method: String
        public var path: String
        public var range: String?
    }

    private struct State {
        var routes: [String: Route]
        var log: [Request] = []
        var stopped = false
    }

    public let port: Int
    private let socketFD: Int32
    private let state: Locked<State>

    /// Starts serving `routes` (path → route) on a background thread.
    public init(routes: [String: Route]) throws {
        state = Locked(State(routes: routes))
        let (fd, port) = try LoopbackSocket.listen(backlog: 16)
        socketFD = fd
        self.port = port
        let thread = Thread { [self] in self.serve() }
        thread.start()
    }

    /// `http://127.0.0.1:<port>`.
    public var baseURL: URL { URL(string: "http://127.0.0.1:\(port)")! }

    /// Adds or replaces the route for `path` (e.g. one whose redirect needs `baseURL`).
    public func setRoute(_ path: String, _ route: Route?) {
        state.withLock { $0.routes[path] = route }
    }

    /// Requests received so far.
    public var requests: [Request] { state.withLock { $0.log } }

    /// Stops accepting connections.
    public func stop() {
        let already = state.withLock { s in
            defer { s.stopped = true }
            return s.stopped
        }
        guard !already else { return }
        shutdown(socketFD, Int32(SHUT_RDWR))
        close(socketFD)
    }

    deinit { stop() }

    // MARK: - Serving

    private func serve() {
        while true {
            let client = accept(socketFD, nil, nil)
            if client < 0 {
                if state.withLock({ $0.stopped }) { return }
                continue
            }
            handle(client)
            close(client)
        }
    }

    private func handle(_ client: Int32) {
        var received = Data()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !received.contains(Data("\r\n\r\n".utf8)) {
            let n = recv(client, &buffer, buffer.count, 0)
            guard n > 0 else { return }
            received.append(buffer, count: n)
            if received.count > 65536 { return }
        }
        let head = String(decoding: received, as: UTF8.self).components(separatedBy: "\r\n")
        let parts = head[0].split(separator: " ")
        guard parts.count >= 2 else { return }
        let method = String(parts[0])
        let path = String(parts[1])
        var range: String?
        for line in head.dropFirst() where line.lowercased().hasPrefix("range:") {
            range = line.dropFirst("range:".count).trimmingCharacters(in: .whitespaces)
        }
        let route: Route? = state.withLock { s in
            s.log.append(Request(method: method, path: path, range: range))
            let route = s.routes[path]
            if method == "GET", route?.cutAfter != nil { s.routes[path]?.cutAfter = nil }
            return route
        }
        guard var route else {
            send(client, status: 404, headers: [:], body: Data("not found".utf8), includeBody: method != "HEAD")
            return
        }
        var headers = route.headers
        var body = route.body
        if let range, route.status == 200, range.hasPrefix("bytes="), range.hasSuffix("-"),
            let start = Int(range.dropFirst("bytes=".count).dropLast())
        {
            if start >= body.count {
                send(client, status: 416, headers: [:], body: Data(), includeBody: false)
                return
            }
            headers["Content-Range"] = "bytes \(start)-\(body.count - 1)/\(body.count)"
            body = body.subdata(in: start..<body.count)
            route.status = 206
        }
        headers["Content-Length"] = "\(body.count)"
        headers["Accept-Ranges"] = "bytes"
        if method == "GET", let cut = route.cutAfter { body = body.prefix(cut) }
        send(client, status: route.status, headers: headers, body: body, includeBody: method != "HEAD")
    }

    private func send(_ client: Int32, status: Int, headers: [String: String], body: Data, includeBody: Bool) {
        var text = "HTTP/1.1 \(status) \(status < 400 ? "OK" : "Error")\r\nConnection: close\r\n"
        if headers["Content-Length"] == nil { text += "Content-Length: \(body.count)\r\n" }
        for (k, v) in headers.sorted(by: { $0.key < $1.key }) { text += "\(k): \(v)\r\n" }
        text += "\r\n"
        var payload = Data(text.utf8)
        if includeBody { payload.append(body) }
        payload.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                #if canImport(Glibc)
                    let n = Glibc.send(client, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
                #else
                    let n = Darwin.send(client, raw.baseAddress! + offset, raw.count - offset, 0)
                #endif
                if n <= 0 { return }
                offset += n
            }
        }
    }
}
