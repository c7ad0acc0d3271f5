import Foundation
import VLMCore

#if canImport(Glibc)
    import Glibc
#else
    import Darwin
#endif

/// A loopback TCP proxy in front of an MQTT broker that swallows the first `count` PUBACK packets the broker sends
/// back, and passes everything else (PINGRESP included) on: a live connection on which an acknowledgement is lost.
public final class AckDroppingProxy: Sendable {
    /// The loopback port clients connect to.
    public let port: Int
    private let listener: Int32
    private let remaining: Locked<Int>

    /// PUBACKs swallowed so far.
    public var dropped: Int { initial - remaining.current }
    private let initial: Int

    /// Listens on a free loopback port and forwards each connection to `127.0.0.1:targetPort`.
    public init(to targetPort: Int, dropping count: Int) throws {
        (listener, port) = try LoopbackSocket.listen()
        initial = count
        let remaining = Locked(count)
        self.remaining = remaining
        let listener = self.listener
        Thread.detachNewThread {
            while true {
                let client = accept(listener, nil, nil)
                guard client >= 0 else { return }
                guard let server = LoopbackSocket.connect(port: targetPort) else {
                    close(client)
                    continue
                }
                Thread.detachNewThread { AckDroppingProxy.copy(from: client, to: server, filter: nil) }
                Thread.detachNewThread { AckDroppingProxy.copy(from: server, to: client, filter: remaining) }
            }
        }
    }

    deinit {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    /// Copies bytes; with a filter, whole MQTT packets are parsed and PUBACKs dropped while the filter allows.
    private static func copy(from source: Int32, to destination: Int32, filter: Locked<Int>?) {
        var buffer = [UInt8](repeating: 0, count: 65536)
        var pending: [UInt8] = []
        loop: while true {
            let n = read(source, &buffer, buffer.count)
            guard n > 0 else { break }
            var out: [UInt8] = []
            if let filter {
                pending += buffer[0..<n]
                while let length = packetLength(pending) {
                    let packet = pending[0..<length]
                    let drop = packet.first == 0x40 && filter.withLock { left -> Bool in
                        guard left > 0 else { return false }
                        left -= 1
                        return true
                    }
                    if !drop { out += packet }
                    pending.removeFirst(length)
                }
            } else {
                out = Array(buffer[0..<n])
            }
            var sent = 0
            while sent < out.count {
                let written = out.withUnsafeBytes { write(destination, $0.baseAddress! + sent, out.count - sent) }
                guard written > 0 else { break loop }
                sent += written
            }
        }
        shutdown(source, Int32(SHUT_RDWR))
        shutdown(destination, Int32(SHUT_RDWR))
        close(source)
    }

    /// The length of the complete MQTT packet at the start of `bytes`, or nil while it is incomplete.
    static func packetLength(_ bytes: [UInt8]) -> Int? {
        var length = 0
        var multiplier = 1
        var index = 1
        while index < bytes.count, index <= 4 {
            let byte = Int(bytes[index])
            length += (byte & 0x7F) * multiplier
            multiplier *= 128
            index += 1
            if byte & 0x80 == 0 {
                return bytes.count >= index + length ? index + length : nil
            }
        }
        return nil
    }
}
