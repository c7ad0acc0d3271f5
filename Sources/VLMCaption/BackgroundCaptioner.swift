import Dispatch
import Logging
import VLMCore

/// Rolling captions from an `ImageCaptioner` (a GIT model, a remote VLM), computed beside the frame path.
///
/// The triggers are `RollingCaptioner`'s: the window of whole-frame embeddings drifted from the last captioned one,
/// or `maxInterval` passed (never closer than `minInterval`). A trigger hands the trigger frame's caption images
/// (the last `framesPerCaption` sampled frames, from the `CaptionImageStore`) to one background worker and returns
/// at once, so a slow caption never stalls frames. While a caption of a stream is in progress, a newer trigger
/// waits in one slot per stream; a still newer one replaces it (latest wins) and counts as coalesced (`onCoalesce`,
/// `coalesced`). With `coalesces` false (a file being indexed, which is never live) a trigger that finds the slot
/// taken waits for it instead, so the frame path slows to the captioner's pace and no trigger is lost; still at most
/// one caption runs and one waits per stream. Finished captions join the timeline as `RollingCaptioner`'s do and are returned with the stream's
/// next analysed frame, or by `finish`, which waits for the stream's caption in progress. Each of `questions` is
/// answered on the same triggers from the same images, and reported (`.answer`) when its answer changes. A caption
/// that fails (a remote endpoint timed out or answered garbage) is one warning line, skips that trigger's questions
/// and counts in `failed` (`onFailure`); the stream goes on. Captions of different streams run at most
/// `maxInFlight` at a time (1: one worker for all streams, as a local model wants).
public final class BackgroundCaptioner: FrameAnalyzer {
    private struct Job: Sendable {
        var pts: Double
        var windowStart: Double
        var images: [RGBImage]
    }

    private struct StreamState {
        var frames: [(pts: Double, embedding: Embedding)] = []
        var firstPTS: Double?
        var lastTriggerPTS: Double?
        var lastCaptioned: Embedding?
        var lastSequence = -1
        var open: Caption?
        var busy = false
        var pending: Job?
        var done: [StreamResult] = []
        var answers: [String: String] = [:]
    }

    /// Makes the sentences.
    public let captioner: any ImageCaptioner
    /// Trigger settings.
    public let settings: RollingCaptionSettings
    /// Where the sources' caption images wait for their frame's embedding.
    public let images: CaptionImageStore
    /// Standing questions (`--ask`, MQTT `questions/…`), answered on every caption trigger.
    public var questions: [String] { questionList.current }
    private let questionList: Locked<[String]>
    private let logger: Logger
    /// Captions (with their questions) of different streams in progress at once, at most.
    public let maxInFlight: Int
    /// Whether a newer trigger replaces a waiting one (live streams) or waits for the slot (files).
    public let coalesces: Bool
    private let onCoalesce: @Sendable () -> Void
    private let onFailure: @Sendable () -> Void
    private let worker: DispatchQueue
    private let streams = Locked([String: StreamState]())
    private let counts = Locked((calls: 0, coalesced: 0, failed: 0))
    private let running = Locked(0)

    /// `onCoalesce` is called for each trigger that a newer one replaced while a caption was in progress,
    /// `onFailure` for each caption that failed.
    public init(
        captioner: any ImageCaptioner, settings: RollingCaptionSettings = .init(), images: CaptionImageStore,
        questions: [String] = [], maxInFlight: Int = 1, coalesces: Bool = true, logger: Logger,
        onCoalesce: @escaping @Sendable () -> Void = {}, onFailure: @escaping @Sendable () -> Void = {}
    ) {
        self.captioner = captioner
        self.settings = settings
        self.images = images
        self.questionList = Locked(questions)
        self.maxInFlight = max(1, maxInFlight)
        self.coalesces = coalesces
        self.logger = logger
        self.onCoalesce = onCoalesce
        self.onFailure = onFailure
        worker = DispatchQueue(label: "vlm.caption.background")
    }

    /// How many captions were started (for tests and benchmarks).
    public var captionerCalls: Int { counts.withLock { $0.calls } }
    /// How many triggers were coalesced away while a caption was in progress.
    public var coalesced: Int { counts.withLock { $0.coalesced } }
    /// How many captions failed (their trigger got no caption and no answers).
    public var failed: Int { counts.withLock { $0.failed } }

