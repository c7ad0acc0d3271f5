import Foundation
import TestSupport
import Testing
import VLMCore

@testable import VLMVideo

@Suite("ImageFile")
struct ImageFileTests {
    /// The reference decode: ffmpeg's CLI to raw rgb24.
    private func reference(_ url: URL) throws -> [UInt8] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["ffmpeg", "-v", "error", "-i", url.path, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return [UInt8](data)
    }

    @Test("PNG decodes losslessly to its own size", arguments: ["still.png"])
    func png(name: String) throws {
        let image = try ImageFile.decode(Fixtures.url(name))
        #expect(image.width == 96 && image.height == 64)
        #expect(image.pixels == (try reference(Fixtures.url(name))))
    }

    @Test("JPEG decodes to RGB close to ffmpeg's own conversion")
    func jpeg() throws {
        let url = Fixtures.url("still.jpg")
        let image = try ImageFile.decode(url)
        #expect(image.width == 120 && image.height == 80)
        let expected = try reference(url)
        #expect(expected.count == image.pixels.count)
        var total = 0
        for (a, b) in zip(image.pixels, expected) { total += abs(Int(a) - Int(b)) }
        // Bicubic vs bilinear chroma upsampling differ by a couple of levels at most on average.
        #expect(Double(total) / Double(expected.count) < 3)
    }

    @Test("missing, truncated and non-image files give one-line errors naming the file")
    func badFiles() {
        for (name, fragment) in [
            ("missing.jpg", "no such file"), ("truncated.jpg", "truncated or corrupt"),
            ("not_a_video.mp4", "not a JPEG, PNG"),
        ] {
            let url = Fixtures.url(name)
            #expect {
                _ = try ImageFile.decode(url)
            } throws: { error in
                let text = "\(error)"
                return text.hasPrefix("cannot read image '\(url.path)'") && text.contains(fragment)
                    && !text.contains("\n")
            }
        }
    }
}
