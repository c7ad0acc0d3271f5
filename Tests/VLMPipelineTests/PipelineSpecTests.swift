import Foundation
import TestSupport
import Testing
import VLMGraph
import VLMPipeline
import VLMVideo

@Suite("Pipeline files")
struct PipelineSpecTests {
    static let examples = ["plaza-queries.yaml", "rtsp-camera-mqtt.yaml", "two-sources.yaml"]

    @Test("every example in Pipelines/ loads and validates", arguments: examples)
    func examplesLoad(_ name: String) throws {
        let spec = try PipelineSpec.load(from: Fixtures.root.appendingPathComponent("Pipelines/\(name)"))
        #expect(!spec.sources.isEmpty)
        #expect(!spec.queries.isEmpty)
    }

    @Test("the RTSP example: live policy, tiles, labels, MQTT and metrics as written")
    func rtspExample() throws {
        let spec = try PipelineSpec.load(from: Fixtures.root.appendingPathComponent("Pipelines/rtsp-camera-mqtt.yaml"))
        let source = try #require(spec.sources.first)
        #expect(source.streamName == "gate-cam")
        #expect(source.live.policy == .keepLatest && source.live.queue == 2)
        #expect(source.options.tiles == TileGrid(columns: 2, rows: 2) && source.options.sampling.fps == 4)
        #expect(spec.labels?.top == 3)
        #expect(spec.outputs.mqtt?.clientID == "vlm-stream-gate-cam" && spec.outputs.mqtt?.qos == 1)
        #expect(spec.metricsPort == 9464 && spec.encoder.maxInFlight == 8)
    }

    @Test("two sources example: distinct streams sharing one encoder, captions to SRT")
    func twoSourcesExample() throws {
        let spec = try PipelineSpec.load(from: Fixtures.root.appendingPathComponent("Pipelines/two-sources.yaml"))
        #expect(spec.sources.map(\.streamName) == ["plaza", "megamind"])
        #expect(spec.sources[1].options.sampling.every == 10)
        #expect(spec.captions != nil && spec.outputs.srt == "two-sources.srt")
    }

    @Test(
        "malformed files give one actionable line",
        arguments: [
            ("sources:\n  - url: a.mp4\n    fsp: 2\nqueries: [x]", "sources[0].fsp: unknown key 'fsp'"),
            ("sources:\n  - url: a.mp4\n    sampling: {fps: 2, every: 3}\nqueries: [x]", "give only one of"),
            (
                "sources:\n  - url: a.mp4\nqueries: [x]\nencoder: {batch: many}",
                "encoder.batch: expected a whole number"
            ),
            ("sources:\n  - url: a.mp4\n  - url: b/a.mp4\nqueries: [x]", "stream name 'a' is used twice"),
            ("sources:\n  - url: a.mp4\n", "nothing to compute"),
            ("sources:\n  - url: a.mp4\n    tiles: 9\nqueries: [x]", "must look like 2x2"),
            ("- just\n- a list", "expected a mapping"),
            ("sources:\n  - name: x\nqueries: [x]", "missing required key 'url' in sources[0]"),
            ("sources:\n  - url: a.mp4\ncaptions: {}\noutputs: {srt: '-'}", "outputs.srt '-': subtitles are"),
            ("sources:\n  - url: a.mp4\nqueries: x", "queries: expected a list"),
            ("sources: [~]\nqueries: [x]", "sources[0]: expected a mapping"),
            ("sources:\n  - url: a.mp4\nqueries: [x, ~]", "queries[1]: expected a string, found nothing"),
            ("sources:\n  - url: a.mp4\nlabels: {labels: [car, null]}", "labels.labels[1]: expected a string"),
        ])
    func malformed(_ yaml: String, _ expected: String) throws {
        #expect {
            try PipelineSpec.parse(yaml: yaml, file: "p.yaml")
        } throws: { error in
            let text = "\(error)"
            return text.hasPrefix("p.yaml: ") && text.contains(expected) && !text.contains("\n")
        }
    }
}