    /// Whether no caption of `stream` is in progress or waiting (for tests).
    func isIdle(_ stream: String) -> Bool { streams.withLock { !($0[stream]?.busy ?? false) } }

    // MARK: - FrameAnalyzer

    public func analyze(_ frame: EncodedFrame) -> [StreamResult] {
        guard let embedding = frame.embeddings.first, embedding.count > 0 else { return [] }
        let pts = frame.time.seconds
        let n = captioner.framesPerCaption
        var start: Job?
        // Without coalescing, the frame waits here until its stream's waiting slot is free (the worker took it).
        let coalesces = self.coalesces
        let ready: ([String: StreamState]) -> Bool = { coalesces || $0[frame.stream]?.pending == nil }
        let done: [StreamResult] = streams.wait(
            for: ready,
            then: { all, _ in
                var state = all[frame.stream] ?? StreamState()
                // Frames after `pts` mean the source's clock jumped back (a reconnect): they leave the window.
                state.frames.removeAll { $0.pts > pts || $0.pts < pts - settings.window }
                state.frames.append((pts, embedding.normalized()))
                state.lastSequence = frame.sequence
                if state.firstPTS == nil { state.firstPTS = pts }
                if shouldCaption(state, at: pts) {
                    state.lastTriggerPTS = pts
                    state.lastCaptioned = CaptionWindow.mean(of: state.frames.map(\.embedding))
                    let job = Job(
                        pts: pts, windowStart: state.frames.first?.pts ?? pts,
                        images: images.latest(n, stream: frame.stream, through: frame.sequence))
                    start = enqueue(job, into: &state)
                }
                let done = state.done
                state.done = []
                all[frame.stream] = state
                return done
            })
        images.release(stream: frame.stream, through: frame.sequence, keeping: n)
        if let start { schedule(start, stream: frame.stream) }
        return done
    }

    public func finish(stream: String, at pts: Double) -> [StreamResult] {
        // A stream too short to trigger still gets one caption, of its last frame.
        let start: Job? = streams.withLock { all in
            guard var state = all[stream], state.open == nil, !state.busy, state.pending == nil,
                state.lastTriggerPTS == nil, let last = state.frames.last
            else { return nil }
            let job = Job(
                pts: last.pts, windowStart: state.frames.first?.pts ?? last.pts,
                images: images.latest(captioner.framesPerCaption, stream: stream, through: state.lastSequence))
            let start = enqueue(job, into: &state)
            all[stream] = state
            return start
        }
        if let start { schedule(start, stream: stream) }
        let state = streams.wait(
            for: { !($0[stream]?.busy ?? false) }, then: { all, _ in all.removeValue(forKey: stream) })
        images.remove(stream: stream)
        guard var state else { return [] }
        var results = state.done
        if var open = state.open, pts > open.endPTS {
            open.endPTS = pts
            state.open = open
            results.append(.caption(open))
        }
        return results
    }

    // MARK: - Triggers

    private func shouldCaption(_ state: StreamState, at pts: Double) -> Bool {
        settings.shouldCaption(
            at: pts, firstPTS: state.firstPTS, lastTriggerPTS: state.lastTriggerPTS, lastCaptioned: state.lastCaptioned,
            window: state.frames.map(\.embedding))
    }

    // MARK: - Work

    /// Puts `job` in the stream's waiting slot while a caption is in progress (replacing, and counting, an older
    /// waiting one); else returns it, to be started now.
    private func enqueue(_ job: Job, into state: inout StreamState) -> Job? {
        guard !job.images.isEmpty else {
            logger.warning("no caption image for a frame at \(MediaTime.format(job.pts)); is the source tapped?")
            return nil
        }
        if state.busy {
            if state.pending != nil {
                counts.withLock { $0.coalesced += 1 }
                onCoalesce()
            }
            state.pending = job
            return nil
        }
        state.busy = true
        return job
    }

