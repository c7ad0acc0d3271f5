import Foundation
import Logging
import TestSupport
import Testing
import VLMCore

@testable import VLMCaption

/// Runs a tool from PATH; returns exit status and combined output.
func runTool(_ name: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [name] + arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

@Suite struct SubtitleTests {
    let logger = Logger(label: "test.captions.subtitles")
    let captions = [
        Caption(stream: "cam", startPTS: 0, endPTS: 1.5, text: "A person walking", score: 0.3),
        Caption(stream: "cam", startPTS: 1.5, endPTS: 3723.25, text: "Two people <standing> & talking", score: 0.3),
        Caption(stream: "cam", startPTS: 3723.25, endPTS: 3723.25, text: "A car", score: 0.3),
    ]

    @Test func rendersSRTAndVTT() {
        let srt = SubtitleWriter.render(captions, format: .srt)
        #expect(
            srt == """
                1
                00:00:00,000 --> 00:00:01,500
                A person walking

                2
                00:00:01,500 --> 01:02:03,250
                Two people <standing> & talking

                3
                01:02:03,250 --> 01:02:04,250
                A car


                """)
        let vtt = SubtitleWriter.render(captions, format: .vtt)
        #expect(vtt.hasPrefix("WEBVTT\n\n1\n00:00:00.000 --> 00:00:01.500\nA person walking\n\n"))
        #expect(vtt.contains("Two people &lt;standing> &amp; talking"))
    }

    /// Number of subtitle packets ffprobe reads from `url`.
    func probeCues(_ url: URL) throws -> Int {
        let probe = try runTool(
            "ffprobe", ["-v", "error", "-show_entries", "packet=pts_time", "-of", "csv=p=0", url.path])
        #expect(probe.status == 0, "ffprobe: \(probe.output)")
        // Plain `-f null` has no subtitle encoder and refuses every subtitle input, so decode into ASS.
        let decode = try runTool(
            "ffmpeg", ["-v", "error", "-i", url.path, "-map", "0", "-c:s", "ass", "-f", "null", "-"])
        #expect(decode.status == 0, "ffmpeg: \(decode.output)")
        return probe.output.split(whereSeparator: \.isNewline).count
    }

    @Test(arguments: SubtitleFormat.allCases)
    func ffmpegReadsTheFileAtEveryStep(format: SubtitleFormat) throws {
        let directory = try Fixtures.temporaryDirectory("captions-subs")
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("out.\(format.rawValue)")
        let writer = try SubtitleWriter(url: url, format: format, logger: logger)
        // Updates (same start, later end) replace a cue rather than adding one.
        writer.consume(.caption(Caption(stream: "cam", startPTS: 0, endPTS: 1, text: "A person walking", score: 0.3)))
        writer.consume(.caption(captions[0]))
        writer.consume(.score(QueryScore(stream: "cam", pts: 1, query: "x", score: 0.5, cosine: 0.2)))
        writer.consume(.caption(captions[1]))
        // Interrupted here (no finish): the file on disk is already complete and valid.
        #expect(try probeCues(url) == 2)
        writer.consume(.caption(captions[2]))
        writer.finish()
        #expect(try probeCues(url) == 3)
        let text = try String(contentsOf: url, encoding: .utf8)
        #expect(text.components(separatedBy: " --> ").count == 4)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == [url.lastPathComponent])
    }

    @Test func severalStreamsArePrefixed() {
        let two = [captions[0], Caption(stream: "door", startPTS: 0.5, endPTS: 2, text: "A dog", score: 0.2)]
        let srt = SubtitleWriter.render(two, format: .srt)
        #expect(srt.contains("[cam] A person walking"))
        #expect(srt.contains("2\n00:00:00,500 --> 00:00:02,000\n[door] A dog"))
    }

    @Test func unwritablePathFailsAtStartup() {
        #expect {
            _ = try SubtitleWriter(
                url: URL(fileURLWithPath: "/nonexistent-dir/out.srt"), format: .srt, logger: logger)
        } throws: { error in
            (error as? CaptionError)?.description.contains("/nonexistent-dir/out.srt") == true
        }
    }
}
