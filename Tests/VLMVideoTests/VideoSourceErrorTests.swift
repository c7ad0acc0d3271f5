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

    @Test("frames of more pixels than maxFramePixels: refused at open with one line, or later not decoded")
    func framesTooLarge() throws {
        let url = Fixtures.url("truncated.mp4")  // 320 × 240
        var options = VideoSourceOptions()
        options.maxFramePixels = 320 * 239
        #expect {
            _ = try VideoSource(.file(url.path), options: options)
        } throws: { error in
            "\(error)" == "cannot open video '\(url.path)': its frames are 320×240, more than the 76480 pixels a frame "
                + "may have"
        }
        options.maxFramePixels = 320 * 240
        #expect(try VideoSource(.file(url.path), options: options).next() != nil)
        // Found by the video-container fuzz target: a 10 KB mpeg4 stream of 32 × 24 whose second VOL header declares
        // 5388 × 6569. Refused by the decoder before it allocates that picture; the other frames come through.
        let hostile = Fixtures.root.appendingPathComponent("Fuzz/corpus/video-container/regression-mpeg4-vol-5388x6569")
        options.maxFramePixels = 512 * 512
        options.sampling = .every(1)
        options.imageSize = 32
        let source = try VideoSource(.file(hostile.path), options: options)
        var frames = 0
        while (try? source.next()) != nil { frames += 1 }
        #expect(frames > 0)
    }

    @Test("a container whose tables ask for more than FFmpeg may allocate in one block is refused at open")
    func hostileIndexSize() throws {
        // Found by the video-container fuzz target: a 2 KB fragmented MP4 whose `trun` declares 83,886,080 samples.
        // The MOV demuxer sized its index from that count (2.1 GB) and reached 2.7 GB resident before the source
        // failed at 0.25 s; under FFmpegRuntime.maxAllocation the allocation fails and the open is refused.
        let hostile = Fixtures.root.appendingPathComponent(
            "Fuzz/corpus/video-container/regression-mov-trun-84M-samples")
        #expect {
            _ = try VideoSource(.file(hostile.path), options: VideoSourceOptions())
        } throws: { error in
            "\(error)" == "cannot open video '\(hostile.path)': the container's index (the MP4 `moov` atom) is "
                + "damaged: FFmpeg could not read it (Cannot allocate memory); re-download or re-mux the file"
        }
    }

    @Test("a container whose duration times frame rate passes Int.max opens without a frame count, then is damaged")
    func frameCountOverflow() throws {
        // Found by the video-container fuzz target: a 2.8 KB MP4 stating 16.8 M fps and 305 M hours. Its estimated
        // frame count was Int(duration × fps), a trap.
        let hostile = Fixtures.root.appendingPathComponent(
            "Fuzz/corpus/video-container/regression-frame-count-overflow")
        let source = try VideoSource(.file(hostile.path))
        #expect(source.info.estimatedFrameCount == nil)
        #expect(throws: VideoError.self) { while try source.next() != nil {} }
    }

    @Test("pictures that need a larger plane than FFmpeg may allocate are refused at open, not decoded to nothing")
    func pictureLargerThanFFmpegMayAllocate() throws {
        // A 16 × 16 16-bit RGBA PNG (ffmpeg -pix_fmt rgba64be) whose IHDR was rewritten to 8192 × 8192 (CRC fixed):
        // 512 MiB a picture. Under the allocation cap its decoder failed and the source ended after 0 frames, silently.
        let url = Fixtures.url("images/header-8192x8192-rgba64.png")
        let refusal =
            "its 8192×8192 rgba64be pictures need 512.1 MiB each, more than the 256 MiB FFmpeg may allocate in one "
            + "block; convert it to a smaller size or fewer bytes per pixel"
        #expect {
            _ = try VideoSource(.file(url.path))
        } throws: { error in
            "\(error)" == "cannot open video '\(url.path)': \(refusal)"
        }
        #expect {
            _ = try ImageFile.decode(url)
        } throws: { error in
            "\(error)".hasSuffix(": \(refusal)") && !"\(error)".contains("cannot open video")
        }
    }

    /// Found by a review: `run truncated.jpg` encoded the grey the mjpeg decoder filled the missing half with.
    @Test("a truncated JPEG as a video input is refused as ImageFile refuses it; an intact one decodes")
    func truncatedPicture() throws {
        let url = Fixtures.url("truncated.jpg")
        let source = try VideoSource(.file(url.path))
        #expect {
            _ = try source.next()
        } throws: { error in
            "\(error)" == "cannot read image '\(url.path)': truncated or corrupt image data"
        }
        #expect(try VideoSource(.file(Fixtures.url("still.jpg").path)).next() != nil)
    }

    /// Found by a review: FFmpeg leaves an option it does not know in the dictionary, and nobody looked.
    @Test("an input option the demuxer does not know is refused by name; a known one is taken")
    func unknownInputOption() throws {
        let url = Fixtures.sampleVideo("plaza.mp4")
        var options = VideoSourceOptions()
        options.formatOptions = ["probesize": "5000000", "bogus_key": "1"]
        #expect {
            _ = try VideoSource(.file(url.path), options: options)
        } throws: { error in
            "\(error)" == "cannot open video '\(url.path)': FFmpeg's mov,mp4,m4a,3gp,3g2,mj2 input has no option "
                + "'bogus_key'; check --input-option (input_options)"
        }
        options.formatOptions = ["probesize": "5000000", "use_absolute_path": "1"]
        _ = try VideoSource(.file(url.path), options: options)
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
