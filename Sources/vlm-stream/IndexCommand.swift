import ArgumentParser
import Foundation
import Logging
import VLMCaption
import VLMCore
import VLMIndex
import VLMPipeline
import VLMVideo

/// `vlm-stream index`: embeds sampled frames of video files into an SQLite index for `vlm-stream search`.
struct IndexCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "index",
        abstract:
            "Index video files (frame embeddings, optional captions) into an SQLite or PostgreSQL index for search.",
        discussion: """
            Each video is identified by its path and a checksum (SHA-256 of its size and first and last MiB; \
            --full-checksum hashes every byte). An unchanged video is skipped, a changed one replaced. Frames are \
            committed in chunks; a video becomes searchable only when complete. After an interruption (Ctrl-C, \
            kill) run the same command again: it resumes each video after its last stored frame. \
            --captions stores rolling captions; --caption-model (a GIT checkpoint) or --caption-endpoint (a remote \
            vision-language model) writes them from the decoded frames. A video captioned before by another \
            captioner (or by none) is captioned again without encoding its frames again.
            """
    )

    @Argument(help: "Video files to index.")
    var inputs: [String]

    @Option(help: "The index: an SQLite file (created if missing) or postgres://user:password@host:port/db?sslmode=….")
    var db: String

    @Flag(help: "Add the inputs as jobs for `vlm-stream worker`s (PostgreSQL --db only) and return at once.")
    var enqueue = false

    @Option(parsing: .unconditional, help: "Frames embedded per second of video, chosen by timestamp.")
    var fps: Double = 2

    @Flag(help: "Also store rolling captions (search shows them and matches --text against them).")
    var captions = false

    @OptionGroup var captionOptions: CaptionRunOptions

    @Flag(help: "Checksum whole files instead of their size and first and last MiB.")
    var fullChecksum = false

    @Option(help: "Frames per committed chunk (at most this many are re-encoded after a kill).")
    var chunk: Int = 64

    @Option(help: "Frames the decode thread may run ahead of the encoder (0 or 1: one frame).")
    var prefetch: Int = 16

    @OptionGroup var model: ModelOptions

    func validate() throws {
        if let problem = spec.problem { throw ValidationError("\(problem).") }
        guard !inputs.isEmpty else { throw ValidationError("Name at least one video file to index.") }
        _ = try captionOptions.indexCaptions(captions)
    }

    /// The flags as an `IndexSpec`.
    var spec: IndexSpec {
        IndexSpec(
            database: db, fps: fps,
            captions: try? captionOptions.indexCaptions(captions),
            checksum: fullChecksum ? .full : .ends, chunkFrames: chunk, decodeAhead: prefetch)
    }

    /// The path a video is indexed under: absolute, with symlinks resolved, so a file named through a link or
    /// twice is one video in the index, not two.
    static func indexedPath(_ input: String) -> URL { URL(fileURLWithPath: input).resolvingSymlinksInPath() }

    /// `urls` without repeats, in their first order.
    static func unique(_ urls: [URL]) -> [URL] {
        var seen: Set<String> = []
        return urls.filter { seen.insert($0.path).inserted }
    }

    func run() async throws {
        try await reportingErrors {
            if enqueue {
                // Paths become absolute (every worker must read them at the same path); URLs stay as given. Symlinks
                // stay too: a link here (/data → /mnt/disk1) may be a mount point on the workers.
                let jobs = inputs.map { $0.contains("://") ? $0 : URL(fileURLWithPath: $0).standardizedFileURL.path }
                let queued = try JobQueue(url: db).enqueue(jobs)
                print("\(queued) of \(jobs.count) inputs queued (running ones are left as they are)")
                return
            }
            let pipeline = try IndexPipeline(spec: spec, model: try model.load(), logger: quietLogger("vlm.index"))
            let bar = ProgressBar()
            let terminal = IndexTerminal(
                bar: bar,
                captionedFrom: spec.captions?.usesImageCaptioner == true
                    ? "by the caption model from the decoded frames" : "from stored embeddings")
            let service = IndexService(
                pipeline: pipeline, inputs: Self.unique(inputs.map(Self.indexedPath)),
                report: { terminal.report($0) },
                onDamage: { error in
                    bar.clear()
                    FileHandle.standardError.write(Data("warning: \(error.description)\n".utf8))
                },
                onProgress: { terminal.progress($0) })
            try await service.runWithSignals(logger: quietLogger("vlm.lifecycle"))
            bar.clear()
            if let status = terminal.exitStatus { throw ExitCode(status) }
        }
    }
}

