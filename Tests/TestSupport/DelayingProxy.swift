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
                guard let server = LoopbackSocket.connect(port: targetPort) else {
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
}
