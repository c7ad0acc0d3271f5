import Foundation
import Logging
import Testing
import VLMCore

@testable import VLMCaption

/// An `ImageCaptioner` that names the pixel value of its last image ("frame 7"), blocking while `gate` is closed.
final class GatedCaptioner: ImageCaptioner {
    let framesPerCaption: Int
    let preprocessing = ImagePreprocessing.clip(side: 4)
    let gate = Locked(false)
    let seen = Locked([[UInt8]]())

    init(frames: Int = 1, open: Bool = true) {
        framesPerCaption = frames
        gate.withLock { $0 = open }
    }

    func open() { gate.update { $0 = true } }

    func caption(_ images: [RGBImage]) throws -> String {
        gate.wait(for: { $0 }, then: { _, _ in })
        seen.withLock { $0.append(images.map { $0.pixels[0] }) }
        guard let last = images.last else { return "" }
        return "frame \(last.pixels[0])"
    }

    /// "even" or "odd" for the last image's byte.
    func answer(_ question: String, images: [RGBImage]) throws -> String {
        guard let last = images.last else { return "" }
        return "\(question): " + (last.pixels[0] / 4 % 2 == 0 ? "low" : "high")
    }
}

@Suite struct BackgroundCaptionerTests {
    let logger = Logger(label: "test.captions.background")

    /// Sampled frame `i` at `i` seconds: its caption image is filled with byte `i`, its embedding turns with `i`.
    func feed(_ stage: BackgroundCaptioner, _ indices: some Sequence<Int>, stream: String = "cam") -> [Caption] {
        var captions: [Caption] = []
        for i in indices {
            let image = RGBImage(width: 4, height: 4, pixels: [UInt8](repeating: UInt8(i), count: 48))
            stage.images.remember(
                Frame(stream: stream, sequence: i, time: MediaTime(seconds: Double(i)), views: [], captionImage: image))
            let angle = Float(i) * 0.5
            let frame = EncodedFrame(
                stream: stream, sequence: i, time: MediaTime(seconds: Double(i)),
                embeddings: [Embedding([cos(angle), sin(angle), 0])], boxes: [.full])
            captions += Self.captions(stage.analyze(frame))
        }
        return captions
    }

    static func captions(_ results: [StreamResult]) -> [Caption] {
        results.compactMap { if case .caption(let caption) = $0 { caption } else { nil } }
    }

    @Test func aBusyCaptionerCoalescesTriggersAndNeverBlocksFrames() throws {
        let captioner = GatedCaptioner(open: false)
        let coalesced = Locked(0)
        let stage = BackgroundCaptioner(
            captioner: captioner,
            settings: RollingCaptionSettings(window: 1, drift: 0.01, maxInterval: 2, minInterval: 1),
            images: CaptionImageStore(), logger: logger, onCoalesce: { coalesced.withLock { $0 += 1 } })
        // The captioner is blocked: if the stage waited for it, this would never return.
        let early = feed(stage, 0..<20)
        #expect(early.isEmpty)
        // Frame 1 triggered (window filled); 2...19 triggered too while it ran: 18 wanted, 1 slot, 17 replaced.
        #expect(stage.coalesced == 17)
        #expect(coalesced.current == 17)
        // Bounded memory: the store holds only what the next caption can still need.
        #expect(stage.images.count(stream: "cam") <= 1)
        captioner.open()
        let last = Self.captions(stage.finish(stream: "cam", at: 20))
        // The running caption (frame 1) and the latest trigger (frame 19): two sentences, tiling 0...20.
        #expect(captioner.seen.current == [[1], [19]])
        #expect(last.map(\.text) == ["frame 1", "frame 1", "frame 19", "frame 19"])
        #expect(last.first?.startPTS == 0)
        #expect(last.last?.endPTS == 20)
        #expect(stage.captionerCalls == 2)
    }

    @Test func videoCaptionersGetTheLastFramesOldestFirst() throws {
        let captioner = GatedCaptioner(frames: 3)
        let stage = BackgroundCaptioner(
            captioner: captioner, settings: RollingCaptionSettings(window: 2, drift: 2, maxInterval: 3, minInterval: 1),
            images: CaptionImageStore(), logger: logger)
        var captions: [Caption] = []
        for i in 0..<10 {
            captions += feed(stage, [i])
            // Let each caption finish before the next frame, so none is coalesced.
            while !stage.isIdle("cam") { usleep(1000) }
        }
        captions += Self.captions(stage.finish(stream: "cam", at: 10))
        #expect(captioner.seen.current == [[0, 1, 2], [3, 4, 5], [6, 7, 8]])
        #expect(Set(captions.map(\.text)) == ["frame 2", "frame 5", "frame 8"])
        #expect(stage.coalesced == 0)
    }

    @Test func aShortStreamGetsOneCaptionOfItsLastFrame() throws {
        let stage = BackgroundCaptioner(
            captioner: GatedCaptioner(), settings: RollingCaptionSettings(window: 5), images: CaptionImageStore(),
            logger: logger)
        #expect(feed(stage, 0..<3).isEmpty)
        let last = Self.captions(stage.finish(stream: "cam", at: 3))
        #expect(last.map(\.text) == ["frame 2", "frame 2"])
        #expect(last.last.map { ($0.startPTS, $0.endPTS) } ?? (-1, -1) == (0, 3))
    }

    @Test func questionsAreAnsweredOnTriggersAndReportedWhenTheAnswerChanges() throws {
        let stage = BackgroundCaptioner(
            captioner: GatedCaptioner(), settings: RollingCaptionSettings(window: 1, drift: 2, maxInterval: 1),
            images: CaptionImageStore(), questions: ["q"], logger: logger)
        var answers: [Answer] = []
        for i in 0..<12 {
            let results = feedResults(stage, i)
            answers += results.compactMap { if case .answer(let a) = $0 { a } else { nil } }
            while !stage.isIdle("cam") { usleep(1000) }
        }
        answers += stage.finish(stream: "cam", at: 12).compactMap { if case .answer(let a) = $0 { a } else { nil } }
        // Triggers at 1...11: bytes 1-3 low, 4-7 high, 8-11 low: three changes.
        #expect(answers.map(\.answer) == ["q: low", "q: high", "q: low"])
        #expect(answers.map(\.pts) == [1, 4, 8])
        #expect(answers.allSatisfy { $0.question == "q" && $0.stream == "cam" })
    }

    func feedResults(_ stage: BackgroundCaptioner, _ i: Int) -> [StreamResult] {
        let image = RGBImage(width: 4, height: 4, pixels: [UInt8](repeating: UInt8(i), count: 48))
        stage.images.remember(
            Frame(stream: "cam", sequence: i, time: MediaTime(seconds: Double(i)), views: [], captionImage: image))
        return stage.analyze(
            EncodedFrame(
                stream: "cam", sequence: i, time: MediaTime(seconds: Double(i)), embeddings: [Embedding([1, 0, 0])],
                boxes: [.full]))
    }
}
