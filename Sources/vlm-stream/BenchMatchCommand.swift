import ArgumentParser
import Foundation
import VLMCore
import VLMMatch

/// `vlm-stream bench match`: the cost of matching per frame (calibrated scores, baselines, events, labels),
/// separate from the encoder. Embeddings are random unit vectors, so it needs no model.
struct BenchMatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "match",
        abstract: "Score random frame embeddings against queries (with tiles and labels) and report frames/s.",
        discussion: "Runs the real QueryMatcher and LabelClassifier; text embeddings come from a seeded random "
            + "encoder of the given size. The last line is a JSON object."
    )

    @Option(help: "Active queries.")
    var queries: Int = 20

    @Option(help: "Views per frame (1 = whole frame; 5 = whole frame + 2x2 tiles).")
    var views: Int = 5

    @Option(help: "Zero-shot labels (0 = no label classifier).")
    var labels: Int = 10

    @Option(help: "Embedding size (512 for ViT-B/32).")
    var dimension: Int = 512

    @Option(help: "Frames to analyze, after 100 warm-up frames.")
    var frames: Int = 5000

    @Option(help: "Seconds of history in each baseline (the window holds baseline × fps frames).")
    var baseline: Double = 60

    func validate() throws {
        guard queries >= 1, views >= 1, labels >= 0, dimension >= 1, frames >= 1 else {
            throw ValidationError(
                "--queries, --views, --dimension and --frames must be at least 1, --labels 0 or more.")
        }
    }

    func run() throws {
        var rng = SplitMix64(seed: 1)
        let encoder = RandomTextEncoder(dimension: dimension)
        var settings = MatchSettings()
        settings.baselineWindow = baseline
        let matcher = try QueryMatcher(
            encoder: encoder, settings: settings, queries: (0..<queries).map { "query \($0)" })
        let classifier =
            try labels > 0
            ? LabelClassifier(labels: (0..<labels).map { "label \($0)" }, prompts: matcher.prompts) : nil
        // A pool of frames to cycle through (random unit vectors per view), 5 frames per second of video.
        let pool = (0..<64).map { _ in
            (0..<views).map { _ in
                Embedding((0..<dimension).map { _ in Float.random(in: -1...1, using: &rng) }).normalized()
            }
        }
        let boxes = [Box.full] + (1..<max(views, 1)).map { _ in Box(x: 0, y: 0, width: 0.5, height: 0.5) }
        func frame(_ i: Int) -> EncodedFrame {
            EncodedFrame(
                stream: "bench", sequence: i, time: MediaTime(seconds: Double(i) * 0.2),
                embeddings: pool[i % pool.count],
                boxes: boxes)
        }
        var results = 0
        for i in 0..<100 { results += matcher.analyze(frame(i)).count + (classifier?.analyze(frame(i)).count ?? 0) }
        var latencies: [Double] = []
        latencies.reserveCapacity(frames)
        let start = Date()
        for i in 100..<(100 + frames) {
            let t0 = DispatchTime.now().uptimeNanoseconds
            results += matcher.analyze(frame(i)).count + (classifier?.analyze(frame(i)).count ?? 0)
            latencies.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e3)
        }
        let seconds = Date().timeIntervalSince(start)
        latencies.sort()
        let median = latencies[latencies.count / 2]
        let p99 = latencies[min(latencies.count - 1, latencies.count * 99 / 100)]
        let fps = Double(frames) / seconds
        print("matching     \(queries) queries × \(views) views, \(labels) labels, dim \(dimension)")
        print("throughput   " + String(format: "%.0f frames/s", fps))
        print("latency      " + String(format: "median %.1f µs, p99 %.1f µs per frame", median, p99))
        print(
            "{\"bench\":\"match\",\"queries\":\(queries),\"views\":\(views),\"labels\":\(labels),"
                + "\"frames_per_second\":\(Int(fps)),\"median_us\":\(String(format: "%.1f", median)),"
                + "\"p99_us\":\(String(format: "%.1f", p99)),\"results\":\(results)}")
    }
}

/// A text encoder returning a seeded random unit vector per sentence (the bench measures matching, not text).
private struct RandomTextEncoder: TextEncoding {
    let embeddingSize: Int
    let modelIdentity = "random"
    let logitScale: Float = 100

    init(dimension: Int) { embeddingSize = dimension }

    func encode(texts: [String]) throws -> [Embedding] {
        texts.map { text in
            var rng = SplitMix64(seed: UInt64(truncatingIfNeeded: text.hashValue))
            return Embedding((0..<embeddingSize).map { _ in Float.random(in: -1...1, using: &rng) }).normalized()
        }
    }
}
