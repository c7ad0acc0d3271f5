import CMosquitto
import Foundation
import VLMCore

/// One MQTT message as it travels to or from the broker.
public struct MQTTMessage: Sendable, Equatable {
    /// Full topic name.
    public var topic: String
    /// Raw payload bytes (JSON for vlm-stream's own topics).
    public var payload: [UInt8]
    /// Quality of service: 0, 1 or 2.
    public var qos: Int
    /// Kept by the broker as the topic's last value.
    public var retained: Bool
    /// MQTT 5's Response Topic property: where the sender wants a reply (nil in MQTT 3.1.1).
    public var responseTopic: String?
    /// MQTT 5's Correlation Data property: opaque bytes a reply carries back (nil in MQTT 3.1.1).
    public var correlationData: [UInt8]?

    /// A message for `topic`; the MQTT 5 properties are sent only by a client configured for MQTT 5.
    public init(
        topic: String, payload: [UInt8], qos: Int, retained: Bool = false, responseTopic: String? = nil,
        correlationData: [UInt8]? = nil
    ) {
        self.topic = topic
        self.payload = payload
        self.qos = qos
        self.retained = retained
        self.responseTopic = responseTopic
        self.correlationData = correlationData
    }

    /// The payload as UTF-8 text (lossy), for logs and tests.
    public var text: String { String(decoding: payload, as: UTF8.self) }
}

/// A libmosquitto client running its network loop on libmosquitto's own thread (`mosquitto_loop_start`).
///
/// This is the only type that touches a `struct mosquitto *`. Publishing and subscribing are thread-safe (libmosquitto
/// locks internally when its loop thread runs); handlers are called on the network thread and must not block.
/// Reconnection is libmosquitto's: exponential backoff between `reconnectDelay.min` and `.max` seconds.
public final class MQTTClient: Sendable {
    /// How to connect.
    public struct Configuration: Sendable {
        /// The protocol spoken. MQTT 5 carries request/response properties; the persistent sessions vlm-stream's
        /// outbox relies on stay on 3.1.1 (libmosquitto 2.0 reconnects a 5 session with an expiry of 0).
        public enum ProtocolVersion: Sendable {
            case v311, v5
        }

        /// Fixed client id; with `cleanSession` false the broker keeps the session under it.
        public var clientID: String
        /// `false` keeps the session (subscriptions, queued QoS≥1 messages) on the broker across reconnects.
        public var cleanSession: Bool
        /// Where to connect.
        public var broker: MQTTSettings.Broker
        /// PEM files for `mqtts://`.
        public var tlsFiles: MQTTSettings.TLSFiles
        /// Seconds between PINGREQs; the broker drops (and publishes the Will of) a silent client after 1.5×.
        public var keepalive: Int
        /// The Last Will: published by the broker when this client's connection ends without DISCONNECT.
        public var will: MQTTMessage?
        /// libmosquitto's in-flight window for QoS≥1 publishes (0 = unlimited).
        public var maxInflight: Int
        /// First reconnect delay in seconds (doubles per failure).
        public var reconnectDelayMin: UInt32
        /// Longest reconnect delay in seconds.
        public var reconnectDelayMax: UInt32
        /// MQTT 3.1.1 (the default) or 5.
        public var protocolVersion: ProtocolVersion

        /// A configuration; defaults suit a loopback or LAN broker.
        public init(
            clientID: String, cleanSession: Bool, broker: MQTTSettings.Broker,
            tlsFiles: MQTTSettings.TLSFiles = MQTTSettings.TLSFiles(), keepalive: Int = 10, will: MQTTMessage? = nil,
            maxInflight: Int = 20, reconnectDelayMin: UInt32 = 1, reconnectDelayMax: UInt32 = 30,
            protocolVersion: ProtocolVersion = .v311
        ) {
            self.protocolVersion = protocolVersion
            self.clientID = clientID
            self.cleanSession = cleanSession
            self.broker = broker
            self.tlsFiles = tlsFiles
            self.keepalive = keepalive
            self.will = will
            self.maxInflight = maxInflight
            self.reconnectDelayMin = reconnectDelayMin
            self.reconnectDelayMax = reconnectDelayMax
        }
    }

