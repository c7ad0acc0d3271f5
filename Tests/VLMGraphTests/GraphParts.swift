import Foundation
import VLMCore
import VLMGraph

/// A source that makes `count` frames (or endless ones when nil) at `fps`, optionally paced in real time.
final class SyntheticSource: FrameSource {
    let stream: String
    let isLive: Bool
    let duration: Double?
    private let count: Int?
    private let fps: Double
    private let size: Int
    private let views: Int
    private let paced: Bool
    private let state = Locked((decoded: 0, stopped: false))

    init(
        stream: String = "synthetic", count: Int?, fps: Double = 25, live: Bool = false, paced: Bool = false,
        size: Int = 8, views: Int = 1
    ) {
        self.stream = stream
        self.count = count
        self.fps = fps
        self.isLive = live
        self.paced = paced
        self.size = size
        self.views = views
        self.duration = count.map { Double($0) / fps }
    }

    var decodedFrames: Int { state.withLock { $0.decoded } }

    func run(emit: (Frame) -> Bool) throws {
        var index = 0
        let start = Date()
        while count.map({ index < $0 }) ?? true, !state.withLock({ $0.stopped }) {
            if paced {
                let due = start.addingTimeInterval(Double(index) / fps)
                let wait = due.timeIntervalSinceNow
                if wait > 0 { Thread.sleep(forTimeInterval: wait) }
            }
            // Each frame's pixels encode its index, so embeddings differ frame to frame.
            let value = UInt8(index % 251)
            let image = RGBImage(width: size, height: size, pixels: [UInt8](repeating: value, count: size * size * 3))
            let frameViews = (0..<views).map { v in
                Frame.View(box: v == 0 ? .full : Box(x: 0, y: 0, width: 0.5, height: 0.5), image: image)
            }
            let frame = Frame(
                stream: stream, sequence: index, time: MediaTime(seconds: Double(index) / fps), views: frameViews,
                luma: [value])
            state.withLock { $0.decoded += 1 }
            index += 1
            if !emit(frame) { break }
        }
    }

    func stop() { state.withLock { $0.stopped = true } }
}

/// A small real encoder: the embedding is (mean pixel, 1) normalised, after an optional fixed cost per image.
struct MeanEncoder: ImageEncoding {
    var imageSize = 8
    var embeddingSize = 2
    var modelIdentity = "mean-test"
    var secondsPerImage = 0.0
    let calls = Locked([Int]())

    func encode(images: [RGBImage]) throws -> [Embedding] {
        calls.withLock { $0.append(images.count) }
        if secondsPerImage > 0 { Thread.sleep(forTimeInterval: secondsPerImage * Double(images.count)) }
        return images.map { image in
            let mean = Float(image.pixels.reduce(0) { $0 + Int($1) }) / Float(max(1, image.pixels.count)) / 255
            return Embedding([mean, 1]).normalized()
        }
    }
}

/// Passes a frame to the encoder only when its luma changed by more than `threshold` since the last passed one.
final class LumaGate: FrameGate {
    private let threshold: Int
    private let last = Locked<Int?>(nil)

    init(threshold: Int) { self.threshold = threshold }

    func shouldEncode(_ frame: Frame) -> Bool {
        let value = Int(frame.luma.first ?? 0)
        return last.withLock { last in
            guard let previous = last, abs(previous - value) <= threshold else {
                last = value
                return true
            }
            return false
        }
    }
}

/// Records every result and whether `finish` was called.
final class CollectingSink: ResultSink {
    let results = Locked([StreamResult]())
    let finished = Locked(0)

    func consume(_ result: StreamResult) { results.withLock { $0.append(result) } }
    func finish() { finished.withLock { $0 += 1 } }

    var scores: [QueryScore] {
        results.current.compactMap { if case .score(let s) = $0 { return s } else { return nil } }
    }
    var ended: [String] {
        results.current.compactMap {
            if case .status(let stream, "ended", _) = $0 { return stream } else { return nil }
        }
    }
}

/// Scores each frame with its first embedding's first component; remembers which streams were finished.
final class FirstComponentAnalyzer: FrameAnalyzer {
    let finishedStreams = Locked([String]())
    let reusedFrames = Locked(0)

    func analyze(_ frame: EncodedFrame) -> [StreamResult] {
        if frame.reused { reusedFrames.withLock { $0 += 1 } }
        let value = Double(frame.embeddings.first?.values.first ?? -1)
        return [
            .score(QueryScore(stream: frame.stream, pts: frame.time.seconds, query: "q", score: value, cosine: value))
        ]
    }

    func finish(stream: String, at pts: Double) -> [StreamResult] {
        finishedStreams.withLock { $0.append(stream) }
        return []
    }
}
