import ArgumentParser
import CLIP
import Foundation
import Logging

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `vlm-stream models list|pull`: the CLIP checkpoints in the local Hugging Face cache.
struct ModelsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models",
        abstract: "List or download CLIP models in the Hugging Face cache.",
        subcommands: [List.self, Pull.self]
    )

    /// `models list`.
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show cached CLIP models: name, revision, size, and whether every file is there.")

        func run() async throws {
            let cache = HubCache()
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

        func validate() throws {
            guard HubCache.isRepositoryName(name) else {
                throw ValidationError("\(name) is not a hub repository name; use the form org/name")
            }
        }

        func run() async throws {
            try await reportingErrors {
                let bar = ProgressLine(enabled: isatty(STDERR_FILENO) == 1)
                var logger = Logger(label: "vlm.hub")
                logger.logLevel = .warning  // the progress bar and the final line say it all
                // The tokenizer files depend on the family (config.json), so each is fetched if the repository
                // has it, and the snapshot is checked afterwards.
                let snapshot = try await HubDownloader(logger: logger).pull(
                    name, revision: revision, files: HubCache.siglipRequiredFiles,
                    optionalFiles: HubCache.tokenizerFiles + ["tokenizer.json", "tokenizer_config.json"],
                    progress: { bar.update($0) })
                bar.finish()
                let missing = HubCache.missingFiles(in: snapshot)
                guard missing.isEmpty else {
                    throw CLIPLoadError(
                        file: snapshot.path,
                        "\(name) (\(revision)) has no \(missing.joined(separator: ", ")); it is not a CLIP or SigLIP "
                            + "checkpoint in Hugging Face format")
                }
                print("\(name) (\(revision)) → \(snapshot.path)")
            }
        }
    }
}

/// A one-line download progress bar on standard error, redrawn at most every 100 ms (TTY only).
final class ProgressLine: @unchecked Sendable {
    // @unchecked: `last` and `file` are only touched under `lock`.
    private let lock = NSLock()
    private let enabled: Bool
    private var last = Date.distantPast
    private var file = ""

    init(enabled: Bool) { self.enabled = enabled }

    func update(_ p: HubDownloader.Progress) {
        guard enabled else { return }
        lock.withLock {
            let done = p.total.map { p.received >= $0 } ?? false
            guard p.file != file || done || Date().timeIntervalSince(last) > 0.1 else { return }
            if p.file != file && !file.isEmpty { FileHandle.standardError.write(Data("\n".utf8)) }
            file = p.file
            last = Date()
            let unit = (p.total ?? p.received) >= 1_000_000 ? (1e6, "MB") : (1e3, "kB")
            let amount = { (b: Int64) in String(format: "%.1f", Double(b) / unit.0) }
            var line = "\r\(p.file.padding(toLength: 24, withPad: " ", startingAt: 0)) "
            if let total = p.total, total > 0 {
                let fraction = min(1, Double(p.received) / Double(total))
                let filled = Int(fraction * 30)
                line += "[" + String(repeating: "#", count: filled) + String(repeating: " ", count: 30 - filled) + "] "
                line += "\(amount(p.received))/\(amount(total)) \(unit.1)"
            } else {
                line += "\(amount(p.received)) \(unit.1)"
            }
            if p.cached { line += " (cached)" }
            FileHandle.standardError.write(Data(line.utf8))
        }
    }

    func finish() {
        guard enabled else { return }
        lock.withLock { if !file.isEmpty { FileHandle.standardError.write(Data("\n".utf8)) } }
    }
}