    /// Called on libmosquitto's network thread.
    public struct Handlers: Sendable {
        /// CONNACK arrived; `code` 0 is success, otherwise the broker refused (`mosquitto_connack_string`).
        public var connected: @Sendable (_ code: Int32) -> Void = { _ in }
        /// The connection ended; `code` 0 means we asked for it.
        public var disconnected: @Sendable (_ code: Int32) -> Void = { _ in }
        /// A publish finished: PUBACK (QoS 1), PUBCOMP (QoS 2) or written to the socket (QoS 0).
        public var published: @Sendable (_ mid: Int32) -> Void = { _ in }
        /// SUBACK arrived for the subscription with this mid.
        public var subscribed: @Sendable (_ mid: Int32) -> Void = { _ in }
        /// A message arrived on a subscribed topic.
        public var message: @Sendable (MQTTMessage) -> Void = { _ in }
        /// libmosquitto's error and warning log lines (e.g. why a TLS handshake failed).
        public var problem: @Sendable (String) -> Void = { _ in }

        /// Handlers that do nothing.
        public init() {}
    }

    /// The outcome of handing one message to libmosquitto.
    public struct PublishResult: Sendable, Equatable {
        /// libmosquitto's message id, as `Handlers.published` reports it.
        public var mid: Int32
        /// `MOSQ_ERR_*` result of `mosquitto_publish`.
        public var code: Int32
        /// libmosquitto kept the message: sent now, or (QoS≥1 while disconnected) queued and resent on reconnect.
        public var accepted: Bool { code == MOSQ_ERR_SUCCESS.rawValue || code == MOSQ_ERR_NO_CONN.rawValue }
    }

    /// The C handle. Sendable because libmosquitto is built thread-safe and runs its loop on its own thread.
    private struct Handle: @unchecked Sendable {
        let pointer: OpaquePointer
    }

    private static let libraryReady: Bool = {
        mosquitto_lib_init()
        return true
    }()

    /// How this client connects.
    public let configuration: Configuration
    private let handle: Handle
    private let handlers: Handlers
    private let state = Locked((started: false, stopped: false, loopRunning: false))

    /// Creates the client and applies every option; nothing is sent until `start()`.
    public init(_ configuration: Configuration, handlers: Handlers) throws {
        _ = MQTTClient.libraryReady
        guard let pointer = mosquitto_new(configuration.clientID, configuration.cleanSession, nil) else {
            throw MQTTError.library(call: "mosquitto_new", code: MOSQ_ERR_NOMEM.rawValue)
        }
        self.configuration = configuration
        self.handle = Handle(pointer: pointer)
        self.handlers = handlers
        mosquitto_user_data_set(pointer, Unmanaged.passUnretained(self).toOpaque())
        do {
            try configure(pointer, configuration)
        } catch {
            mosquitto_destroy(pointer)
            throw error
        }
        installCallbacks(pointer)
    }

    deinit {
        stop()
        mosquitto_destroy(handle.pointer)
    }

    // MARK: - Lifecycle

    /// Starts connecting in the background and returns at once. A broker that is down now is retried with backoff;
    /// only a host name that does not resolve (or a bad TLS setup) throws.
    public func start() throws {
        let first = state.withLock { s -> Bool in
            defer { s.started = true }
            return !s.started
        }
        guard first else { return }
        let rc = connectAsync()
        if rc == MOSQ_ERR_SUCCESS.rawValue {
            try startLoop()
        } else if rc == MOSQ_ERR_ERRNO.rawValue {
            retryConnectInBackground()
        } else if rc == MOSQ_ERR_EAI.rawValue {
            throw MQTTError.unresolvableHost(configuration.broker.host)
        } else if rc == MOSQ_ERR_TLS.rawValue {
            throw MQTTError.tlsHandshake(broker: configuration.broker.redacted)
        } else {
            throw MQTTError.library(call: "mosquitto_connect_async(\(configuration.broker.redacted))", code: rc)
        }
    }

    /// Sends DISCONNECT (so the broker does not publish the Last Will) and stops the network thread. Idempotent.
    public func stop() {
        let loopRunning = state.withLock { s -> Bool in
            defer { s.stopped = true }
            return s.loopRunning && !s.stopped
        }
        guard loopRunning else { return }
        mosquitto_disconnect(handle.pointer)
        mosquitto_loop_stop(handle.pointer, false)
    }

