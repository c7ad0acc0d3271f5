import Foundation
import TestSupport
import Testing
import VLMCore

@testable import VLMVideo

/// Inputs made on the fly with the ffmpeg CLI from the sample clips: variable frame rate, other containers.
@Suite("Generated inputs")
struct GeneratedInputTests {
    private func times(_ url: URL, _ sampling: SamplingPolicy) throws -> [Double] {
        var options = VideoSourceOptions()
        options.sampling = sampling
        options.imageSize = 16
        let source = try VideoSource(.file(url.path), options: options)
        var times: [Double] = []
        while let frame = try source.next() { times.append(frame.frame.time.seconds) }
        return times
    }

    @Test("variable frame rate: times are the container's, and --fps samples by time")
    func variableFrameRate() throws {
        let url = try Fixtures.temporaryDirectory("vfr").appendingPathComponent("vfr.mkv")
        // 30 frames 20 ms apart, then 20 frames 250 ms apart: 0.58 s of burst, then 5 s of slow frames.
        try ffmpeg([
            "-i", plaza.path, "-frames:v", "50", "-vf", "setpts='if(lt(N,30),N*0.02,0.6+(N-30)*0.25)/TB'",
            "-fps_mode", "passthrough", "-c:v", "libx264", "-preset", "ultrafast", url.path,
        ])
        let probed = try probeFrames(url).map(\.time)
        #expect(probed.count == 50)
        let all = try times(url, .every(1))
        #expect(all.count == 50)
        for (ours, theirs) in zip(all, probed) { #expect(abs(ours - theirs) < 1e-3) }
        let sampled = try times(url, .fps(2))
        // One per half-second slot that has a frame: 0 and 0.5 from the burst, then the first of the slow frames
        // (0.6 + 0.25 k) in each slot from 1.0 to 5.0: 11 in all, against 50 decoded frames.
        let expected = probed.reduce(into: [Double]()) { picked, t in
            if picked.last.map({ Int(($0 + 1e-3) * 2) < Int((t + 1e-3) * 2) }) ?? true { picked.append(t) }
        }
        #expect(sampled.count == expected.count)
        for (ours, theirs) in zip(sampled, expected) { #expect(abs(ours - theirs) < 1e-3) }
        #expect(sampled.count == 11)
    }

    @Test("a truncated Matroska file (duration in its header) is reported after its good frames")
    func truncatedMatroska() throws {
        let dir = try Fixtures.temporaryDirectory("mkv")
        let whole = dir.appendingPathComponent("whole.mkv")
        try ffmpeg(["-i", plaza.path, "-c", "copy", whole.path])
        let data = try Data(contentsOf: whole)
        let half = dir.appendingPathComponent("half.mkv")
        try data.prefix(data.count / 2).write(to: half)
        #expect(try times(whole, .every(1)).count == 100)
        var options = VideoSourceOptions()
        options.sampling = .every(1)
        options.imageSize = 16
        let source = try VideoSource(.file(half.path), options: options)
        var delivered = 0
        #expect {
            while try source.next() != nil { delivered += 1 }
        } throws: { error in
            "\(error)".contains("container says 00:10.000")
        }
        #expect(delivered > 20 && delivered < 80)
    }
}
