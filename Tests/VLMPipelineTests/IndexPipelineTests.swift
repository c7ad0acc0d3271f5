import CLIP
import Foundation
import TestSupport
import Testing
import VLMCaption
import VLMIndex
import VLMPipeline

/// `index` through the stage graph (`IndexPipeline`), with the tiny CLIP checkpoint, real FFmpeg and a real SQLite
/// file. The expectation in Tests/Fixtures/index-plaza-2fps.json was stored by the indexer this graph replaced
/// (its own prefetching reader and caption collector), from `vlm-stream index SampleVideos/plaza.mp4 --fps 2
/// --captions --model Tests/Fixtures/tiny-clip`, dumped with scripts/golden/index_expectation.py.
@Suite("index through the stage graph", .serialized)
struct IndexPipelineTests {
    struct Expectation: Decodable {
        struct Frame: Decodable {
            var pts: Double
            var embedding: [Float]
        }
        struct Caption: Decodable {
            var start: Double
            var end: Double
            var text: String
        }
        var duration: Double?
        var frames: [Frame]
        var captions: [Caption]
    }

    let dir: URL
    let model: CLIPModel

    init() throws {
        dir = try Fixtures.temporaryDirectory("vlm-index-graph")
        model = try CLIPModel.load(directory: Fixtures.url("tiny-clip"))
    }

    func spec(_ name: String, fps: Double = 2, captions: Bool = false, chunk: Int = 64) -> IndexSpec {
        IndexSpec(
            database: dir.appendingPathComponent(name).path, fps: fps,
            captions: captions ? CaptionOptions(cacheDirectory: dir.appendingPathComponent("cache").path) : nil,
            chunkFrames: chunk)
    }

    @Test("the same frames, embeddings (fp16, within 2e-3) and captions as the indexer the graph replaced")
    func sameAsBefore() async throws {
        let expected = try JSONDecoder().decode(
            Expectation.self, from: Data(contentsOf: Fixtures.url("index-plaza-2fps.json")))
        let plaza = Fixtures.sampleVideo("plaza.mp4")
        let pipeline = try IndexPipeline(spec: spec("same.sqlite", captions: true, chunk: 4), model: model)
        let outcome = try await pipeline.index(plaza)
        let count = expected.frames.count
        #expect(outcome == .indexed(encoded: count, stored: count, resumedAfter: nil, replaced: false))

        let video = try #require(try pipeline.index.videos().first)
        #expect(video.complete && video.path == plaza.path && video.duration == expected.duration)
        let frames = try pipeline.index.frames(videoID: video.id)
        #expect(frames.map(\.pts) == expected.frames.map(\.pts))
        for (frame, want) in zip(frames, expected.frames) {
            let worst = zip(frame.embedding, want.embedding).map { abs($0 - $1) }.max() ?? .infinity
            #expect(worst <= 2e-3, "frame at \(frame.pts): max difference \(worst)")
        }
        let captions = try pipeline.index.captions(videoID: video.id)
        #expect(captions.map(\.text) == expected.captions.map(\.text))
        #expect(captions.map(\.start) == expected.captions.map(\.start))
        #expect(captions.map(\.end) == expected.captions.map(\.end))
        #expect(!captions.isEmpty)
    }

