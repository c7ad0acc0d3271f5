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
///   IndexFrameSource (file, fps sampling, frames after the resume point; caption images for a caption model)
///        │ decode thread ─► [queue: block, decodeAhead frames] ─► flow limiter ─► batcher ─► encoder workers
///        ▼
///   results thread (pts order) ─► RollingCaptioner ─► IndexWriter: frames → chunks (one transaction each)
///                                 or BackgroundCaptioner (GIT, endpoint)
///                                      └── captions ──► IndexWriter (sink) → stored when the video completes,
///                                                       each with its text embedding (search --text reads them)
/// ```
///
/// VLMIndex decides per video what to do (skip an unchanged file, replace a changed one, resume after the last
/// committed frame, or caption a stored video captioned by no or another captioner); a video becomes searchable in
/// the transaction after its last chunk. `stop()` drains the graph, which commits what is encoded, and the video
/// reports `.interrupted`. A caption model (`captions.model`, `captions.endpoint`) reads the decoded frames at its
/// own preprocessing; it never coalesces here (a file is not live): the graph waits for it instead. Captioning a
/// stored video, or finishing one that was resumed, decodes the file again for the model's images and pairs each
/// frame with its stored embedding (the triggers' input); nothing is encoded again.
public final class IndexPipeline: Sendable {
    /// What to run.
    public let spec: IndexSpec
    /// The open index.
    public let index: VideoIndex
    let model: CLIPModel
    /// The CLIP-vocabulary captioner (captions without a model).
    let captioner: RollingCaptioner?
    /// The caption model's stage (`captions.model` or `captions.endpoint`).
    let modelCaptions: BackgroundCaptioner?
    let logger: Logger
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
        if let options = spec.captions, options.usesImageCaptioner {
            guard options.ask.isEmpty else {
                throw PipelineSpecError(
                    file: "command line", "an index stores captions, not answers: leave out --ask (captions.ask)")
            }
            // The caption model runs at the encoder's precision (`index --precision int8` quantizes both).
            let made = try ModelCaptioner.make(
                options, precision: model.weights.precision, logger: logger, gitLogger: Self.quiet("vlm.git"))
            self.modelCaptions = made.map {
                BackgroundCaptioner(
                    captioner: $0.captioner, settings: options.rolling, images: CaptionImageStore(),
                    maxInFlight: $0.maxInFlight, coalesces: false, logger: Self.quiet("vlm.caption"))
            }
            self.captioner = nil
        } else {
            self.captioner = try spec.captions.map { try $0.makeAnalyzer(encoder: model, logger: logger) }
            self.modelCaptions = nil
        }
    }

    /// The captioner asked for, as the index records it (nil: no captions).
    var captionerIdentity: String? {
        captioner == nil && modelCaptions == nil ? nil : spec.captions?.captionerIdentity
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
            fps: spec.fps, captioner: captionerIdentity, precision: model.weights.precision.rawValue)
        switch plan {
        case .skip:
            logger.info("unchanged, skipped", metadata: ["video": "\(path)"])
            return .skipped
        case .caption(let id):
            if let modelCaptions {
                guard let count = try captionDecoded(url, videoID: id, stage: modelCaptions) else {
                    return .interrupted(stored: try index.framePTS(videoID: id).count)
                }
                return .captioned(captions: count)
            }
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
        // A resumed video's model captions come from a pass over the whole file once its frames are stored.
        let modelCaptions = after == nil ? self.modelCaptions : nil
        var tap: (@Sendable (Frame) -> Void)?
        if let store = modelCaptions?.images { tap = { store.remember($0) } }
        do {
            source = try IndexFrameSource(
                url: url, fps: spec.fps, imageSize: model.imageSize, after: after,
                captions: modelCaptions?.captioner.preprocessing, logger: Self.quiet("vlm.video"), onDamage: onDamage,
                tap: tap)
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
        if let modelCaptions { analyzers.append(modelCaptions) }
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
        let captions = captioner != nil || modelCaptions != nil ? extendLast(writer.captions, to: end) : nil
        let stored = try index.complete(
            videoID: videoID, duration: end, captions: try captions.map(embedded),
            captioner: captionerIdentity ?? "")
        if modelCaptions == nil, let stage = self.modelCaptions {
            // Resumed: caption the whole video now (an interruption leaves it complete but uncaptioned).
            if try captionDecoded(url, videoID: videoID, stage: stage) == nil {
                return .interrupted(stored: stored)
            }
        }
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
        try index.complete(
            videoID: videoID, duration: duration, captions: try embedded(writer.captions),
            captioner: captionerIdentity ?? "")
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

    static func quiet(_ label: String) -> Logger {
        var l = Logger(label: label)
        l.logLevel = .warning
        return l
    }
}
