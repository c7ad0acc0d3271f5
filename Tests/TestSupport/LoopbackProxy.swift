import Foundation
import VLMCore

#if canImport(Glibc)
    import Glibc
#else
    import Darwin
#endif

/// A loopback TCP proxy in front of a test server: each connection a client makes is paired with one to the server,
/// and a thread a direction copies the bytes, those coming back from the server through a filter that may hold them
/// (a slow link) or drop some (a lost acknowledgement).
///
/// A connection's two descriptors are closed together, once both directions have ended. Closing each when its own
/// direction ended let the other direction's later `shutdown` cut whichever new connection had been given the same
/// number meanwhile: a client reconnecting through the proxy at once was cut again.
public final class LoopbackProxy: Sendable {
    /// What the server sent, one read at a time, in; what to pass on to the client, out. One per connection.
    public typealias Filter = (ArraySlice<UInt8>) -> [UInt8]

    /// The loopback port clients connect to.
    public let port: Int
    private let listener: Int32

    /// Listens on a free loopback port and forwards each connection to `127.0.0.1:targetPort`; `makeFilter` is called
    /// once per connection, on the thread that copies the server's bytes back.
    public init(to targetPort: Int, makeFilter: @escaping @Sendable () -> Filter) throws {
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
                let running = Locked(2)
                let ended: @Sendable () -> Void = {
                    shutdown(client, Int32(SHUT_RDWR))  // wakes the other direction's read
                    shutdown(server, Int32(SHUT_RDWR))
                    if running.withLock({ count -> Int in
                        count -= 1
                        return count
                    }) == 0 {
                        close(client)
                        close(server)
                    }
                }
                Thread.detachNewThread {
                    LoopbackProxy.copy(from: client, to: server) { Array($0) }
                    ended()
                }
                Thread.detachNewThread {
                    LoopbackProxy.copy(from: server, to: client, filter: makeFilter())
                    ended()
                }
            }
        }
    }

    deinit {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    /// Copies until either side closes or a write fails.
    private static func copy(from source: Int32, to destination: Int32, filter: Filter) {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(source, &buffer, buffer.count)
            guard n > 0 else { return }
            let out = filter(buffer[0..<n])
            var sent = 0
            while sent < out.count {
                let written = out.withUnsafeBytes { write(destination, $0.baseAddress! + sent, out.count - sent) }
                guard written > 0 else { return }
                sent += written
            }
        }
    }
}
