import Foundation
import TestSupport
import Testing

/// `vlm-stream probe` on what users pipe in and on phone clips: a normal MP4 through `cat |` (index at the end,
/// spooled) and a faststart one, and a clip marked as rotated (reported in the summary line and the JSON).
@Suite("probe: stdin and rotation", .enabled(if: CLIRunner.executable != nil, "needs the built vlm-stream binary"))
struct ProbeCLITests {
    /// Runs `script` with `sh -c` in the repository root: `$BIN` is vlm-stream, `$DIR` a fresh temporary directory.
    static func shell(_ script: String, in dir: URL) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", script]
        process.currentDirectoryURL = Fixtures.root
        var environment = ProcessInfo.processInfo.environment
        environment["BIN"] = try #require(CLIRunner.executable).path
        environment["DIR"] = dir.path
        process.environment = environment
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        nonisolated(unsafe) var errData = Data()
        let reader = Thread { errData = err.fileHandleForReading.readDataToEndOfFile() }
        reader.start()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        while !reader.isFinished { usleep(1000) }
        return (
            process.terminationStatus, String(decoding: outData, as: UTF8.self),
            String(decoding: errData, as: UTF8.self)
        )
    }

    /// The JSON summary (last stdout line) as a dictionary.
    static func summary(_ stdout: String, _ stderr: String) throws -> [String: Any] {
        let line = try #require(stdout.split(separator: "\n").last, "no output; stderr: \(stderr)")
        return try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    }

    @Test("cat clip.mp4 | vlm-stream (probe) - works with the index at the end (spooled) and with +faststart")
    func mp4OnStdin() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        for flags in ["", "-movflags +faststart"] {
            let result = try Self.shell(
                """
                ffmpeg -nostdin -v error -y -i SampleVideos/plaza.mp4 -c copy \(flags) "$DIR/clip.mp4" &&
                cat "$DIR/clip.mp4" | "$BIN" probe - --every 10
                """, in: dir)
            #expect(result.status == 0, "\(flags): \(result.stderr)")
            #expect(!result.stderr.contains("damaged"), "\(flags): \(result.stderr)")
            let summary = try Self.summary(result.stdout, result.stderr)
            #expect(summary["decoded"] as? Int == 100 && summary["sampled"] as? Int == 10, "\(flags): \(summary)")
        }
        // The default command (run) reads the same spooled stdin.
        let run = try Self.shell(
            """
            ffmpeg -nostdin -v error -y -i SampleVideos/plaza.mp4 -c copy "$DIR/clip.mp4" &&
            cat "$DIR/clip.mp4" | "$BIN" - --query "a person" --fps 2 --json --model Tests/Fixtures/tiny-clip
            """, in: dir)
        #expect(run.status == 0, "\(run.stderr)")
        let summary = try Self.summary(run.stdout, run.stderr)
        #expect(summary["frames_decoded"] as? Int == 100 && summary["frames_sampled"] as? Int == 20, "\(summary)")
    }

    @Test("--stdin-spool-limit-mb: a piped MP4 larger than the limit gets one line saying what to do")
    func spoolLimit() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        // About 3 MB with its index at the end: over a 1 MiB limit, under the default.
        let result = try Self.shell(
            """
            ffmpeg -nostdin -v error -y -i SampleVideos/plaza.mp4 -t 3 -c:v libx264 -b:v 8M -preset ultrafast \
                "$DIR/big.mp4" &&
            cat "$DIR/big.mp4" 2>/dev/null | "$BIN" - --query x --stdin-spool-limit-mb 1 --model Tests/Fixtures/tiny-clip
            """, in: dir)
        #expect(result.status != 0)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1 && lines[0].hasPrefix("error: ") && result.stderr.contains("faststart"), "\(result)")
        #expect(result.stderr.contains("over the 1 MiB spool limit"), "\(result.stderr)")
        let fits = try Self.shell(
            """
            cat "$DIR/big.mp4" | "$BIN" probe - --every 10 --stdin-spool-limit-mb 8
            """, in: dir)
        #expect(fits.status == 0, "\(fits.stderr)")
    }

    @Test("probe reports a clip's rotation: displayed size and orientation, in the summary line and the JSON")
    func rotation() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let result = try Self.shell(
            """
            ffmpeg -nostdin -v error -y -i SampleVideos/plaza.mp4 -c copy -metadata:s:v rotate=90 "$DIR/r.mp4" &&
            "$BIN" probe "$DIR/r.mp4" --every 50
            """, in: dir)
        #expect(result.status == 0, "\(result.stderr)")
        let summary = try Self.summary(result.stdout, result.stderr)
        // Stored 768×576; shown upright as 576×768, turned a quarter (ffmpeg's own autorotation agrees).
        #expect(summary["width"] as? Int == 576 && summary["height"] as? Int == 768, "\(summary)")
        let rotation = try #require(summary["rotation"] as? Int)
        #expect(rotation == 90 || rotation == 270)
        #expect(summary["mirrored"] as? Bool == false)
        #expect(result.stderr.contains("576x768 (rotated \(rotation)° clockwise)"), "\(result.stderr)")
        let plain = try CLIRunner.run(["probe", "SampleVideos/plaza.mp4", "--every", "50"])
        let plainSummary = try Self.summary(plain.stdout, plain.stderr)
        #expect(plainSummary["rotation"] as? Int == 0 && plainSummary["width"] as? Int == 768)
    }
}
