import Foundation
import TestSupport
import Testing
import VLMGraph
import VLMPipeline
import VLMVideo

/// Numbers a pipeline file or the `index` flags can set, at the edges a hostile-input campaign tried: each is refused
/// with one line naming the key, before anything converts or multiplies it.
@Suite("Hostile numbers in settings")
struct HostileNumberTests {
    static func problem(_ yaml: String) -> String? {
        do {
            _ = try PipelineSpec.parse(yaml: yaml, file: "p.yaml")
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test(
        "out-of-range numbers in a pipeline file are refused under their keys",
        arguments: [
            ("    sampling: {fps: .inf}", "sources[0].sampling.fps"),
            ("    sampling: {fps: 1e308}", "sources[0].sampling.fps"),
            ("    sampling: {fps: .nan}", "sources[0].sampling.fps"),
            ("    sampling: {every: 9223372036854775807}", "sources[0].sampling.every"),
            ("    live: {io_timeout: .inf}", "sources[0].live.io_timeout"),
            ("    live: {queue: 9223372036854775807}", "sources[0].live.queue"),
            ("    tiles: 3037000500x3037000500", "must look like 2x2"),
        ])
    func sourceNumbers(_ line: String, _ expected: String) {
        let message = Self.problem("sources:\n  - url: a.mp4\n\(line)\nqueries: [x]")
        #expect(message?.contains(expected) == true, "\(message ?? "accepted")")
        #expect(message?.contains("\n") == false)
    }

    @Test(
        "out-of-range encoder and run numbers are refused under their keys",
        arguments: [
            ("encoder: {max_in_flight: 9223372036854775807}", "encoder.max_in_flight"),
            ("encoder: {threads: 9223372036854775807}", "encoder.threads"),
            ("encoder: {latency_ms: .inf}", "encoder.latency_ms"),
            ("drain_timeout: .inf", "drain_timeout"),
            ("captions: {beam: 9223372036854775807}", "beam"),
        ])
    func runNumbers(_ line: String, _ expected: String) {
        let message = Self.problem("sources:\n  - url: a.mp4\nqueries: [x]\n\(line)")
        #expect(message?.contains(expected) == true, "\(message ?? "accepted")")
    }

    @Test("index settings: fps inf/1e308/NaN and huge chunks are refused naming the flag")
    func indexNumbers() {
        for fps in [Double.infinity, 1e308, .nan, 0, -1] {
            #expect(IndexSpec(database: "x", fps: fps).problem?.hasPrefix("--fps") == true, "\(fps)")
        }
        #expect(IndexSpec(database: "x", fps: 30).problem == nil)
        #expect(IndexSpec(database: "x", chunkFrames: .max).problem?.hasPrefix("--chunk") == true)
        #expect(IndexSpec(database: "x", decodeAhead: .max).problem?.hasPrefix("--prefetch") == true)
    }

    @Test("huge tile grids do not overflow while parsing")
    func tiles() {
        #expect(TileGrid(parsing: "3037000500x3037000500") == nil)
        #expect(TileGrid(parsing: "9223372036854775807x2") == nil)
        #expect(TileGrid(parsing: "8x8") == TileGrid(columns: 8, rows: 8))
    }

    @Test("graph options clamp in-flight counts so derived queue sizes cannot overflow")
    func graphOptions() {
        let options = GraphOptions(maxBatch: .max, maxInFlight: .max)
        #expect(options.maxInFlight == GraphOptions.limit && options.maxBatch == GraphOptions.limit)
    }
}
