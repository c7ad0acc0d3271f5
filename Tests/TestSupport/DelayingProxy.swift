import Foundation

#if canImport(Glibc)
    import Glibc
#else
    import Darwin
#endif

/// A loopback TCP proxy in front of a test server that holds everything the server sends back for `delay` seconds
/// before passing it on: a slow link in a test. Towards an MQTT broker it delays every CONNACK and PUBACK, so a
/// publisher with a window of one message builds a real backlog, as it does against a distant broker.
public final class DelayingProxy: Sendable {
    /// The loopback port clients connect to.
    public let port: Int
    private let listener: Int32

    /// Listens on a free loopback port and forwards each connection to `127.0.0.1:targetPort`.
    public init(to targetPort: Int, delay: Double) throws {
        (listener, port) = try LoopbackSocket.listen()
        let listener = self.listener
        Thread.detachNewThread {
            while true {
                let client = accept(listener, nil, nil)
                guard client >= 0 else { return }  // closed by deinit
                guard let server = DelayingProxy.connect(port: targetPort) else {
                    close(client)
                    continue
                }
                Thread.detachNewThread { DelayingProxy.pump(from: client, to: server, delay: 0) }
                Thread.detachNewThread { DelayingProxy.pump(from: server, to: client, delay: delay) }
            }
        }
    }

    deinit {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    /// Copies bytes until either side closes, sleeping `delay` seconds before passing each chunk on.
    private static func pump(from source: Int32, to destination: Int32, delay: Double) {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(source, &buffer, buffer.count)
            guard n > 0 else { break }
            if delay > 0 { Thread.sleep(forTimeInterval: delay) }
            var sent = 0
            while sent < n {
                let written = buffer.withUnsafeBytes { write(destination, $0.baseAddress! + sent, n - sent) }
                guard written > 0 else { break }
                sent += written
            }
            guard sent == n else { break }
        }
        shutdown(source, Int32(SHUT_RDWR))
        shutdown(destination, Int32(SHUT_RDWR))
        close(source)
    }

    static func connect(port: Int) -> Int32? {
        #if canImport(Glibc)
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
            let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { return nil }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                #if canImport(Glibc)
                    Glibc.connect(fd, address, socklen_t(MemoryLayout<sockaddr_in>.size))
                #else
                    Darwin.connect(fd, address, socklen_t(MemoryLayout<sockaddr_in>.size))
                #endif
            }
        }
        guard connected == 0 else {
            close(fd)
            return nil
        }
        return fd
    }
}
