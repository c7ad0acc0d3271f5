import Foundation
import VLMCore
import VLMIndex

/// The index's end of the stage graph for one video: an analyzer that stores every encoded frame (committed in
/// chunks of `chunkFrames`, one transaction each) and a sink that keeps the rolling captioner's captions for the
/// video's completion (a repeat of a start time is an update of that caption).
///
/// It runs on the graph's results thread, after the captioner in the analyzer list, so frames arrive in pts order
/// and each frame's captions arrive right after it. A failed commit is kept (`failure`) and stops the graph
/// through `onFailure`; later frames are ignored.
final class IndexWriter: FrameAnalyzer, ResultSink {
    private struct State {
        var chunk: [IndexedFrame] = []
        var captions: [IndexedCaption] = []
        var captionByStart: [Double: Int] = [:]
        var stored = 0
        var lastPTS: Double?
        var failure: (any Error)?
    }

    private let index: VideoIndex
    private let videoID: Int64
    private let stream: String
    private let chunkFrames: Int
    private let onFailure: @Sendable (any Error) -> Void
    private let state = Locked(State())

    /// A writer of `stream`'s frames into the row `videoID` of `index`.
    init(
        index: VideoIndex, videoID: Int64, stream: String, chunkFrames: Int,
        onFailure: @escaping @Sendable (any Error) -> Void
    ) {
        self.index = index
        self.videoID = videoID
        self.stream = stream
        self.chunkFrames = max(1, chunkFrames)
        self.onFailure = onFailure
    }

    /// Frames this writer committed.
    var storedFrames: Int { state.withLock { $0.stored } }
    /// The pts of the last frame it was given.
    var lastPTS: Double? { state.withLock { $0.lastPTS } }
    /// The captions so far, in order of their start.
    var captions: [IndexedCaption] { state.withLock { $0.captions } }
    /// The first commit that failed.
    var failure: (any Error)? { state.withLock { $0.failure } }

    // MARK: - FrameAnalyzer

    /// Adds the whole-frame embedding to the chunk; commits the chunk when it is full.
    func analyze(_ frame: EncodedFrame) -> [StreamResult] {
        guard frame.stream == stream, let embedding = frame.embeddings.first else { return [] }
        state.withLock { s in
            guard s.failure == nil else { return }
            s.chunk.append(IndexedFrame(pts: frame.time.seconds, embedding: embedding.values))
            s.lastPTS = frame.time.seconds
            if s.chunk.count >= chunkFrames { commit(&s) }
        }
        return []
    }

    /// Commits what is left (the end of the video, or the drain after an interruption).
    func finish(stream: String, at pts: Double) -> [StreamResult] {
        guard stream == self.stream else { return [] }
        state.withLock { s in commit(&s) }
        return []
    }

    private func commit(_ s: inout State) {
        guard s.failure == nil, !s.chunk.isEmpty else { return }
        do {
            try index.append(videoID: videoID, frames: s.chunk)
            s.stored += s.chunk.count
            s.chunk.removeAll(keepingCapacity: true)
        } catch {
            s.failure = error
            onFailure(error)
        }
    }

    // MARK: - ResultSink

    /// Keeps the video's captions.
    func consume(_ result: StreamResult) {
        guard case .caption(let c) = result, c.stream == stream else { return }
        let caption = IndexedCaption(start: c.startPTS, end: c.endPTS, text: c.text, score: c.score)
        state.withLock { s in
            if let i = s.captionByStart[c.startPTS] {
                s.captions[i] = caption
            } else {
                s.captionByStart[c.startPTS] = s.captions.count
                s.captions.append(caption)
            }
        }
    }

    func finish() {}
}
