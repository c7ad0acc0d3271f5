import Foundation

/// A loopback TCP proxy in front of a test server that holds everything the server sends back for `delay` seconds
/// before passing it on: a slow link in a test. Towards an MQTT broker it delays every CONNACK and PUBACK, so a
/// publisher with a window of one message builds a real backlog, as it does against a distant broker.
public final class DelayingProxy: Sendable {
    private let proxy: LoopbackProxy
    /// The loopback port clients connect to.
    public var port: Int { proxy.port }

    /// Listens on a free loopback port and forwards each connection to `127.0.0.1:targetPort`.
    public init(to targetPort: Int, delay: Double) throws {
        proxy = try LoopbackProxy(to: targetPort) {
            { bytes in
                Thread.sleep(forTimeInterval: delay)
                return Array(bytes)
            }
        }
    }
}
