import Foundation
import Logging
import VLMCore

/// Where the indexer gets a video's sampled frames (VLMVideo's decoder, adapted by the caller).
/// `nextFrame` is called from one thread at a time; `duration` and `cancel` from any thread.
public protocol IndexFrameSource: AnyObject, Sendable {
    /// The next sampled frame in pts order (`views[0]` encoder-ready), or nil at the end.
    func nextFrame() throws -> Frame?
    /// The video's duration in seconds, when the container states it.
    var duration: Double? { get }
    /// Stops a blocked `nextFrame` (called on interruption; may come from another thread).
    func cancel()
}

/// Drives one video into a `VideoIndex`: decides skip / resume / replace, encodes the sampled frames in batches,
/// commits them in chunks (one transaction each), optionally captions them, and marks the video complete last.
///
/// Resume policy: after an interruption the video continues from the last stored pts — the file is decoded from
/// the start again (decoding is cheap next to encoding) but frames at or before that pts are not encoded again.
public final class VideoIndexer {
    /// What happened to one video.
    public enum Outcome: Sendable, Equatable {
        /// Unchanged since it was indexed.
        case skipped
        /// Indexed (`encoded` frames new in this run, `stored` in all); `resumedAfter` when it continued an
        /// interrupted run, `replaced` when an older version of the file was dropped.
        case indexed(encoded: Int, stored: Int, resumedAfter: Double?, replaced: Bool)
        /// Captions added to an already indexed video from its stored embeddings.
        case captioned(captions: Int)
        /// Stopped by `isCancelled`; the frames committed so far stay and the next run resumes after them.
        case interrupted(stored: Int)
    }

    /// Where a video stands, for progress bars.
    public struct Progress: Sendable {
        public var video: String
        public var pts: Double
        public var duration: Double?
        /// Frames encoded in this run.
        public var encoded: Int
    }

    public let index: VideoIndex
    public let encoder: any ImageEncoding
    /// Frames per committed chunk (what an interruption can lose at most).
    public let chunkFrames: Int
    /// Images per encoder call.
    public let batchSize: Int
    private let logger: Logger

    /// An indexer writing into `index` with `encoder`.
    public init(
        index: VideoIndex, encoder: any ImageEncoding, chunkFrames: Int = 64, batchSize: Int = 8,
        logger: Logger = Logger(label: "vlm.index")
    ) {
        self.index = index
        self.encoder = encoder
        self.chunkFrames = max(1, chunkFrames)
        self.batchSize = max(1, batchSize)
        self.logger = logger
    }

    // MARK: - Indexing

    /// Indexes the file at `path` sampled at `fps`. `open` is only called when frames must be encoded.
    /// `captioner`, when given, sees every frame (stored ones first on resume) and its captions are stored.
    public func index(
        path: String, fingerprint: VideoFingerprint, fps: Double, captioner: (any FrameAnalyzer)? = nil,
        open: () throws -> any IndexFrameSource, isCancelled: () -> Bool = { false },
        progress: (Progress) -> Void = { _ in }
    ) throws -> Outcome {
        let plan = try index.prepare(
            videoPath: path, fingerprint: fingerprint, model: encoder.modelIdentity, dimension: encoder.embeddingSize,
            fps: fps, captions: captioner != nil)
        var captions = CaptionCollector(stream: path)
        let videoID: Int64
        var after: Double?
        var replaced = false
        switch plan {
        case .skip:
            logger.info("unchanged, skipped", metadata: ["video": "\(path)"])
            return .skipped
        case .caption(let id):
            guard let captioner else { return .skipped }
            let stored = try index.frames(videoID: id)
            for frame in stored { captions.feed(captioner, frame) }
            let duration = try index.videos().first { $0.id == id }?.duration
            captions.finish(captioner, at: duration ?? stored.last?.pts ?? 0)
            try index.complete(videoID: id, duration: duration, captions: captions.captions)
            return .captioned(captions: captions.captions.count)
        case .fresh(let id, let wasReplaced):
            videoID = id
            replaced = wasReplaced
        case .resume(let id, let afterPTS, let storedFrames):
            videoID = id
            after = afterPTS
            logger.info(
                "resuming", metadata: ["video": "\(path)", "after": "\(afterPTS)", "stored": "\(storedFrames)"])
            if let captioner { for frame in try index.frames(videoID: id) { captions.feed(captioner, frame) } }
        }

        let source: any IndexFrameSource
        do {
            source = try open()
        } catch {
            // A file that cannot even be opened leaves no empty row behind.
            if after == nil { try? index.remove(videoPath: path) }
            throw error
        }
        var pending: [Frame] = []
        var chunk: [IndexedFrame] = []
        var encoded = 0
        var lastPTS = after
        func encodePending() throws {
            guard !pending.isEmpty else { return }
            let embeddings = try encoder.encode(images: pending.map { $0.views[0].image })
            for (frame, embedding) in zip(pending, embeddings) {
                chunk.append(IndexedFrame(pts: frame.time.seconds, embedding: embedding.values))
                if let captioner { captions.feed(captioner, chunk[chunk.count - 1]) }
            }
            encoded += pending.count
            pending.removeAll(keepingCapacity: true)
        }
        func commit() throws {
            try index.append(videoID: videoID, frames: chunk)
            chunk.removeAll(keepingCapacity: true)
        }
        while true {
            if isCancelled() {
                source.cancel()
                try encodePending()
                try commit()
                return .interrupted(stored: try index.framePTS(videoID: videoID).count)
            }
            guard let frame = try source.nextFrame() else { break }
            let pts = frame.time.seconds
            // Frames already stored (resume) and out-of-order repeats are not encoded again.
            if let lastPTS, pts <= lastPTS + 1e-9 { continue }
            lastPTS = pts
            pending.append(frame)
            if pending.count >= batchSize { try encodePending() }
            if chunk.count >= chunkFrames { try commit() }
            progress(Progress(video: path, pts: pts, duration: source.duration, encoded: encoded))
        }
        try encodePending()
        try commit()
        let duration = source.duration ?? lastPTS.map { $0 + (fps > 0 ? 1 / fps : 0) }
        if let captioner { captions.finish(captioner, at: duration ?? 0) }
        let stored = try index.complete(
            videoID: videoID, duration: duration, captions: captioner == nil ? nil : captions.captions)
        return .indexed(encoded: encoded, stored: stored, resumedAfter: after, replaced: replaced)
    }
}

// MARK: - Captions

/// Feeds frames to a rolling captioner and folds its results (a repeat of a start time is an update).
struct CaptionCollector {
    let stream: String
    private var sequence = 0
    private var byStart: [Double: Int] = [:]
    private(set) var captions: [IndexedCaption] = []

    init(stream: String) { self.stream = stream }

    mutating func feed(_ captioner: any FrameAnalyzer, _ frame: IndexedFrame) {
        let encoded = EncodedFrame(
            stream: stream, sequence: sequence, time: MediaTime(seconds: frame.pts),
            embeddings: [Embedding(frame.embedding)], boxes: [.full])
        sequence += 1
        apply(captioner.analyze(encoded))
    }

    mutating func finish(_ captioner: any FrameAnalyzer, at pts: Double) {
        apply(captioner.finish(stream: stream, at: pts))
    }

    private mutating func apply(_ results: [StreamResult]) {
        for case .caption(let c) in results where c.stream == stream {
            let caption = IndexedCaption(start: c.startPTS, end: c.endPTS, text: c.text, score: c.score)
            if let i = byStart[c.startPTS] {
                captions[i] = caption
            } else {
                byStart[c.startPTS] = captions.count
                captions.append(caption)
            }
        }
    }
}