/// What `index` prints per video, and the exit status the run ends with: 130 after an interruption, 1 when a
/// video failed or the index could not be written.
final class IndexTerminal: Sendable {
    private struct State {
        var failures = 0
        var interrupted = false
        var video = ""
        var progress: FrameProgress?
    }

    private let bar: ProgressBar
    private let captionedFrom: String
    private let state = Locked(State())

    /// `captionedFrom` says where added captions came from ("from stored embeddings").
    init(bar: ProgressBar, captionedFrom: String = "from stored embeddings") {
        self.bar = bar
        self.captionedFrom = captionedFrom
    }

    /// One line per video on stdout (errors and the interruption on stderr); false stops the run.
    func report(_ report: IndexService.Report) -> Bool {
        bar.clear()
        state.withLock { $0.progress = nil }
        let name = report.url.lastPathComponent
        let seconds = String(format: "%.1f s", report.seconds)
        switch report.result {
        case .success(.skipped):
            print("\(name): unchanged, skipped")
        case .success(.captioned(let count)):
            print("\(name): \(count) captions added \(captionedFrom) in \(seconds)")
        case .success(.indexed(let encoded, let stored, let resumedAfter, let replaced)):
            var notes: [String] = []
            if let resumedAfter { notes.append("resumed after \(MediaTime.format(resumedAfter))") }
            if replaced { notes.append("replaced the changed file's old entry") }
            let suffix = notes.isEmpty ? "" : " (" + notes.joined(separator: ", ") + ")"
            print("\(name): \(stored) frames indexed, \(encoded) encoded in \(seconds)\(suffix)")
        case .success(.partial(let encoded, let stored, let reason)):
            print("\(name): \(stored) frames indexed, \(encoded) encoded in \(seconds) (partial)")
            let message =
                "warning: \(name) was indexed only partially: \(reason); the frames that decoded are searchable\n"
            FileHandle.standardError.write(Data(message.utf8))
            state.withLock { $0.failures += 1 }
        case .success(.interrupted(let stored)):
            let message =
                "interrupted: \(name) has \(stored) frames committed; run the same command again to resume\n"
            FileHandle.standardError.write(Data(message.utf8))
            state.withLock { $0.interrupted = true }
            return false
        case .failure(let error):
            // A bad video is reported and skipped; a problem with the index itself stops the run.
            let description = (error as? UserFacingError)?.description ?? "\(error)"
            FileHandle.standardError.write(Data("error: \(description)\n".utf8))
            state.withLock { $0.failures += 1 }
            guard error is UserFacingError else { return false }
            if let indexError = error as? IndexError, case .unreadableVideo = indexError { return true }
            return !(error is IndexError)
        }
        return true
    }

    /// Draws the current video's progress.
    func progress(_ progress: IndexProgress) {
        let meter = state.withLock { s -> FrameProgress in
            if let meter = s.progress, s.video == progress.video { return meter }
            let meter = FrameProgress(
                bar: bar, label: URL(fileURLWithPath: progress.video).lastPathComponent, duration: progress.duration)
            s.video = progress.video
            s.progress = meter
            return meter
        }
        meter.advance(to: progress.pts, frames: progress.encoded)
    }

    /// 130 after an interruption, 1 after a failure, nil for success.
    var exitStatus: Int32? {
        state.withLock { s in s.interrupted ? 130 : s.failures > 0 ? 1 : nil }
    }
}

/// A logger for library chatter that the terminal should only see when something is wrong.
func quietLogger(_ label: String) -> Logger {
    var logger = Logger(label: label)
    logger.logLevel = .warning
    return logger
}

extension CaptionRunOptions {
    /// The captions `index` and `worker` store: nil without `--captions`, `--caption-model` or
    /// `--caption-endpoint`; other caption options need one of those; `--ask` is refused (an index keeps no answers).
    func indexCaptions(_ captions: Bool) throws -> CaptionOptions? {
        if !ask.isEmpty {
            throw ValidationError("--ask: an index stores captions, not answers; leave it out (use `run --ask`).")
        }
        let implied = captionModel != nil || captionEndpoint != nil
        if !given.isEmpty && !captions && !implied {
            throw ValidationError(
                "\(given.joined(separator: ", ")) set\(given.count == 1 ? "s" : "") caption options, but captions are "
                    + "off; add --captions")
        }
        do {
            try checkEndpointSettings(over: nil)
        } catch let error as UserFacingError {
            throw ValidationError(error.description)
        }
        return captions || implied ? options() : nil
    }
}
