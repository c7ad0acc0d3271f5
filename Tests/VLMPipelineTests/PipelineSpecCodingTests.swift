import Foundation
import TestSupport
import Testing
import VLMCaption
import VLMGraph
import VLMPipeline
import VLMPublish
import VLMVideo

/// The pipeline file's keys are the library types' own `Codable` keys: new keys load, every spec writes back to a
/// file that reads back equal, and bad values are named by their key.
@Suite("Pipeline file keys")
struct PipelineSpecCodingTests {
    @Test("every example writes back to YAML that reads back equal", arguments: PipelineSpecTests.examples)
    func examplesRoundTrip(_ name: String) throws {
        let spec = try PipelineSpec.load(from: Fixtures.root.appendingPathComponent("Pipelines/\(name)"))
        let text = try spec.yaml()
        #expect(try PipelineSpec.parse(yaml: text, file: "written.yaml") == spec, "\(text)")
        #expect(!text.contains("e+0"), "numbers are written plainly")
    }

    static let everyNewKey = """
        sources:
          - url: rtsp://cam.local/stream
            sampling: {keyframes: true}
            gate: {threshold: 6, max_reuse: 3, pixel_threshold: 30, changed_fraction: 0.05}
            live:
              policy: drop-oldest
              queue: 3
              io_timeout: 4
              reconnect_max_delay: 8
              reconnect_attempts: 5
              rtsp_transport: udp
            input_options: {stimeout: "5000000"}
            stdin_spool_limit_mb: 64
        queries: [a dog]
        drain_timeout: 12
        captions: {window: 3, drift: 0.1, max_interval: 12, min_interval: 2, beam: 4, cache: /tmp/vlm-cache}
        outputs:
          mqtt:
            url: mqtts://robot:secret@broker.local:8884
            topic_prefix: fleet/7
            client_id: cam-7
            qos: 2
            keepalive: 30
            thumbnails: true
            thumbnail_max_bytes: 8192
            stats_interval: 0
            outbox: /tmp/vlm-outbox
            outbox_limit: 500
            max_inflight: 4
            flush_deadline: 2
        """

