import Foundation
import Logging
import TestSupport
import Testing
import VLMCaption
import VLMCore

@testable import VLMPipeline

/// The remote-VLM captioner inside the background caption stage: a slow or failing server costs captions, never
/// frames, and requests in flight never exceed the bound.
@Suite struct EndpointBackgroundCaptionTests {
    static let streams = ["cam0", "cam1", "cam2", "cam3"]

    /// Feeds sampled frames 0..<count (one per second) of every stream in turn; returns the results and how many
    /// frames went through `analyze`.
    static func feed(_ stage: BackgroundCaptioner, count: Int) -> (results: [StreamResult], frames: Int) {
        var results: [StreamResult] = []
        var frames = 0
        for i in 0..<count {
            for stream in streams {
                let image = RGBImage(width: 8, height: 8, pixels: [UInt8](repeating: UInt8(i * 10), count: 192))
                let time = MediaTime(seconds: Double(i))
                stage.images.remember(
                    Frame(stream: stream, sequence: i, time: time, views: [], captionImage: image))
                let angle = Float(i) * 0.7
                results += stage.analyze(
                    EncodedFrame(
                        stream: stream, sequence: i, time: time, embeddings: [Embedding([cos(angle), sin(angle), 0])],
                        boxes: [.full]))
                frames += 1
            }
        }
        return (results, frames)
    }

    static func stage(_ server: ChatCompletionsServer, timeout: Double, attempts: Int = 1) throws -> (
        BackgroundCaptioner, EndpointCaptioner
    ) {
        var options = EndpointOptions(url: server.baseURL, model: "test-vlm")
        options.timeout = timeout
        options.attempts = attempts
        options.maxInFlight = 2
        let captioner = try EndpointCaptioner(options: options, apiKey: "k", backoff: 0.01)
        let stage = BackgroundCaptioner(
            captioner: captioner,
            settings: RollingCaptionSettings(window: 1, drift: 0.01, maxInterval: 1, minInterval: 0),
            images: CaptionImageStore(), questions: ["is anyone there?"], maxInFlight: options.maxInFlight,
            logger: Logger(label: "test.endpoint.background"))
        return (stage, captioner)
    }

    @Test func slowCaptionsArriveAndAtMostTheBoundIsInFlight() async throws {
        // The server holds every request until released: no timing, and the frames must not wait for it.
        let server = try await ChatCompletionsServer.start(.held)
        defer { server.stop() }
        let (stage, captioner) = try Self.stage(server, timeout: 300)
        let (results, frames) = Self.feed(stage, count: 6)
        #expect(frames == 24)
        #expect(results.allSatisfy { if case .caption = $0 { false } else { true } })
        // Four streams triggered; two requests reach the server and the rest wait for a slot.
        let deadline = Date().addingTimeInterval(120)
        while server.requestsInProgress < 2, Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
        try await Task.sleep(for: .milliseconds(200))
        #expect(server.requestsInProgress == 2)
        #expect(captioner.requestsInFlight.now == 2)
        server.release()
        var all = results
        for stream in Self.streams { all += try await offPool { stage.finish(stream: stream, at: 6) } }
        let captions = all.compactMap { if case .caption(let c) = $0 { c } else { nil } }
        let answers = all.compactMap { if case .answer(let a) = $0 { a } else { nil } }
        #expect(Set(captions.map(\.stream)) == Set(Self.streams))
        #expect(captions.allSatisfy { $0.text == "a held caption" })
        #expect(Set(answers.map(\.stream)) == Set(Self.streams))
        #expect(stage.failed == 0)
        // Four streams trigger together; two requests at a time, never more.
        #expect(server.peakInFlight <= 2)
        #expect(captioner.requestsInFlight.peak <= 2)
        #expect(captioner.requestsInFlight.peak == 2)
        #expect(stage.coalesced > 0)
    }

    @Test func aServerPastTheTimeoutCostsCaptionsNotFrames() async throws {
        let server = try await ChatCompletionsServer.start(.held)
        defer { server.stop() }
        let (stage, captioner) = try Self.stage(server, timeout: 0.3, attempts: 2)
        let (results, frames) = Self.feed(stage, count: 8)
        #expect(frames == 32)
        #expect(results.allSatisfy { if case .caption = $0 { false } else { true } })
        var all = results
        for stream in Self.streams { all += try await offPool { stage.finish(stream: stream, at: 8) } }
        #expect(all.allSatisfy { if case .caption = $0 { false } else { true } })
        #expect(stage.failed > 0)
        // Failed captions skip their trigger's question: only caption prompts reached the server.
        #expect(server.requests.allSatisfy { $0.text == EndpointCaptioner.captionPrompt })
        // (The server still sleeps on requests the client gave up on, so only the client's count is the bound's.)
        #expect(captioner.requestsInFlight.peak <= 2)
    }
}