    @Test("stop() drains: the encoded frames are committed, the video resumes after them without duplicates")
    func stopAndResume() async throws {
        let megamind = Fixtures.sampleVideo("megamind.mp4")
        let spec = spec("resume.sqlite", fps: 24, chunk: 2)
        let first = try IndexPipeline(spec: spec, model: model)
        let outcome = try await first.index(
            megamind,
            onProgress: { progress in
                if progress.encoded == 5 { first.stop() }
            })
        let stored = try #require(outcome.interruptedStored, "expected .interrupted, got \(outcome)")
        #expect(stored >= 5)
        let video = try #require(try first.index.videos().first)
        let committed = try first.index.framePTS(videoID: video.id)
        #expect(!video.complete && committed.count == stored)

        let second = try IndexPipeline(spec: spec, model: model)
        let resumed = try await second.index(megamind)
        let (encoded, total, after) = try #require(resumed.indexed, "expected .indexed, got \(resumed)")
        #expect(after != nil && encoded > 0 && encoded == total - stored)
        let clean = try IndexPipeline(spec: self.spec("clean.sqlite", fps: 24), model: model)
        _ = try await clean.index(megamind)
        let cleanPTS = try clean.index.framePTS(videoID: try #require(try clean.index.videos().first).id)
        let pts = try second.index.framePTS(videoID: video.id)
        #expect(pts == cleanPTS && Set(pts).count == pts.count)
        #expect(try second.index.videos().first?.complete == true)
        #expect(try await second.index(megamind) == .skipped)
    }

    @Test("--captions on a video indexed without them captions the stored embeddings")
    func captionStored() async throws {
        let plaza = Fixtures.sampleVideo("plaza.mp4")
        let plain = try IndexPipeline(spec: spec("later.sqlite"), model: model)
        _ = try await plain.index(plaza)
        let captioned = try IndexPipeline(spec: spec("later.sqlite", captions: true), model: model)
        let outcome = try await captioned.index(plaza)
        let count = try #require(outcome.captionCount, "expected .captioned, got \(outcome)")
        let video = try #require(try captioned.index.videos().first)
        let stored = try captioned.index.captions(videoID: video.id)
        #expect(count > 0 && stored.count == count)
    }

    @Test("a video stopped while a caption model captions it resumes, then is captioned whole as if never stopped")
    func modelCaptionsAfterResume() async throws {
        let plaza = Fixtures.sampleVideo("plaza.mp4")
        var captions = CaptionOptions()
        captions.model = Fixtures.url("tiny-git").path
        captions.maxTokens = 4
        captions.rolling.maxInterval = 1
        func spec(_ name: String) -> IndexSpec {
            IndexSpec(database: dir.appendingPathComponent(name).path, fps: 8, captions: captions, chunkFrames: 2)
        }
        let first = try IndexPipeline(spec: spec("model-resume.sqlite"), model: model)
        let outcome = try await first.index(
            plaza, onProgress: { progress in if progress.encoded == 5 { first.stop() } })
        let stored = try #require(outcome.interruptedStored, "expected .interrupted, got \(outcome)")
        let video = try #require(try first.index.videos().first)
        #expect(!video.complete && !video.captioned && stored >= 5)

        let second = try IndexPipeline(spec: spec("model-resume.sqlite"), model: model)
        let resumed = try await second.index(plaza)
        #expect(resumed.indexed?.after != nil, "expected a resumed .indexed, got \(resumed)")
        let clean = try IndexPipeline(spec: spec("model-clean.sqlite"), model: model)
        _ = try await clean.index(plaza)
        let want = try clean.index.captions(videoID: try #require(try clean.index.videos().first).id)
        let got = try second.index.captions(videoID: video.id)
        #expect(want.count > 1 && got == want, "\(want.map(\.text)) vs \(got.map(\.text))")
        let after = try #require(try second.index.videos().first)
        #expect(after.complete && after.captioned && after.captioner == "git \(Fixtures.url("tiny-git").path)")
        #expect(try await second.index(plaza) == .skipped)
    }
}

extension IndexOutcome {
    /// The frames stored, when interrupted.
    var interruptedStored: Int? {
        if case .interrupted(let stored) = self { return stored }
        return nil
    }

    /// Encoded, stored and the resume point, when indexed.
    var indexed: (encoded: Int, stored: Int, after: Double?)? {
        if case .indexed(let encoded, let stored, let after, _) = self { return (encoded, stored, after) }
        return nil
    }

    /// The captions added, when stored embeddings were captioned.
    var captionCount: Int? {
        if case .captioned(let count) = self { return count }
        return nil
    }
}