    /// Drops the connection and connects again at once, keeping the session: libmosquitto then resends every
    /// QoS≥1 message it holds (with DUP) after the CONNACK. For a message in flight on a live connection whose
    /// acknowledgement never comes (MQTT 3.1.1 has no retry on a live connection, so it would wait forever).
    /// A connect refused at once is retried with backoff, as a first one is.
    /// Call from any thread but libmosquitto's network thread (it joins that thread). False when stopped, or while a
    /// connect is already being retried.
    @discardableResult
    public func reconnect() -> Bool {
        let running = state.withLock { s -> Bool in
            guard s.loopRunning && !s.stopped else { return false }
            s.loopRunning = false
            return true
        }
        guard running else { return false }
        mosquitto_disconnect(handle.pointer)
        mosquitto_loop_stop(handle.pointer, false)
        if mosquitto_reconnect_async(handle.pointer) == MOSQ_ERR_SUCCESS.rawValue {
            startLoopOrReport()
        } else {
            retryConnectInBackground()
        }
        return true
    }

    private func connectAsync() -> Int32 {
        let broker = configuration.broker
        return mosquitto_connect_async(
            handle.pointer, broker.host, Int32(broker.port), Int32(configuration.keepalive))
    }

    /// Starts libmosquitto's network thread once a connect went through. When `stop()` came first (during a
    /// reconnect or a retry, while no loop ran, so it sent nothing), sends the DISCONNECT it could not: without it the
    /// socket would close under a live session and the broker would publish the Last Will.
    private func startLoop() throws {
        let stopped = try state.withLock { s -> Bool in
            guard !s.stopped else { return true }
            try check(mosquitto_loop_start(handle.pointer), "mosquitto_loop_start")
            s.loopRunning = true
            return false
        }
        // No loop thread runs, so libmosquitto writes the packet at once (after the queued CONNECT).
        if stopped { mosquitto_disconnect(handle.pointer) }
    }

    /// `startLoop()` after a reconnect, where no caller can take the error: it goes to `Handlers.problem`, which the
    /// publisher logs, rather than leaving a client that is silently never heard from again.
    private func startLoopOrReport() {
        do {
            try startLoop()
        } catch {
            handlers.problem("\(error); the MQTT client stays disconnected")
        }
    }

    /// Connects again on a thread of its own, with backoff, until a connect goes through, then starts the loop.
    /// libmosquitto's loop thread never retries a connect that failed at once (ECONNREFUSED on loopback): it waits
    /// for one that nobody attempts.
    private func retryConnectInBackground() {
        let thread = Thread { [weak self] in self?.retryConnect() }
        thread.name = "mqtt connect"
        thread.start()
    }

    private func retryConnect() {
        var delay = Double(configuration.reconnectDelayMin)
        while true {
            let wake = Date().addingTimeInterval(delay)
            while Date() < wake {
                if state.withLock({ $0.stopped }) { return }
                Thread.sleep(forTimeInterval: 0.05)
            }
            if state.withLock({ $0.stopped }) { return }
            if connectAsync() == MOSQ_ERR_SUCCESS.rawValue {
                startLoopOrReport()
                return
            }
            delay = min(delay * 2, Double(configuration.reconnectDelayMax))
        }
    }

    // MARK: - Messages

    /// Hands a message to libmosquitto. See `PublishResult.accepted`. A client on MQTT 5 sends the message's
    /// response topic and correlation data as properties.
    public func publish(_ message: MQTTMessage) -> PublishResult {
        var mid: Int32 = 0
        var properties: OpaquePointer? = nil
        defer { mosquitto_property_free_all(&properties) }
        if configuration.protocolVersion == .v5 {
            if let topic = message.responseTopic {
                mosquitto_property_add_string(&properties, Int32(MQTT_PROP_RESPONSE_TOPIC.rawValue), topic)
            }
            if let data = message.correlationData {
                data.withUnsafeBytes {
                    _ = mosquitto_property_add_binary(
                        &properties, Int32(MQTT_PROP_CORRELATION_DATA.rawValue), $0.baseAddress, UInt16($0.count))
                }
            }
        }
        let rc = message.payload.withUnsafeBytes { bytes in
            mosquitto_publish_v5(
                handle.pointer, &mid, message.topic, Int32(bytes.count), bytes.baseAddress, Int32(message.qos),
                message.retained, properties)
        }
        return PublishResult(mid: mid, code: rc)
    }

    /// Subscribes to a topic filter; returns the SUBSCRIBE's mid (see `Handlers.subscribed`).
    @discardableResult
    public func subscribe(_ filter: String, qos: Int) throws -> Int32 {
        var mid: Int32 = 0
        try check(mosquitto_subscribe(handle.pointer, &mid, filter, Int32(qos)), "mosquitto_subscribe(\(filter))")
        return mid
    }

