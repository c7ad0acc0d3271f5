import Foundation
import Logging
import TestSupport
import Testing
import VLMCore

@testable import VLMCaption

@Suite struct OptionsTests {
    @Test func badNumbersAreRefused() {
        var options = CaptionOptions()
        options.rolling.minInterval = 30
        #expect(throws: CaptionError.self) { try options.validate() }
        options = CaptionOptions(beamWidth: 0)
        #expect(throws: CaptionError.self) { try options.validate() }
        options = CaptionOptions(rolling: RollingCaptionSettings(window: 0))
        #expect(throws: CaptionError.self) { try options.validate() }
        #expect(throws: CaptionError.self) {
            _ = try CaptionOptions(vocabulary: "/nonexistent.yaml").makeCaptioner(
                encoder: try TinyCLIP.textEncoder(), logger: Logger(label: "test"))
        }
    }

    @Test func factoryBuildsAnalyzerFeedingSubtitles() throws {
        let directory = try Fixtures.temporaryDirectory("captions-options")
        defer { try? FileManager.default.removeItem(at: directory) }
        let logger = Logger(label: "test.captions.options")
        let encoder = CountingTextEncoder(try TinyCLIP.textEncoder())
        let analyzer = try CaptionOptions(cacheDirectory: directory.path).makeAnalyzer(encoder: encoder, logger: logger)
        // The vocabulary's short sentences were encoded before any frame.
        #expect(encoder.texts > 100)
        let sink = try SubtitleWriter(url: directory.appendingPathComponent("a.srt"), format: .srt, logger: logger)
        var rng = SeededVectors(state: 5)
        let embedding = rng.next(dimension: encoder.embeddingSize)
        for i in 0..<30 {
            let frame = EncodedFrame(
                stream: "cam", sequence: i, time: MediaTime(seconds: Double(i) / 5), embeddings: [embedding],
                boxes: [.full])
            analyzer.analyze(frame).forEach(sink.consume)
        }
        analyzer.finish(stream: "cam", at: 6).forEach(sink.consume)
        sink.finish()
        let srt = try String(contentsOf: directory.appendingPathComponent("a.srt"), encoding: .utf8)
        #expect(srt.hasPrefix("1\n00:00:00,000 --> 00:00:06,000\n"))
        let cacheFiles = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter {
            $0.hasSuffix(".bin")
        }
        #expect(cacheFiles.count == 1)
    }
}
