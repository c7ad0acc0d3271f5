import Foundation
import VLMCaption
import VLMIndex

/// What `vlm-stream index` runs: the database, the sampling, the captions and the encoder part of the graph.
public struct IndexSpec: Sendable {
    /// The index database (created if missing).
    public var database: String
    /// Frames embedded per second of video, chosen by timestamp.
    public var fps: Double
    /// Rolling captions (the same analyzer `run --captions` uses), or nil for none.
    public var captions: CaptionOptions?
    /// How videos are checksummed to tell unchanged from changed files.
    public var checksum: VideoFingerprint.Mode
    /// Frames per committed chunk (what an interruption can lose at most).
    public var chunkFrames: Int
    /// Frames the queue behind the decoder holds, so decoding runs ahead of the encoder.
    public var decodeAhead: Int
    /// Batching, encoder workers and kernel threads, as for `run`.
    public var encoder: EncoderSpec

    /// Defaults: 2 frames/s, no captions, `ends` checksums, 64-frame chunks, 16 frames decoded ahead.
    public init(
        database: String, fps: Double = 2, captions: CaptionOptions? = nil, checksum: VideoFingerprint.Mode = .ends,
        chunkFrames: Int = 64, decodeAhead: Int = 16, encoder: EncoderSpec = EncoderSpec()
    ) {
        self.database = database
        self.fps = fps
        self.captions = captions
        self.checksum = checksum
        self.chunkFrames = chunkFrames
        self.decodeAhead = decodeAhead
        self.encoder = encoder
    }
}

extension IndexSpec {
    /// The first setting that cannot work, named by the `index` flag that sets it, or nil. Bounds are upper as well
    /// as lower: `--fps 1e308` must be refused here, not trap where time is divided into slots.
    public var problem: String? {
        guard fps > 0 else { return "--fps must be a positive number of frames per second" }
        guard fps <= SourceSpec.maxFPS else { return "--fps must be at most \(Int(SourceSpec.maxFPS)) frames per second" }
        guard chunkFrames >= 1 else { return "--chunk must be at least 1 frame" }
        guard chunkFrames <= 100_000 else { return "--chunk must be at most 100000 frames" }
        guard decodeAhead >= 0 else { return "--prefetch must be 0 or more frames" }
        guard decodeAhead <= 10_000 else { return "--prefetch must be at most 10000 frames" }
        if let problem = encoder.problem { return "encoder \(problem.key) \(problem.requirement)" }
        return nil
    }
}

/// What happened to one video.
public enum IndexOutcome: Sendable, Equatable {
    /// Unchanged since it was indexed.
    case skipped
    /// Indexed (`encoded` frames new in this run, `stored` in all); `resumedAfter` when it continued an
    /// interrupted run, `replaced` when an older version of the file was dropped.
    case indexed(encoded: Int, stored: Int, resumedAfter: Double?, replaced: Bool)
    /// Indexed, but only part of the file could be decoded (`reason` says why): the frames that decoded are
    /// searchable, and the run should end with a failure status so the damage is not missed.
    case partial(encoded: Int, stored: Int, reason: String)
    /// Captions added to an already indexed video from its stored embeddings.
    case captioned(captions: Int)
    /// Stopped by a shutdown; the frames committed so far stay and the next run resumes after them.
    case interrupted(stored: Int)
}

/// Where a video stands, for progress bars.
public struct IndexProgress: Sendable {
    /// The video's path.
    public var video: String
    /// The pts of the last frame stored.
    public var pts: Double
    /// The video's duration, when the container states it.
    public var duration: Double?
    /// Frames encoded in this run.
    public var encoded: Int
}
