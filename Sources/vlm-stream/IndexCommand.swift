import ArgumentParser
import Foundation
import Logging
import VLMCore
import VLMIndex
import VLMVideo

/// `vlm-stream index`: embeds sampled frames of video files into an SQLite index for `vlm-stream search`.
struct IndexCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "index",
        abstract: "Index video files (frame embeddings, optional captions) into an SQLite database for search.",
        discussion: """
            Each video is identified by its path and a checksum (SHA-256 of its size and first and last MiB; \
            --full-checksum hashes every byte). An unchanged video is skipped, a changed one replaced. Frames are \
            committed in chunks; a video becomes searchable only when complete. After an interruption (Ctrl-C, \
            kill) run the same command again: it resumes each video after its last stored frame.
            """
    )

    @Argument(help: "Video files to index.")
    var inputs: [String]

    @Option(help: "The index database (created if missing).")
    var db: String

    @Option(parsing: .unconditional, help: "Frames embedded per second of video, chosen by timestamp.")
    var fps: Double = 2

    @Flag(help: "Also store rolling captions (searchable output shows them).")
    var captions = false

    @Flag(help: "Checksum whole files instead of their size and first and last MiB.")
    var fullChecksum = false

    @Option(help: "Frames per committed chunk (at most this many are re-encoded after a kill).")
    var chunk: Int = 64

    @Option(help: "Frames decoded ahead on a separate thread while the encoder runs (0: decode inline).")
    var prefetch: Int = 16

    @OptionGroup var model: ModelOptions

    func validate() throws {
        guard fps > 0 else { throw ValidationError("--fps must be a positive number of frames per second.") }
        guard chunk >= 1 else { throw ValidationError("--chunk must be at least 1 frame.") }
        guard prefetch >= 0 else { throw ValidationError("--prefetch must be 0 or more frames.") }
        guard !inputs.isEmpty else { throw ValidationError("Name at least one video file to index.") }
    }

    func run() async throws {
        try await reportingErrors {
            let index = try VideoIndex(path: db, create: true)
            let encoder = try model.load()
            try index.requireModel(encoder.modelIdentity)
            let captioner = captions ? try rollingCaptioner(encoder: encoder) : nil
            let indexer = VideoIndexer(
                index: index, encoder: encoder, chunkFrames: chunk, logger: quietLogger("vlm.index"))
            let interruption = Interruption()
            var progress = ProgressBar()
            var failures = 0
            for input in inputs {
                let url = URL(fileURLWithPath: input).standardizedFileURL
                let name = url.lastPathComponent
                let started = ContinuousClock.now
                do {
                    let fingerprint = try VideoFingerprint(of: url, mode: fullChecksum ? .full : .ends)
                    let outcome = try indexer.index(
                        path: url.path, fingerprint: fingerprint, fps: fps, captioner: captioner,
                        open: {
                            let frames = try DecodedFrames(url: url, fps: fps, imageSize: encoder.imageSize) {
                                let clear = isatty(STDERR_FILENO) == 1 ? "\r\u{1B}[K" : ""
                                FileHandle.standardError.write(Data("\(clear)warning: \($0.description)\n".utf8))
                            }
                            return prefetch > 0 ? PrefetchingFrameSource(frames, depth: prefetch) : frames
                        },
                        isCancelled: { interruption.isRaised }, progress: { progress.update($0) })
                    progress.clear()
                    let seconds = String(format: "%.1f s", (ContinuousClock.now - started).seconds)
                    switch outcome {
                    case .skipped:
                        print("\(name): unchanged, skipped")
                    case .captioned(let count):
                        print("\(name): \(count) captions added from stored embeddings in \(seconds)")
                    case .indexed(let encoded, let stored, let resumedAfter, let replaced):
                        var notes: [String] = []
                        if let resumedAfter { notes.append("resumed after \(MediaTime.format(resumedAfter))") }
                        if replaced { notes.append("replaced the changed file's old entry") }
                        let suffix = notes.isEmpty ? "" : " (" + notes.joined(separator: ", ") + ")"
                        print("\(name): \(stored) frames indexed, \(encoded) encoded in \(seconds)\(suffix)")
                    case .interrupted(let stored):
                        let message =
                            "interrupted: \(name) has \(stored) frames committed; "
                            + "run the same command again to resume\n"
                        FileHandle.standardError.write(Data(message.utf8))
                        throw ExitCode(130)
                    }
                } catch let error as UserFacingError {
                    // A bad video is reported and skipped; a problem with the index itself stops the run.
                    progress.clear()
                    FileHandle.standardError.write(Data("error: \(error.description)\n".utf8))
                    failures += 1
                    if let indexError = error as? IndexError {
                        guard case .unreadableVideo = indexError else { throw ExitCode.failure }
                    }
                }
            }
            if failures > 0 { throw ExitCode.failure }
        }
    }
}

extension Duration {
    /// Seconds as a Double.
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}