    @Test("new keys: MQTT keepalive, outbox limit, in-flight window, thumbnail size; RTSP transport; gate details")
    func newKeys() throws {
        let spec = try PipelineSpec.parse(yaml: Self.everyNewKey, file: "p.yaml")
        let source = try #require(spec.sources.first)
        #expect(source.options.sampling == .keyframes)
        #expect(source.options.rtspTransport == "udp")
        #expect(source.options.ioTimeout == 4 && source.options.reconnect.maxDelay == 8)
        #expect(source.options.reconnect.maxAttempts == 5 && source.options.formatOptions == ["stimeout": "5000000"])
        #expect(source.live == LiveSpec(policy: .dropOldest, queue: 3))
        #expect(source.options.pipeSpoolLimit == 64 << 20)
        #expect(spec.drainTimeout == 12)
        #expect(
            source.gate
                == SceneChangeGate.Configuration(
                    meanThreshold: 6, pixelThreshold: 30, changedFraction: 0.05, maxReuseInterval: 3))
        let captions = try #require(spec.captions)
        #expect(captions.beamWidth == 4 && captions.cacheDirectory == "/tmp/vlm-cache")
        #expect(captions.rolling == RollingCaptionSettings(window: 3, drift: 0.1, maxInterval: 12, minInterval: 2))
        let mqtt = try #require(spec.outputs.mqtt)
        #expect(
            mqtt.broker
                == MQTTSettings.Broker(
                    host: "broker.local", port: 8884, username: "robot", password: "secret", tls: true))
        #expect(mqtt.prefix == "fleet/7" && mqtt.clientID == "cam-7" && mqtt.qos == 2)
        #expect(mqtt.keepalive == 30 && mqtt.outboxLimit == 500 && mqtt.maxInflight == 4)
        #expect(mqtt.thumbnails && mqtt.thumbnailMaxBytes == 8192 && mqtt.statsInterval == 0)
        #expect(mqtt.outboxDirectory == "/tmp/vlm-outbox" && mqtt.flushDeadline == 2)
        #expect(try PipelineSpec.parse(yaml: try spec.yaml(), file: "written.yaml") == spec)
    }

    @Test("query_moments and query_image_crops read, write back and read back equal")
    func exampleQueryKeysRoundTrip() throws {
        let yaml = """
            sources: [{url: a.mp4}]
            query_images: [a.jpg, b.png]
            query_image_crops: true
            query_moments: ['videos.sqlite:plaza.mp4@3.5', 'other.sqlite:/v/a:b.mp4@0']
            """
        let spec = try PipelineSpec.parse(yaml: yaml, file: "p.yaml")
        #expect(spec.queryImageCrops && spec.queryImages == ["a.jpg", "b.png"])
        #expect(spec.queryMoments == ["videos.sqlite:plaza.mp4@3.5", "other.sqlite:/v/a:b.mp4@0"])
        #expect(try PipelineSpec.parse(yaml: try spec.yaml(), file: "written.yaml") == spec)
        let plain = try PipelineSpec.parse(yaml: "sources: [{url: a.mp4}]\nqueries: [x]\n", file: "p.yaml")
        #expect(!plain.queryImageCrops && plain.queryMoments.isEmpty)
        #expect(!(try plain.yaml()).contains("query_"))
    }

    @Test("absent keys take the library types' defaults")
    func defaultsComeFromTheLibraries() throws {
        let spec = try PipelineSpec.parse(
            yaml: "sources: [{url: a.mp4}]\nqueries: [x]\ncaptions: {}\noutputs: {mqtt: {}}\n", file: "p.yaml")
        let source = try #require(spec.sources.first)
        #expect(source.options == VideoSourceOptions())
        #expect(source.gate == nil && source.live == LiveSpec())
        #expect(spec.captions == CaptionOptions())
        let mqtt = try #require(spec.outputs.mqtt)
        let defaults = MQTTSettings(broker: .init(host: "localhost", port: 1883))
        #expect(mqtt == defaults)
        let tls = try PipelineSpec.parse(
            yaml: "sources: [{url: a.mp4}]\nqueries: [x]\noutputs: {mqtt: {tls: true}}\n", file: "p.yaml")
        #expect(tls.outputs.mqtt?.broker.port == 8883)
    }

    @Test(
        "bad values are named by their file key",
        arguments: [
            (
                "sources: [{url: a.mp4, live: {rtsp_transport: quic}}]",
                "sources[0].live.rtsp_transport must be tcp or udp, not 'quic'"
            ),
            ("sources: [{url: a.mp4, live: {reconnect_attempts: 0}}]", "sources[0].live.reconnect_attempts"),
            ("sources: [{url: a.mp4, live: {timeout: 3}}]", "sources[0].live.timeout: unknown key 'timeout'"),
            ("sources: [{url: a.mp4, gate: {treshold: 3}}]", "sources[0].gate.treshold: unknown key 'treshold'"),
            ("sources: [{url: a.mp4}]\ncaptions: {beem: 4}", "captions.beem: unknown key 'beem'"),
            ("sources: [{url: a.mp4}]\ndrain_timeout: 0", "drain_timeout must be positive seconds"),
            (
                "sources: [{url: a.mp4}]\nquery_moments: ['videos.sqlite@3']",
                "query_moments[0]: query moment videos.sqlite@3: write INDEX:VIDEO@SECONDS"
            ),
            ("sources: [{url: a.mp4}]\nquery_moments: ['v.sqlite:a.mp4@-1']", "the time must be 0 or more seconds"),
            ("sources: [{url: a.mp4}]\nquery_image_crops: true", "query_image_crops crops example images"),
            ("sources: [{url: a.mp4, stdin_spool_limit_mb: -5}]", "sources[0].stdin_spool_limit_mb must be at least 1"),
            ("sources: [{url: a.mp4}]\nencoder: {batch: 0}", "encoder.batch must be between 1 and 1024"),
            ("sources: [{url: a.mp4, live: {io_timeout: -3}}]", "sources[0].live.io_timeout must be positive seconds"),
            ("sources: [{url: a.mp4}]\ncaptions: {beam: 0}", "captions: caption beam width must be at least 1"),
            ("sources: [{url: a.mp4}]\nmatch: {enter: 2}", "match.enter: 2.0 is outside 0...1"),
            ("sources: [{url: a.mp4}]\nmatch: {enter: 0.4, exit: 0.5}", "match.exit: 0.5 is above match.enter 0.4"),
            (
                "sources: [{url: a.mp4}]\noutputs: {mqtt: {keepalive: 1}}",
                "outputs.mqtt.keepalive: 1 must be at least 5 seconds"
            ),
            (
                "sources: [{url: a.mp4}]\noutputs: {mqtt: {outbox_limit: 0}}",
                "outputs.mqtt.outbox_limit: 0 must be at least 1"
            ),
            (
                "sources: [{url: a.mp4}]\noutputs: {mqtt: {max_inflight: 0}}",
                "outputs.mqtt.max_inflight: 0 must be at least 1"
            ),
            ("sources: [{url: a.mp4}]\noutputs: {mqtt: {keep_alive: 9}}", "outputs.mqtt.keep_alive: unknown key"),
            ("sources: [{url: a.mp4}]\noutputs: {mqtt: {url: 'http://b'}}", "outputs.mqtt.url: MQTT URL 'http://b'"),
            (
                "sources: [{url: a.mp4}]\noutputs: {mqtt: {topic_prefix: 'a/#'}}",
                "outputs.mqtt.topic_prefix: 'a/#' must be"
            ),
            ("sources: [{url: a.mp4}]\noutputs: {mqtt: {ca: /etc/hostname}}", "outputs.mqtt.ca: needs TLS"),
            (
                "sources: [{url: a.mp4}]\noutputs: {mqtt: {tls: true, ca: /no/ca.pem}}",
                "outputs.mqtt.ca: '/no/ca.pem' cannot be read"
            ),
            (
                "sources: [{url: a.mp4}]\noutputs: {mqtt: {tls: true, cert: /etc/hostname}}",
                "outputs.mqtt.key: a client certificate and its key go together"
            ),
        ])
    func badValues(_ yaml: String, _ expected: String) throws {
        #expect {
            try PipelineSpec.parse(yaml: yaml + "\nqueries: [x]\n", file: "p.yaml")
        } throws: { error in
            let text = "\(error)"
            return text.hasPrefix("p.yaml: ") && text.contains(expected) && !text.contains("\n")
        }
    }
}
