import Foundation
import TestSupport
import Testing
import VLMCore

@testable import VLMVideo

@Suite("VideoSource errors")
struct VideoSourceErrorTests {
    @Test("a missing file is one line naming the file and the problem")
    func missingFile() {
        #expect {
            _ = try VideoSource(.file("/nonexistent/clip.mp4"))
        } throws: { error in
            "\(error)" == "cannot open video '/nonexistent/clip.mp4': no such file; check the path"
        }
    }

    @Test("a file that is not a video is refused at open")
    func notAVideo() {
        let url = Fixtures.url("not_a_video.mp4")
        #expect {
            _ = try VideoSource(.file(url.path))
        } throws: { error in
            let text = "\(error)"
            return text.hasPrefix("cannot open video '\(url.path)'") && !text.contains("\n")
        }
    }

    @Test("a truncated file delivers the frames before the damage, then throws")
    func truncatedFile() throws {
        let url = Fixtures.url("truncated.mp4")
        var options = VideoSourceOptions()
        options.sampling = .every(1)
        options.imageSize = 32
        let source = try VideoSource(.file(url.path), options: options)
        var times: [Double] = []
        var failure: VideoError?
        do {
            while let frame = try source.next() { times.append(frame.frame.time.seconds) }
        } catch {
            failure = error
        }
        #expect(times.count >= 15 && times.count < 40)
        #expect(times == times.sorted())
        let error = try #require(failure)
        guard case .damaged(let input, let seconds, _) = error else {
            Issue.record("expected .damaged, got \(error)")
            return
        }
        #expect(input == url.path)
        #expect(seconds >= times.last! && seconds < 4)
        #expect("\(error)".contains("frames before that point were processed"))
        // The source stays ended.
        #expect(try source.next() == nil)
    }
}
