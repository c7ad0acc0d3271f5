/// Counters of one stream's MQTT channel, as published on `<prefix>/<stream>/stats`.
public struct MQTTStatistics: Sendable, Equatable {
    /// Connected to the broker now.
    public var connected = false
    /// The broker acknowledged the control-topic subscriptions (SUBACK), so control messages reach this stream.
    public var controlSubscribed = false
    /// Successful connections after the first.
    public var reconnects = 0
    /// Messages the broker acknowledged (QoS≥1) or that were written to the socket (QoS 0).
    public var published = 0
    /// QoS≥1 messages dropped because the outbox was full (oldest first) or libmosquitto refused them.
    public var dropped = 0
    /// QoS 0 messages (stats, errors) not sent because the connection was down: they are not worth keeping.
    public var discardedQoS0 = 0
    /// Messages waiting in the outbox (not yet handed to libmosquitto).
    public var pending = 0
    /// Messages handed to libmosquitto and not yet acknowledged.
    public var inflight = 0
    /// Unacknowledged messages of an earlier run found in the outbox at start and replayed.
    public var recovered = 0
    /// Event results consumed.
    public var events = 0
    /// Caption results consumed.
    public var captions = 0
    /// Label results consumed.
    public var labels = 0
    /// Control messages applied.
    public var controlAccepted = 0
    /// Control messages refused (each answered on `errors`).
    public var controlRejected = 0

    /// All zero.
    public init() {}
}
