import CLIP
import Foundation
import Logging
import VLMCaption
import VLMCore
import VLMGraph
import VLMIndex
import VLMVideo

/// `vlm-stream index` as a composition: each video runs through the same stage graph as `run` (decode thread,
/// bounded queue, flow limiter, batcher, encoder workers, in-order results), with the rolling captioner as its
/// analyzer (when captions are asked for) and an `IndexWriter` as its index analyzer and sink:
///
/// ```
///   IndexFrameSource (file, fps sampling, frames after the resume point)
///        │ decode thread ─► [queue: block, decodeAhead frames] ─► flow limiter ─► batcher ─► encoder workers
///        ▼
///   results thread (pts order) ─► RollingCaptioner ─► IndexWriter: frames → chunks (one transaction each)
///                                      └── captions ──► IndexWriter (sink) → stored when the video completes
/// ```
///
/// VLMIndex decides per video what to do (skip an unchanged file, replace a changed one, resume after the last
/// committed frame, or caption stored embeddings); a video becomes searchable in the transaction after its last
/// chunk. `stop()` drains the graph, which commits what is encoded, and the video reports `.interrupted`.
public final class IndexPipeline: Sendable {
    /// What to run.
    public let spec: IndexSpec
    /// The open index.
    public let index: VideoIndex
    private let model: CLIPModel
    private let captioner: RollingCaptioner?
    private let logger: Logger
    private let state = Locked(RunState())

    private struct RunState {
        var graph: StageGraph?
        var stopping = false
    }

    /// Opens (or creates) the index, refuses one built with another model, and prepares the captioner.
    public init(spec: IndexSpec, model: CLIPModel, logger: Logger = Logger(label: "vlm.index")) throws {
        if let problem = spec.problem { throw PipelineSpecError(file: "command line", problem) }
        self.spec = spec
        self.index = try VideoIndex(path: spec.database, create: true)
        try index.requireModel(model.modelIdentity)
        self.model = model
        self.logger = logger
        self.captioner = try spec.captions.map { try $0.makeAnalyzer(encoder: model, logger: logger) }
    }

    /// True once `stop()` was called.
    public var isStopping: Bool { state.withLock { $0.stopping } }

    /// Graceful shutdown: the running graph drains (its encoded frames are committed) and no video starts after it.
    public func stop() {
        let graph = state.withLock { s -> StageGraph? in
            s.stopping = true
            return s.graph
        }
        graph?.stop()
    }

    // MARK: - One video

    /// Indexes the file at `url`. `onDamage` reports a file that ends early (the frames before the damage are
    /// indexed); `onProgress` sees each stored frame. Throws the video's or the index's `UserFacingError`.
    public func index(
        _ url: URL, onDamage: @escaping @Sendable (VideoError) -> Void = { _ in },
        onProgress: @escaping @Sendable (IndexProgress) -> Void = { _ in }
    ) async throws -> IndexOutcome {
        let path = url.path
        let fingerprint = try VideoFingerprint(of: url, mode: spec.checksum)
        // Another indexer of this SQLite file may be on the same video: wait for its turn (see IndexerLock). A
        // PostgreSQL index has no lock file: its workers take turns by the job queue's leases.
        let turn = index.isShared ? nil : IndexerLock(database: spec.database)
        if let turn {
            guard await turn.acquire(stopping: { [weak self] in self?.isStopping ?? true }) else {
                return .interrupted(stored: 0)
            }
        }
        defer { turn?.release() }
        let plan = try index.prepare(
            videoPath: path, fingerprint: fingerprint, model: model.modelIdentity, dimension: model.embeddingSize,
            fps: spec.fps, captions: captioner != nil, precision: model.weights.precision.rawValue)
        switch plan {
        case .skip:
            logger.info("unchanged, skipped", metadata: ["video": "\(path)"])
            return .skipped
        case .caption(let id):
            guard captioner != nil else { return .skipped }
            return .captioned(captions: try captionStored(videoID: id, path: path))
        case .fresh(let id, let replaced):
            return try await encode(url, videoID: id, after: nil, replaced: replaced, onDamage, onProgress)
        case .resume(let id, let after, let stored):
            logger.info("resuming", metadata: ["video": "\(path)", "after": "\(after)", "stored": "\(stored)"])
            return try await encode(url, videoID: id, after: after, replaced: false, onDamage, onProgress)
        }
    }

