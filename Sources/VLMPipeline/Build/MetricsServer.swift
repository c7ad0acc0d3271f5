import Foundation
import Prometheus
import VLMCore
import VLMGraph

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Serves a Prometheus registry over HTTP/1.1 (`GET /metrics`, text exposition format 0.0.4).
///
/// A deliberately small responder: one accept thread, one request per connection (`Connection: close`), a 2 s
/// read timeout, anything but `GET` answered 405 and other paths 404. Enough for Prometheus and curl without
/// pulling in an HTTP stack.
public final class MetricsServer: Sendable {
    /// The port actually bound (useful when asked for port 0).
    public let port: Int
    private let socketFD: Int32
    private let registry: PrometheusCollectorRegistry
    private let stopped = Locked(false)

    /// Binds `host:port` (port 0 picks a free one) and starts serving `registry`.
    public init(registry: PrometheusCollectorRegistry, host: String = "127.0.0.1", port: Int) throws {
        self.registry = registry
        #if canImport(Glibc)
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
            let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw PipelineError.metricsPort(port, "socket() failed") }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else {
            close(fd)
            throw PipelineError.metricsPort(port, "'\(host)' is not an IPv4 address")
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(fd, 16) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw PipelineError.metricsPort(port, reason)
        }
        var actual = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        self.port = Int(UInt16(bigEndian: actual.sin_port))
        self.socketFD = fd
        DispatchQueue(label: "vlm.metrics.http").async { self.acceptLoop() }
    }

    /// Stops accepting connections and closes the socket.
    public func stop() {
        let first = stopped.withLock { s -> Bool in
            defer { s = true }
            return !s
        }
        guard first else { return }
        shutdown(socketFD, Int32(SHUT_RDWR))
        close(socketFD)
    }

    private func acceptLoop() {
        while !stopped.current {
            let client = accept(socketFD, nil, nil)
            guard client >= 0 else {
                if errno == EINTR { continue }
                return
            }
            DispatchQueue.global().async { self.respond(on: client) }
        }
    }

    private func respond(on client: Int32) {
        defer { close(client) }
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var request = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 4096)
        // Read until the end of the headers (or 16 KiB, or the timeout).
        while request.count < 16_384 {
            let n = read(client, &buffer, buffer.count)
            guard n > 0 else { break }
            request += buffer[0..<n]
            if request.count >= 4, request.suffix(4) == [13, 10, 13, 10] { break }
            if let text = String(bytes: request, encoding: .utf8), text.contains("\r\n\r\n") { break }
        }
        let line = String(decoding: request.prefix { $0 != 13 && $0 != 10 }, as: UTF8.self)
        let parts = line.split(separator: " ")
        let (status, type, body): (String, String, [UInt8])
        if parts.count < 2 {
            (status, type, body) = ("400 Bad Request", "text/plain", Array("bad request\n".utf8))
        } else if parts[0] != "GET" && parts[0] != "HEAD" {
            (status, type, body) = ("405 Method Not Allowed", "text/plain", Array("only GET\n".utf8))
        } else if !(parts[1] == "/metrics" || parts[1].hasPrefix("/metrics?") || parts[1] == "/") {
            (status, type, body) = ("404 Not Found", "text/plain", Array("try /metrics\n".utf8))
        } else {
            (status, type, body) = ("200 OK", "text/plain; version=0.0.4; charset=utf-8", registry.emitToBuffer())
        }
        let head =
            "HTTP/1.1 \(status)\r\nContent-Type: \(type)\r\nContent-Length: \(body.count)\r\n"
            + "Connection: close\r\n\r\n"
        writeAll(client, Array(head.utf8) + (parts.first == "HEAD" ? [] : body))
    }

    private func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            #if canImport(Glibc)
                let flags = Int32(MSG_NOSIGNAL)  // a client that hung up must not SIGPIPE the process
            #else
                let flags: Int32 = 0
            #endif
            let n = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, flags) }
            guard n > 0 else { return }
            offset += n
        }
    }
}
