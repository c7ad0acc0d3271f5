import Foundation
import VLMCore

/// Runs the built `vlm-stream` executable as a subprocess (for CLI tests).
///
/// The binary is looked up next to the running test bundle (`.build/<config>/`), then in `.build/debug` and
/// `.build/release` under the repository root. `swift build` (or `swift build --build-tests`) must have built it.
public enum CLIRunner {
    /// Exit status and captured output of one run.
    public struct Result: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String

        /// Non-empty stdout lines.
        public var lines: [String] { stdout.split(separator: "\n").map(String.init) }
    }

    /// The executable, or nil when it has not been built.
    public static let executable: URL? = {
        let fm = FileManager.default
        var candidates: [URL] = []
        let argv0 = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var dir = argv0.deletingLastPathComponent()
        for _ in 0..<4 {
            candidates.append(dir.appendingPathComponent("vlm-stream"))
            dir = dir.deletingLastPathComponent()
        }
        for config in ["debug", "release"] {
            candidates.append(Fixtures.root.appendingPathComponent(".build/\(config)/vlm-stream"))
        }
        return candidates.first { fm.isExecutableFile(atPath: $0.path) }
    }()

    /// Runs `vlm-stream arguments...` in the repository root with `environment` added, waiting at most `timeout`
    /// seconds (then it is terminated and the status is non-zero).
    public static func run(
        _ arguments: [String], environment: [String: String] = [:], stdin: Data? = nil, timeout: TimeInterval = 120
    ) throws -> Result {
        guard let executable else {
            throw CocoaError(
                .fileNoSuchFile, userInfo: [NSLocalizedDescriptionKey: "vlm-stream is not built; run swift build"])
        }
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.currentDirectoryURL = Fixtures.root
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let out = Pipe()
        let err = Pipe()
        let input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(stdin) }
        try? input.fileHandleForWriting.close()
        // Drain both pipes concurrently so a chatty child cannot block on a full pipe.
        let group = DispatchGroup()
        let outData = Locked(Data())
        let errData = Locked(Data())
        group.enter()
        DispatchQueue.global().async {
            let data = out.fileHandleForReading.readDataToEndOfFile()
            outData.withLock { $0 = data }
            group.leave()
        }
        group.enter()
        DispatchQueue.global().async {
            let data = err.fileHandleForReading.readDataToEndOfFile()
            errData.withLock { $0 = data }
            group.leave()
        }
        if group.wait(timeout: .now() + timeout) == .timedOut {
            process.terminate()
            group.wait()
        }
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus, stdout: String(decoding: outData.current, as: UTF8.self),
            stderr: String(decoding: errData.current, as: UTF8.self))
    }
}