    /// Runs the graph over the frames after `after` and completes the video unless it was stopped.
    private func encode(
        _ url: URL, videoID: Int64, after: Double?, replaced: Bool,
        _ onDamage: @escaping @Sendable (VideoError) -> Void,
        _ onProgress: @escaping @Sendable (IndexProgress) -> Void
    ) async throws -> IndexOutcome {
        let path = url.path
        let source: IndexFrameSource
        do {
            source = try IndexFrameSource(
                url: url, fps: spec.fps, imageSize: model.imageSize, after: after, logger: quiet("vlm.video"),
                onDamage: onDamage)
        } catch {
            // A file that cannot even be opened leaves no empty row behind.
            if after == nil { try? index.remove(videoPath: path) }
            throw error
        }
        let graphBox = Locked<StageGraph?>(nil)
        let writer = IndexWriter(
            index: index, videoID: videoID, stream: path, chunkFrames: spec.chunkFrames,
            onFailure: { _ in graphBox.current?.stop() })
        // On resume the captioner sees the stored frames first, so its window and open caption continue.
        if let captioner, after != nil { try replay(videoID: videoID, path: path, through: captioner, into: writer) }

        let encoded = Locked(0)
        let duration = source.duration
        var analyzers: [any FrameAnalyzer] = []
        if let captioner { analyzers.append(captioner) }
        analyzers.append(writer)
        let graph = StageGraph(
            sources: [GraphSource(source: source, policy: .block, queueCapacity: max(1, spec.decodeAhead))],
            encoders: EncoderWorkers.make(model, spec.encoder), analyzers: analyzers, sinks: [writer],
            options: GraphOptions(maxBatch: spec.encoder.batch, maxInFlight: spec.encoder.maxInFlight), logger: logger,
            onProgress: { _, pts in
                let count = encoded.withLock { n -> Int in
                    n += 1
                    return n
                }
                onProgress(IndexProgress(video: path, pts: pts, duration: duration, encoded: count))
            })
        graphBox.withLock { $0 = graph }
        let stopping = state.withLock { s -> Bool in
            s.graph = graph
            return s.stopping
        }
        if stopping { graph.stop() }
        let summary = await graph.run()
        state.withLock { $0.graph = nil }

        if let failure = writer.failure { throw failure }
        if let error = summary.error { throw error }
        if isStopping { return .interrupted(stored: try index.framePTS(videoID: videoID).count) }
        let lastPTS = writer.lastPTS ?? after
        guard lastPTS != nil else {
            // Nothing decoded (a truncated file, or one whose every packet is damaged): a failure, not an empty
            // "complete" video.
            try? index.remove(videoPath: path)
            let why = source.damage == nil ? (source.partialReason.map { ": \($0)" } ?? "") : ""
            throw IndexError.unreadableVideo(
                path: path, reason: "no frame could be decoded, the file is damaged or truncated\(why)")
        }
        let end = duration ?? lastPTS.map { $0 + (spec.fps > 0 ? 1 / spec.fps : 0) }
        let stored = try index.complete(
            videoID: videoID, duration: end, captions: captioner == nil ? nil : extendLast(writer.captions, to: end))
        if let reason = source.partialReason {
            return .partial(encoded: encoded.current, stored: stored, reason: reason)
        }
        return .indexed(encoded: encoded.current, stored: stored, resumedAfter: after, replaced: replaced)
    }

    // MARK: - Captions of stored frames

    /// `--captions` on a video indexed without them: the stored embeddings go through the captioner, no decoding.
    private func captionStored(videoID: Int64, path: String) throws -> Int {
        guard let captioner else { return 0 }
        let writer = IndexWriter(index: index, videoID: videoID, stream: path, chunkFrames: 1, onFailure: { _ in })
        let stored = try replay(videoID: videoID, path: path, through: captioner, into: writer)
        let duration = try index.videos().first { $0.id == videoID }?.duration
        let end = duration ?? stored.last?.pts ?? 0
        for result in captioner.finish(stream: path, at: end) { writer.consume(result) }
        try index.complete(videoID: videoID, duration: duration, captions: writer.captions)
        return writer.captions.count
    }

    /// Feeds the video's stored frames to `captioner`, handing its captions to `writer`.
    @discardableResult
    private func replay(
        videoID: Int64, path: String, through captioner: RollingCaptioner, into writer: IndexWriter
    ) throws -> [IndexedFrame] {
        let stored = try index.frames(videoID: videoID)
        for (sequence, frame) in stored.enumerated() {
            let encoded = EncodedFrame(
                stream: path, sequence: sequence, time: MediaTime(seconds: frame.pts),
                embeddings: [Embedding(frame.embedding)], boxes: [.full])
            for result in captioner.analyze(encoded) { writer.consume(result) }
        }
        return stored
    }

    /// The graph ends a stream's last caption at its last frame; the index keeps it open to the video's end, as
    /// its moments do (`RollingCaptioner.finish` at the duration).
    private func extendLast(_ captions: [IndexedCaption], to end: Double?) -> [IndexedCaption] {
        guard let end, var last = captions.last, end > last.end else { return captions }
        last.end = end
        return Array(captions.dropLast()) + [last]
    }

    private func quiet(_ label: String) -> Logger {
        var l = Logger(label: label)
        l.logLevel = .warning
        return l
    }
}
