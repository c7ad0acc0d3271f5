import Foundation
import VLMCore

@testable import VLMMatch

/// A text encoder with known geometry for exact-math tests: each keyword it knows is one axis, a sentence is the
/// sum of the axes of the keywords it contains plus a small deterministic per-sentence component (so templates
/// differ and ensembling is not a no-op), normalised. The tiny random CLIP model gives meaningless geometry;
/// calibration, tiles and labels need directions the test controls. Counts calls to check the cache.
final class AxisTextEncoder: TextEncoding {
    let axes: [String: Int]
    let embeddingSize: Int
    let logitScale: Float
    /// Set to act as a sigmoid-trained (SigLIP-like) model.
    let logitBias: Float?
    let modelIdentity = "axis-test-encoder"
    private let calls = Locked(0)

    init(keywords: [String], logitScale: Float = 100, logitBias: Float? = nil) {
        axes = Dictionary(uniqueKeysWithValues: keywords.enumerated().map { ($1, $0) })
        embeddingSize = keywords.count + 8
        self.logitScale = logitScale
        self.logitBias = logitBias
    }

    var sentencesEncoded: Int { calls.withLock { $0 } }

    func encode(texts: [String]) throws -> [Embedding] {
        calls.withLock { $0 += texts.count }
        return texts.map { text in
            var v = [Float](repeating: 0, count: embeddingSize)
            let words = Set(text.lowercased().split(whereSeparator: { !$0.isLetter }).map(String.init))
            for (word, axis) in axes where words.contains(word) { v[axis] += 1 }
            // Template noise on the spare dimensions, from an FNV-1a hash of the sentence.
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325
            for byte in text.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
            for i in axes.count..<embeddingSize {
                hash = hash &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                v[i] = Float(Int64(bitPattern: hash >> 11) % 1000) / 10000
            }
            return Embedding(v).normalized()
        }
    }

    /// A unit vector mixing keyword axes with the given weights: an "image" that shows those things.
    func image(_ weights: [String: Float]) -> Embedding {
        var v = [Float](repeating: 0, count: embeddingSize)
        for (word, w) in weights { v[axes[word]!] += w }
        v[embeddingSize - 1] += 0.05
        return Embedding(v).normalized()
    }
}

extension EncodedFrame {
    /// A frame at `pts` seconds whose views have the given embeddings; with several views, view 0 is the whole
    /// frame and the rest are the tiles of a square grid.
    static func test(_ stream: String = "cam", pts: Double, views: [Embedding]) -> EncodedFrame {
        var boxes = [Box.full]
        let tiles = views.count - 1
        let side = Int(Double(tiles).squareRoot().rounded())
        for t in 0..<tiles {
            let w = 1 / Double(side)
            boxes.append(Box(x: Double(t % side) * w, y: Double(t / side) * w, width: w, height: w))
        }
        return EncodedFrame(
            stream: stream, sequence: Int(pts * 10), time: MediaTime(seconds: pts), embeddings: views, boxes: boxes)
    }
}

extension Array where Element == StreamResult {
    var events: [QueryEvent] { compactMap { if case .event(let e) = $0 { e } else { nil } } }
    var scores: [QueryScore] { compactMap { if case .score(let s) = $0 { s } else { nil } } }
}

/// Checks that a stream of events is well formed per (stream, query): start, updates, end, repeated; pts ordered;
/// peaks inside the interval. Returns a description of the first violation, nil when all is well.
func eventViolation(_ events: [QueryEvent], allowOpen: Bool = false) -> String? {
    var open: [String: QueryEvent] = [:]
    for e in events {
        let key = "\(e.stream)/\(e.query)"
        switch e.type {
        case .start:
            if open[key] != nil { return "second start for \(key) at \(e.startPTS)" }
            if e.peakPTS < e.startPTS { return "peak before start for \(key)" }
            open[key] = e
        case .update, .end:
            guard let s = open[key] else { return "\(e.type) without start for \(key)" }
            if e.startPTS != s.startPTS { return "startPTS changed for \(key)" }
            guard let end = e.endPTS, end >= e.startPTS else { return "\(e.type) without endPTS >= start for \(key)" }
            if e.peakPTS < e.startPTS || e.peakPTS > end { return "peak outside interval for \(key)" }
            if e.peakScore < s.peakScore { return "peak score decreased for \(key)" }
            if e.type == .end { open[key] = nil } else { open[key] = e }
        }
    }
    if !allowOpen, let key = open.keys.first { return "no end for \(key)" }
    return nil
}
