import Logging
import VLMCore

/// When the rolling captioner writes a new caption.
public struct RollingCaptionSettings: Sendable, Equatable {
    /// Seconds of frames averaged into the window embedding.
    public var window: Double
    /// Cosine distance between the window and the last captioned window that triggers a new caption.
    public var drift: Double
    /// Seconds after which a caption is re-checked even without drift (a same-text result extends the caption).
    public var maxInterval: Double
    /// Seconds that must pass between two captions, however fast the scene changes (bounds the cost).
    public var minInterval: Double

    public init(window: Double = 2, drift: Double = 0.05, maxInterval: Double = 10, minInterval: Double = 1) {
        self.window = window
        self.drift = drift
        self.maxInterval = maxInterval
        self.minInterval = minInterval
    }
}

/// Rolling captions as a pipeline stage: keeps a sliding window of whole-frame embeddings per stream and asks its
/// `Captioner` for a sentence only when the window has drifted from the last captioned one (cosine distance above
/// `drift`) or `maxInterval` has passed, never per frame.
///
/// Emitted captions tile the timeline without overlapping. A caption is emitted when it opens, ending at the frame
/// that triggered it; when a later trigger yields the same text the two merge (the open caption's `endPTS` grows and
/// it is emitted again); when it yields a new text the open caption is extended to the new window's first frame (and
/// emitted again) and the new one starts there. The first caption starts at the stream's first frame; `finish`
/// extends the last one to the end. Consumers therefore treat `(stream, startPTS)` as a caption's identity and a
/// repeat as an update (`CaptionTimeline` folds a result stream into the final captions).
public final class RollingCaptioner: FrameAnalyzer {
    private struct StreamState {
        var frames: [(pts: Double, embedding: Embedding)] = []
        var firstPTS: Double?
        var lastTriggerPTS: Double?
        var lastCaptioned: Embedding?
        var open: Caption?
    }

    /// Makes the sentences.
    public let captioner: any Captioner
    /// Trigger settings.
    public let settings: RollingCaptionSettings
    private let logger: Logger
    private let streams = Locked([String: StreamState]())
    private let triggers = Locked(0)

    public init(captioner: any Captioner, settings: RollingCaptionSettings = .init(), logger: Logger) {
        self.captioner = captioner
        self.settings = settings
        self.logger = logger
    }

    /// How many times the captioner was asked for a sentence (for tests and benchmarks).
    public var captionerCalls: Int { triggers.withLock { $0 } }

    // MARK: - FrameAnalyzer

    public func analyze(_ frame: EncodedFrame) -> [StreamResult] {
        guard let embedding = frame.embeddings.first, embedding.count > 0 else { return [] }
        let pts = frame.time.seconds
        // Each stream is analysed by one thread, so its state can be taken out, worked on and put back.
        var state = streams.withLock { $0[frame.stream] ?? StreamState() }
        defer { streams.withLock { $0[frame.stream] = state } }

        // Frames after `pts` mean the source's clock jumped back (a reconnect): they no longer belong to the window.
        state.frames.removeAll { $0.pts > pts || $0.pts < pts - settings.window }
        state.frames.append((pts, embedding.normalized()))
        if state.firstPTS == nil { state.firstPTS = pts }
        guard shouldCaption(state, at: pts) else { return [] }
        return caption(&state, stream: frame.stream, at: pts)
    }

    public func finish(stream: String, at pts: Double) -> [StreamResult] {
        var state = streams.withLock { $0.removeValue(forKey: stream) ?? StreamState() }
        var results: [StreamResult] = []
        if state.open == nil, let last = state.frames.last {
            results = caption(&state, stream: stream, at: last.pts)
        }
        if var open = state.open, pts > open.endPTS {
            open.endPTS = pts
            results = [.caption(open)]
        }
        captioner.flush()
        return results
    }

    // MARK: - Triggers

    private func shouldCaption(_ state: StreamState, at pts: Double) -> Bool {
        settings.shouldCaption(
            at: pts, firstPTS: state.firstPTS, lastTriggerPTS: state.lastTriggerPTS, lastCaptioned: state.lastCaptioned,
            window: state.frames.map(\.embedding))
    }

    private func caption(_ state: inout StreamState, stream: String, at pts: Double) -> [StreamResult] {
        let window = CaptionWindow(
            stream: stream, startPTS: state.frames.first?.pts ?? pts, endPTS: pts,
            embeddings: state.frames.map(\.embedding))
        state.lastTriggerPTS = pts
        state.lastCaptioned = window.mean
        triggers.withLock { $0 += 1 }
        let best: CaptionCandidate
        do {
            guard let first = try captioner.caption(window, limit: 1).first else { return [] }
            best = first
        } catch {
            logger.warning("no caption for \(stream) at \(MediaTime.format(pts)): \(error)")
            return []
        }
        return Self.merge(
            text: best.text, score: best.cosine ?? best.score, open: &state.open, stream: stream,
            firstPTS: state.firstPTS ?? window.startPTS, windowStart: window.startPTS, pts: pts)
    }
}

// MARK: - Timeline

extension RollingCaptioner {
    /// Folds a new sentence for the window `windowStart...pts` into the open caption: the same text extends it, a
    /// new text closes it at the window's start and opens the next (the first caption starts at `firstPTS`).
    /// Returns the captions to emit (opened or changed).
    static func merge(
        text: String, score: Double, open: inout Caption?, stream: String, firstPTS: Double, windowStart: Double,
        pts: Double
    ) -> [StreamResult] {
        var results: [StreamResult] = []
        var start = firstPTS
        if var current = open {
            if current.text == text {
                // Same sentence: merge by extending the open caption.
                current.endPTS = pts
                current.score = max(current.score, score)
                open = current
                return [.caption(current)]
            }
            // A new sentence: the open caption lasted until the new window began.
            start = max(current.endPTS, windowStart)
            if start > current.endPTS {
                current.endPTS = start
                results.append(.caption(current))
            }
        }
        let caption = Caption(stream: stream, startPTS: start, endPTS: pts, text: text, score: score)
        open = caption
        results.append(.caption(caption))
        return results
    }
}

extension RollingCaptionSettings {
    /// The caption triggers (one rule for `RollingCaptioner` and `BackgroundCaptioner`): the first caption once the
    /// window has filled; then never closer than `minInterval`, always after `maxInterval`, and in between when the
    /// mean of the window's embeddings drifted more than `drift` from the last captioned one.
    func shouldCaption(
        at pts: Double, firstPTS: Double?, lastTriggerPTS: Double?, lastCaptioned: Embedding?, window: [Embedding]
    ) -> Bool {
        guard let lastTrigger = lastTriggerPTS, let lastCaptioned else { return pts - (firstPTS ?? pts) >= self.window }
        let elapsed = pts - lastTrigger
        guard elapsed >= minInterval else { return false }
        if elapsed >= maxInterval { return true }
        return 1 - Double(CaptionWindow.mean(of: window).dot(lastCaptioned)) > drift
    }
}