    /// Runs `first`, then the stream's waiting jobs one after another on the worker, then marks the stream idle.
    /// With `maxInFlight` > 1 each stream's run gets a serial queue of its own: those get their own threads, where
    /// a concurrent queue's blocked work (waiting for a slot or a server) would hold Dispatch's few global threads.
    private func schedule(_ first: Job, stream: String) {
        let queue = maxInFlight > 1 ? DispatchQueue(label: "vlm.caption.background.\(stream)") : worker
        queue.async { [self] in
            run(first, stream: stream)
            while let job = streams.update({ all -> Job? in
                let job = all[stream]?.pending
                all[stream]?.pending = nil
                if job == nil { all[stream]?.busy = false }
                return job
            }) {
                run(job, stream: stream)
            }
            streams.signal()
        }
    }

    /// Runs `job` once one of the `maxInFlight` slots is free.
    private func run(_ job: Job, stream: String) {
        running.wait(for: { $0 < maxInFlight }, then: { count, _ in count += 1 })
        defer { running.update { $0 -= 1 } }
        counts.withLock { $0.calls += 1 }
        var frames = job.images
        while frames.count < captioner.framesPerCaption, let first = frames.first { frames.insert(first, at: 0) }
        var text = ""
        do {
            text = try captioner.caption(frames).trimmingCharacters(in: .whitespacesAndNewlines)
        } catch {
            // One line per failed trigger: its questions would fail the same way, so they wait for the next one.
            counts.withLock { $0.failed += 1 }
            onFailure()
            logger.warning("no caption for \(stream) at \(MediaTime.format(job.pts)): \(error)")
            return
        }
        var answers: [(String, String)] = []
        for question in questions {
            do {
                let answer = try captioner.answer(question, images: frames)
                answers.append((question, answer.trimmingCharacters(in: .whitespacesAndNewlines)))
            } catch {
                logger.warning("no answer to \"\(question)\" for \(stream) at \(MediaTime.format(job.pts)): \(error)")
            }
        }
        streams.withLock { all in
            guard var state = all[stream] else { return }
            if !text.isEmpty {
                state.done += RollingCaptioner.merge(
                    text: text, score: 1, open: &state.open, stream: stream,
                    firstPTS: state.firstPTS ?? job.windowStart, windowStart: job.windowStart, pts: job.pts)
            }
            for (question, answer) in answers where state.answers[question] != answer {
                state.answers[question] = answer
                state.done.append(.answer(Answer(stream: stream, pts: job.pts, question: question, answer: answer)))
            }
            all[stream] = state
        }
    }
}

// MARK: - Standing questions

extension BackgroundCaptioner: QuestionControlling {
    public var activeQuestions: [String] { questions }

    /// Replaces the standing questions from the next caption trigger on; each must be one the captioner can take
    /// (`ImageCaptioner.check(question:)`), else nothing changes. A question asked again is reported afresh.
    public func setQuestions(_ questions: [String]) throws {
        for question in questions { try captioner.check(question: question) }
        questionList.withLock { $0 = questions }
        streams.withLock { all in
            for stream in Array(all.keys) {
                guard var state = all[stream] else { continue }
                state.answers = state.answers.filter { questions.contains($0.key) }
                all[stream] = state
            }
        }
    }
}

// MARK: - One-off questions

extension BackgroundCaptioner: LatestFrameAnswering {
    /// A stream that has no analysed frame yet (or has ended).
    public struct NoFrameYet: Error, CustomStringConvertible {
        public var stream: String
        public var description: String { "stream '\(stream)' has no frame to answer about yet" }
    }

    /// Answers from the stream's latest caption images, on the caption worker after the caption in progress, so
    /// the model runs one thing at a time.
    public func answerLatest(_ question: String, stream: String) throws -> (pts: Double, answer: String) {
        let n = captioner.framesPerCaption
        let latest: (pts: Double, images: [RGBImage])? = streams.withLock { all in
            guard let state = all[stream], let last = state.frames.last else { return nil }
            return (last.pts, images.latest(n, stream: stream, through: state.lastSequence))
        }
        guard let latest, let first = latest.images.first else { throw NoFrameYet(stream: stream) }
        var frames = latest.images
        while frames.count < n { frames.insert(first, at: 0) }
        let answer = try worker.sync { try captioner.answer(question, images: frames) }
        return (latest.pts, answer.trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