    // MARK: - Setup

    private func configure(_ pointer: OpaquePointer, _ c: Configuration) throws {
        let version = c.protocolVersion == .v5 ? MQTT_PROTOCOL_V5 : MQTT_PROTOCOL_V311
        try check(mosquitto_int_option(pointer, MOSQ_OPT_PROTOCOL_VERSION, version), "protocol option")
        try check(mosquitto_max_inflight_messages_set(pointer, UInt32(c.maxInflight)), "max_inflight_messages_set")
        try check(
            mosquitto_reconnect_delay_set(pointer, c.reconnectDelayMin, c.reconnectDelayMax, true),
            "reconnect_delay_set")
        if let user = c.broker.username {
            try check(mosquitto_username_pw_set(pointer, user, c.broker.password), "username_pw_set")
        }
        if let will = c.will {
            let rc = will.payload.withUnsafeBytes {
                mosquitto_will_set(pointer, will.topic, Int32($0.count), $0.baseAddress, Int32(will.qos), will.retained)
            }
            try check(rc, "will_set(\(will.topic))")
        }
        if c.broker.tls {
            let files = c.tlsFiles
            if let ca = files.caFile {
                try check(mosquitto_tls_set(pointer, ca, nil, files.certFile, files.keyFile, nil), "tls_set")
            } else {
                try check(mosquitto_int_option(pointer, MOSQ_OPT_TLS_USE_OS_CERTS, 1), "tls use OS certificates")
                if files.certFile != nil {
                    try check(
                        mosquitto_tls_set(pointer, nil, "/etc/ssl/certs", files.certFile, files.keyFile, nil),
                        "tls_set")
                }
            }
        }
    }

    private func installCallbacks(_ pointer: OpaquePointer) {
        mosquitto_connect_callback_set(pointer) { _, object, rc in
            MQTTClient.from(object)?.handlers.connected(rc)
        }
        mosquitto_disconnect_callback_set(pointer) { _, object, rc in
            MQTTClient.from(object)?.handlers.disconnected(rc)
        }
        mosquitto_publish_callback_set(pointer) { _, object, mid in
            MQTTClient.from(object)?.handlers.published(mid)
        }
        mosquitto_subscribe_callback_set(pointer) { _, object, mid, _, _ in
            MQTTClient.from(object)?.handlers.subscribed(mid)
        }
        mosquitto_log_callback_set(pointer) { _, object, level, text in
            guard level & (MOSQ_LOG_ERR | MOSQ_LOG_WARNING) != 0, let text else { return }
            MQTTClient.from(object)?.handlers.problem(String(cString: text))
        }
        mosquitto_message_v5_callback_set(pointer) { _, object, message, properties in
            guard let client = MQTTClient.from(object), let m = message?.pointee else { return }
            let topic = m.topic.map { String(cString: $0) } ?? ""
            var payload: [UInt8] = []
            if let bytes = m.payload, m.payloadlen > 0 {
                payload = Array(UnsafeRawBufferPointer(start: bytes, count: Int(m.payloadlen)))
            }
            var received = MQTTMessage(topic: topic, payload: payload, qos: Int(m.qos), retained: m.retain)
            if let properties {
                var text: UnsafeMutablePointer<CChar>?
                if mosquitto_property_read_string(properties, Int32(MQTT_PROP_RESPONSE_TOPIC.rawValue), &text, false)
                    != nil, let text
                {
                    received.responseTopic = String(cString: text)
                    free(text)
                }
                var data: UnsafeMutableRawPointer?
                var length: UInt16 = 0
                if mosquitto_property_read_binary(
                    properties, Int32(MQTT_PROP_CORRELATION_DATA.rawValue), &data, &length, false) != nil
                {
                    received.correlationData = data.map { Array(UnsafeRawBufferPointer(start: $0, count: Int(length))) }
                    free(data)
                }
            }
            client.handlers.message(received)
        }
    }

    private static func from(_ object: UnsafeMutableRawPointer?) -> MQTTClient? {
        object.map { Unmanaged<MQTTClient>.fromOpaque($0).takeUnretainedValue() }
    }

    private func check(_ rc: Int32, _ call: String) throws {
        guard rc == MOSQ_ERR_SUCCESS.rawValue else { throw MQTTError.library(call: call, code: rc) }
    }
}
