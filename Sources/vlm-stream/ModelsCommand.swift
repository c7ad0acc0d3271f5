import ArgumentParser
import CLIP
import Foundation
import GIT
import Logging
import VLMCore
import VLMPipeline

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `vlm-stream models list|pull|quantize`: the CLIP checkpoints in the local Hugging Face cache, and int8 copies.
struct ModelsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models",
        abstract: "List or download CLIP models in the Hugging Face cache, or quantize one to int8.",
        subcommands: [List.self, Pull.self, Quantize.self]
    )

    /// `models list`.
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show cached CLIP models: name, revision, size, and whether every file is there.")

        func run() async throws {
            let cache = HubCache()
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: cache.root.path, isDirectory: &isDirectory),
                !isDirectory.boolValue
            {
                throw OptionError(
                    "the Hugging Face cache \(cache.root.path) is a file, not a directory: check HF_HUB_CACHE and HF_HOME"
                )
            }
            let models = cache.cachedModels()
            guard !models.isEmpty else {
                print("no CLIP models in \(cache.root.path); run `vlm-stream models pull \(HubCache.defaultModel)`")
                return
            }
            let width = max(4, models.map(\.name.count).max() ?? 0)
            print("NAME".padding(toLength: width, withPad: " ", startingAt: 0) + "  REVISION    SIZE       STATUS")
            for m in models {
                let revision = m.revision.count > 10 ? String(m.revision.prefix(10)) : m.revision
                let status = m.isComplete ? "complete" : "missing " + m.missing.joined(separator: ", ")
                print(
                    m.name.padding(toLength: width, withPad: " ", startingAt: 0) + "  "
                        + revision.padding(toLength: 10, withPad: " ", startingAt: 0) + "  "
                        + Self.size(m.size).padding(toLength: 9, withPad: " ", startingAt: 0) + "  " + status)
            }
        }

        static func size(_ bytes: Int64) -> String {
            bytes >= 1 << 30
                ? String(format: "%.1f GB", Double(bytes) / 1e9)
                : bytes >= 1 << 20
                    ? String(format: "%.1f MB", Double(bytes) / 1e6)
                    : String(format: "%.1f kB", Double(bytes) / 1e3)
        }
    }

    /// `models pull NAME [--revision REV]`.
    struct Pull: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Download a CLIP model from the Hugging Face hub into the local cache (resumable).",
            discussion: "Honours HF_ENDPOINT, HF_TOKEN, HF_HUB_CACHE and HF_HOME.")

        @Argument(help: "Hub repository, e.g. openai/clip-vit-base-patch32.")
        var name: String = HubCache.defaultModel

        @Option(help: "Branch, tag or commit.")
        var revision: String = "main"

        @Flag(
            help: ArgumentHelp(
                "A GIT checkpoint (microsoft/git-base-coco and the like): vocab.txt and model.safetensors, or "
                    + "pytorch_model.bin where the repository has no safetensors."))
        var git = false

        func validate() throws {
            guard HubCache.isRepositoryName(name) else {
                throw ValidationError("\(name) is not a hub repository name; use the form org/name")
            }
        }

        func run() async throws {
            try await reportingErrors {
                let bar = DownloadProgress(bar: ProgressBar())
                var logger = Logger(label: "vlm.hub")
                logger.logLevel = .warning  // the progress bar and the final line say it all
                let downloader = HubDownloader(logger: logger)
                var snapshot: URL
                if git {
                    snapshot = try await downloader.pull(
                        name, revision: revision, files: ["config.json", "vocab.txt", "preprocessor_config.json"],
                        optionalFiles: ["model.safetensors", "generation_config.json", "tokenizer_config.json"],
                        progress: { bar.update($0) })
                    if !FileManager.default.fileExists(
                        atPath: snapshot.appendingPathComponent("model.safetensors").path)
                    {
                        snapshot = try await downloader.pull(
                            name, revision: revision, files: ["pytorch_model.bin"], progress: { bar.update($0) })
                    }
                } else {
                    // The tokenizer files depend on the family (config.json), so each is fetched if the repository
                    // has it, and the snapshot is checked afterwards.
                    snapshot = try await downloader.pull(
                        name, revision: revision, files: HubCache.siglipRequiredFiles,
                        optionalFiles: HubCache.tokenizerFiles + ["tokenizer.json", "tokenizer_config.json"],
                        progress: { bar.update($0) })
                }
                bar.finish()
                let missing =
                    git
                    ? HubCache.missingFiles(in: snapshot, requiredFiles: GITCheckpoint.requiredFiles)
                    : HubCache.missingFiles(in: snapshot)
                guard missing.isEmpty else {
                    throw CLIPLoadError(
                        file: snapshot.path,
                        "\(name) (\(revision)) has no \(missing.joined(separator: ", ")); it is not a "
                            + (git ? "GIT" : "CLIP or SigLIP") + " checkpoint in Hugging Face format")
                }
                print("\(name) (\(revision)) → \(snapshot.path)")
            }
        }
    }
}

/// A download's progress on the terminal's progress bar: one line per file, kept when the next file starts.
final class DownloadProgress: Sendable {
    private let bar: ProgressBar
    private let file = Locked("")

    init(bar: ProgressBar) { self.bar = bar }

    func update(_ p: HubDownloader.Progress) {
        guard bar.isEnabled else { return }
        let done = p.total.map { p.received >= $0 } ?? false
        let isNewFile = file.withLock { name -> Bool in
            defer { name = p.file }
            return name != p.file
        }
        if isNewFile { bar.keepLine() }
        let unit = (p.total ?? p.received) >= 1_000_000 ? (1e6, "MB") : (1e3, "kB")
        let amount = { (b: Int64) in String(format: "%.1f", Double(b) / unit.0) }
        var detail =
            p.total.map { "\(amount(p.received))/\(amount($0)) \(unit.1)" } ?? "\(amount(p.received)) \(unit.1)"
        if p.cached { detail += " (cached)" }
        let fraction = p.total.flatMap { $0 > 0 ? Double(p.received) / Double($0) : nil }
        bar.update(
            label: p.file.padding(toLength: 24, withPad: " ", startingAt: 0), fraction: fraction, detail: detail,
            force: isNewFile || done)
    }

    func finish() {
        bar.keepLine()
    }
}
