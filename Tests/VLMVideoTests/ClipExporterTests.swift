import Foundation
import TestSupport
import Testing
import VLMCore

@testable import VLMVideo

@Suite("ClipExporter and FrameGrabber")
struct ClipExporterTests {
    @Test(
        "stream copy of 2.5–5.0 s starts at the keyframe before, keeps codecs, and ffprobe agrees",
        arguments: ["mp4", "mkv"])
    func export(ext: String) throws {
        let out = try Fixtures.temporaryDirectory("export").appendingPathComponent("clip.\(ext)")
        let result = try ClipExporter.export(input: megamind, from: 2.5, to: 5.0, output: out)
        // megamind's keyframes: 0, 2.002, 4.004, 6.006 ... so the copy starts at 2.002.
        #expect(abs(result.sourceStart - 2.002) < 0.01)
        // The cut follows decode order (like ffmpeg -c copy -to): up to a few reordered frames past 5.0 s.
        #expect(result.duration >= 5.0 - 2.002 && result.duration < 5.0 - 2.002 + 0.25)
        #expect(result.audioPackets > 100)
        #expect(try probeValue(out, "stream=codec_name", stream: "v:0") == "h264")
        #expect(try probeValue(out, "stream=codec_name", stream: "a:0") == "aac")
        let duration = try #require(Double(try probeValue(out, "format=duration")))
        #expect(abs(duration - result.duration) < 0.15)
        let frames = try probeFrames(out)
        #expect(frames.first?.key == true)
        #expect(abs(Double(frames.count) - result.duration * 23.976) <= 2)
        // Decodes with our own source too, from time 0.
        let first = try VideoSource(.file(out.path)).next()
        #expect(first?.frame.time.seconds == 0)
    }

    @Test("bad ranges and unknown containers are refused with clear errors")
    func badRequests() throws {
        let dir = try Fixtures.temporaryDirectory("export")
        #expect(throws: VideoError.self) {
            try ClipExporter.export(input: plaza, from: 3, to: 2, output: dir.appendingPathComponent("a.mp4"))
        }
        #expect {
            try ClipExporter.export(input: plaza, from: 0, to: 2, output: dir.appendingPathComponent("a.nosuchext"))
        } throws: { "\($0)".contains("unknown container") }
        #expect {
            try ClipExporter.export(input: plaza, from: 20, to: 30, output: dir.appendingPathComponent("b.mp4"))
        } throws: { "\($0)".contains("no video") }
    }

    @Test("the grabbed frame is the first one at or after the time; thumbnails are capped JPEGs")
    func grab() throws {
        let grabbed = try FrameGrabber.frame(input: plaza, at: 3.05, width: 320)
        #expect(abs(grabbed.seconds - 3.1) < 1e-6)
        #expect(grabbed.image.width == 320 && grabbed.image.height == 240)
        let last = try FrameGrabber.frame(input: plaza, at: 99)
        #expect(abs(last.seconds - 9.9) < 1e-6 && last.image.width == 768)
        let jpeg = try ClipExporter.thumbnail(input: megamind, at: 4.2, width: 320, maxBytes: 12_000)
        #expect(jpeg.count <= 12_000 && jpeg.prefix(2) == Data([0xFF, 0xD8]))
    }
}
