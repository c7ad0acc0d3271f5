import Foundation
import Logging
import TestSupport
import Testing
import VLMCore
import Yams

@testable import VLMCaption

@Suite struct OptionsTests {
    @Test func pipelineFileKeysDecode() throws {
        let yaml = """
            captions: true
            srt: out.srt
            caption_beam: 4
            caption_window: 3
            caption_drift: 0.1
            caption_interval: 20
            caption_min_interval: 2
            other_key: ignored
            """
        let options = try YAMLDecoder().decode(CaptionOptions.self, from: yaml)
        #expect(options.isActive && options.enabled)
        #expect(options.srt == "out.srt" && options.vtt == nil)
        #expect(options.beamWidth == 4)
        #expect(options.rolling == RollingCaptionSettings(window: 3, drift: 0.1, maxInterval: 20, minInterval: 2))
        let defaults = try YAMLDecoder().decode(CaptionOptions.self, from: "vtt: out.vtt")
        #expect(defaults.isActive && !defaults.enabled)
        #expect(defaults.rolling == RollingCaptionSettings())
        let roundTrip = try YAMLDecoder().decode(CaptionOptions.self, from: try YAMLEncoder().encode(options))
        #expect(roundTrip == options)
    }

    @Test func badNumbersAreRefused() {
        var options = CaptionOptions(enabled: true)
        options.rolling.minInterval = 30
        #expect(throws: CaptionError.self) { try options.validate() }
        options = CaptionOptions(enabled: true, beamWidth: 0)
        #expect(throws: CaptionError.self) { try options.validate() }
    }

    @Test func factoryBuildsAnalyzerAndSinks() throws {
        let directory = try Fixtures.temporaryDirectory("captions-options")
        defer { try? FileManager.default.removeItem(at: directory) }
        let options = CaptionOptions(
            enabled: true, srt: directory.appendingPathComponent("a.srt").path,
            vtt: directory.appendingPathComponent("a.vtt").path, cacheDirectory: directory.path)
        let logger = Logger(label: "test.captions.options")
        let analyzer = try options.makeAnalyzer(encoder: try TinyCLIP.textEncoder(), logger: logger)
        let sinks = try options.makeSinks(logger: logger)
        #expect(sinks.count == 2)
        // Frames in, captions out, subtitles on disk.
        let dimension = try TinyCLIP.textEncoder().embeddingSize
        var rng = SeededVectors(state: 5)
        let embedding = rng.next(dimension: dimension)
        for i in 0..<30 {
            let frame = EncodedFrame(
                stream: "cam", sequence: i, time: MediaTime(seconds: Double(i) / 5), embeddings: [embedding],
                boxes: [.full])
            for result in analyzer.analyze(frame) { sinks.forEach { $0.consume(result) } }
        }
        for result in analyzer.finish(stream: "cam", at: 6) { sinks.forEach { $0.consume(result) } }
        sinks.forEach { $0.finish() }
        let srt = try String(contentsOf: directory.appendingPathComponent("a.srt"), encoding: .utf8)
        #expect(srt.hasPrefix("1\n00:00:00,000 --> 00:00:06,000\n"))
        let cacheFiles = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".bin") }
        #expect(cacheFiles.count == 1)
    }
}
