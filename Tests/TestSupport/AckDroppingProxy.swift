import Foundation
import VLMCore

/// A loopback TCP proxy in front of an MQTT broker that swallows the first `count` PUBACK packets the broker sends
/// back, and passes everything else (PINGRESP included) on: a live connection on which an acknowledgement is lost.
public final class AckDroppingProxy: Sendable {
    private let proxy: LoopbackProxy
    /// The loopback port clients connect to.
    public var port: Int { proxy.port }
    private let remaining: Locked<Int>

    /// PUBACKs swallowed so far.
    public var dropped: Int { initial - remaining.current }
    private let initial: Int

    /// Listens on a free loopback port and forwards each connection to `127.0.0.1:targetPort`.
    public init(to targetPort: Int, dropping count: Int) throws {
        initial = count
        let remaining = Locked(count)
        self.remaining = remaining
        proxy = try LoopbackProxy(to: targetPort) {
            // Whole MQTT packets are parsed; PUBACKs (type 0x40) are dropped while any are left to drop.
            var pending: [UInt8] = []
            return { bytes in
                pending += bytes
                var out: [UInt8] = []
                while let length = AckDroppingProxy.packetLength(pending) {
                    let packet = pending[0..<length]
                    let drop =
                        packet.first == 0x40
                        && remaining.withLock { left -> Bool in
                            guard left > 0 else { return false }
                            left -= 1
                            return true
                        }
                    if !drop { out += packet }
                    pending.removeFirst(length)
                }
                return out
            }
        }
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
