import Foundation
import TestSupport
import Testing
import VLMCore

@testable import VLMVideo

@Suite("JPEGEncoder")
struct JPEGEncoderTests {
    @Test("a frame preview encodes to a JPEG that decodes back to the same picture")
    func roundTrip() throws {
        var options = VideoSourceOptions()
        options.previewWidth = 320
        let source = try VideoSource(.file(plaza.path), options: options)
        let preview = try #require(try source.next()?.preview)
        let data = try JPEGEncoder.encode(preview)
        #expect(data.prefix(2) == Data([0xFF, 0xD8]) && data.suffix(2) == Data([0xFF, 0xD9]))
        let url = try Fixtures.temporaryDirectory("jpeg").appendingPathComponent("preview.jpg")
        try data.write(to: url)
        let decoded = try ImageFile.decode(url)
        #expect(decoded.width == preview.width && decoded.height == preview.height)
        var total = 0
        for (a, b) in zip(decoded.pixels, preview.pixels) { total += abs(Int(a) - Int(b)) }
        #expect(Double(total) / Double(preview.pixels.count) < 6)
    }

    @Test("the size cap holds: quality drops, then the picture shrinks", arguments: [40_000, 8_000, 2_500])
    func sizeCap(maxBytes: Int) throws {
        let image = try ImageFile.decode(Fixtures.url("still.png"))
        let big = try JPEGEncoder.resize(image, width: 640, height: 426)
        let unlimited = try JPEGEncoder.encode(big)
        let capped = try JPEGEncoder.encode(big, maxBytes: maxBytes)
        #expect(capped.count <= maxBytes)
        #expect(unlimited.count > 8_000)
    }

    @Test("an impossible cap is a clear error")
    func impossibleCap() throws {
        let image = try ImageFile.decode(Fixtures.url("still.png"))
        #expect(throws: VideoError.self) { try JPEGEncoder.encode(image, maxBytes: 10) }
    }
}
