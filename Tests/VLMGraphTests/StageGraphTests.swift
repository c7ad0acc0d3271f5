import Foundation
import Testing
import VLMCore
import VLMGraph

@Suite("Stage graph")
struct StageGraphTests {
    @Test("a file runs through two encoder workers: every frame, in pts order, full batches")
    func fileRunIsCompleteAndOrdered() throws {
        let source = SyntheticSource(count: 50, fps: 10)
        let encoders = [MeanEncoder(secondsPerImage: 0.001), MeanEncoder(secondsPerImage: 0.002)]
        let sink = CollectingSink()
        let analyzer = FirstComponentAnalyzer()
        let graph = StageGraph(
            sources: [GraphSource(source: source)], encoders: encoders, analyzers: [analyzer], sinks: [sink],
            options: GraphOptions(maxBatch: 4))
        graph.start()
        #expect(graph.wait(timeout: 30))
        let pts = sink.scores.map(\.pts)
        #expect(pts == (0..<50).map { Double($0) / 10 })
        #expect(sink.finished.current == 1)
        #expect(analyzer.finishedStreams.current == ["synthetic"])
        let batches = encoders.flatMap { $0.calls.current }
        #expect(batches.reduce(0, +) == 50)
        #expect(batches.filter { $0 != 4 }.count <= 2, "only the last batch of each worker may be short")
        let summary = graph.summary
        #expect(summary.counts.decoded == 50 && summary.counts.encoded == 50 && summary.counts.dropped == 0)
        #expect(summary.error == nil)
        // The stream's life is bracketed by status results: online before any score, ended after the last.
        let results = sink.results.current
        if case .status("synthetic", "online", _) = results.first {} else { Issue.record("first: \(results.first!)") }
        if case .status("synthetic", "ended", _) = results.last {} else { Issue.record("last: \(results.last!)") }
    }

    @Test("a live source faster than the encoder drops frames but stays bounded and ordered")
    func liveDropsUnderLoad() throws {
        let source = SyntheticSource(count: 120, fps: 400, live: true, paced: true)
        let encoder = MeanEncoder(secondsPerImage: 0.01)
        let sink = CollectingSink()
        let graph = StageGraph(
            sources: [GraphSource(source: source, policy: .dropOldest, queueCapacity: 2)], encoders: [encoder],
            analyzers: [FirstComponentAnalyzer()], sinks: [sink],
            options: GraphOptions(maxBatch: 2, latencyBudget: 0.005, maxInFlight: 2))
        graph.start()
        #expect(graph.wait(timeout: 30))
        let counts = graph.summary.counts
        #expect(counts.dropped > 0)
        #expect(counts.sampled == 120)
        #expect(counts.analyzed + counts.dropped == 120)
        let pts = sink.scores.map(\.pts)
        #expect(pts == pts.sorted())
        #expect(encoder.calls.current.allSatisfy { $0 <= 2 })
    }

    @Test("the gate reuses embeddings of unchanged frames, in order")
    func gateReuse() throws {
        // Luma is index % 251; a threshold of 2 passes every third frame.
        let source = SyntheticSource(count: 30, fps: 10)
        let analyzer = FirstComponentAnalyzer()
        let sink = CollectingSink()
        let graph = StageGraph(
            sources: [GraphSource(source: source, gate: LumaGate(threshold: 2))], encoders: [MeanEncoder()],
            analyzers: [analyzer], sinks: [sink], options: GraphOptions(maxBatch: 4))
        graph.start()
        #expect(graph.wait(timeout: 30))
        let counts = graph.summary.counts
        #expect(counts.encoded == 10)
        #expect(counts.reused == 20)
        #expect(analyzer.reusedFrames.current == 20)
        let scores = sink.scores
        #expect(scores.count == 30)
        // A reused frame carries its predecessor's embedding: frames 0, 1, 2 all score like frame 0.
        #expect(scores[1].score == scores[0].score && scores[2].score == scores[0].score)
        #expect(scores[3].score != scores[0].score)
    }

    @Test("two sources share one encoder; each stream stays in order and finishes")
    func twoSources() throws {
        let a = SyntheticSource(stream: "a", count: 20, fps: 5)
        let b = SyntheticSource(stream: "b", count: 33, fps: 11, views: 3)
        let sink = CollectingSink()
        let analyzer = FirstComponentAnalyzer()
        let graph = StageGraph(
            sources: [GraphSource(source: a), GraphSource(source: b)], encoders: [MeanEncoder()],
            analyzers: [analyzer], sinks: [sink], options: GraphOptions(maxBatch: 8))
        graph.start()
        #expect(graph.wait(timeout: 30))
        let scores = sink.scores
        #expect(scores.filter { $0.stream == "a" }.map(\.pts) == (0..<20).map { Double($0) / 5 })
        #expect(scores.filter { $0.stream == "b" }.map(\.pts) == (0..<33).map { Double($0) / 11 })
        #expect(Set(analyzer.finishedStreams.current) == ["a", "b"])
        #expect(Set(sink.ended) == ["a", "b"])
    }

    @Test("stop drains an endless live source: analyzers and sinks finish within the deadline")
    func drainOnStop() throws {
        let source = SyntheticSource(count: nil, fps: 100, live: true, paced: true)
        let sink = CollectingSink()
        let analyzer = FirstComponentAnalyzer()
        let graph = StageGraph(
            sources: [GraphSource(source: source)], encoders: [MeanEncoder(secondsPerImage: 0.002)],
            analyzers: [analyzer], sinks: [sink])
        graph.start()
        Thread.sleep(forTimeInterval: 0.3)
        #expect(!graph.wait(timeout: 0.01), "an endless source must still be running")
        let stopped = Date()
        graph.stop()
        #expect(graph.wait(timeout: 2))
        #expect(Date().timeIntervalSince(stopped) < 2)
        #expect(sink.finished.current == 1)
        #expect(analyzer.finishedStreams.current == ["synthetic"])
        #expect(sink.scores.count > 5)
    }

    @Test("an encoder error fails the run and still finishes the sinks")
    func encoderFailure() throws {
        struct Broken: ImageEncoding {
            struct Failure: Error {}
            var imageSize = 8
            var embeddingSize = 2
            var modelIdentity = "broken"
            func encode(images: [RGBImage]) throws -> [Embedding] { throw Failure() }
        }
        let sink = CollectingSink()
        let graph = StageGraph(
            sources: [GraphSource(source: SyntheticSource(count: 100, fps: 10))], encoders: [Broken()],
            analyzers: [FirstComponentAnalyzer()], sinks: [sink])
        graph.start()
        #expect(graph.wait(timeout: 10))
        #expect(graph.summary.error is Broken.Failure)
        #expect(sink.finished.current == 1)
    }
}
