import Foundation
import TestSupport
import Testing
import VLMCore

@testable import VLMVideo

/// Pictures held in memory (MQTT image queries) and the pixel bound checked before decoding.
@Suite("ImageFile from bytes")
struct ImageBytesTests {
    @Test("bytes decode to the same pixels as the file; errors name the given name, not the temporary file")
    func bytesMatchTheFile() throws {
        let url = Fixtures.url("still.jpg")
        let fromFile = try ImageFile.decode(url)
        let fromBytes = try ImageFile.decode(bytes: [UInt8](try Data(contentsOf: url)), name: "images[0]")
        #expect(fromBytes == fromFile)
        let truncated = [UInt8](try Data(contentsOf: Fixtures.url("truncated.jpg")))
        #expect {
            _ = try ImageFile.decode(bytes: truncated, name: "images[1]")
        } throws: { error in
            "\(error)".hasPrefix("cannot read image 'images[1]'") && !"\(error)".contains("vlm-image-")
        }
        #expect(throws: VideoError.self) { _ = try ImageFile.decode(bytes: Array("not a picture".utf8), name: "x") }
    }

    /// Found by a review of the web page's upload: FFmpeg probed an upload itself, read a playlist sent as
    /// `image/jpeg` as HLS, and opened the local video it listed.
    @Test("a playlist or a video sent as a picture is refused by its signature; no file it names is opened")
    func onlyPictureFormats() throws {
        let video = Fixtures.sampleVideo("plaza.mp4")
        let playlist = "#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\n\(video.path)\n#EXT-X-ENDLIST\n"
        for (name, bytes) in [("playlist", Array(playlist.utf8)), ("video", [UInt8](try Data(contentsOf: video)))] {
            #expect {
                _ = try ImageFile.decode(bytes: bytes, name: name, maxPixels: ImageFile.untrustedMaxPixels)
            } throws: { error in
                "\(error)" == "cannot read image '\(name)': not a JPEG, PNG, WebP, BMP, GIF, TIFF or PPM picture"
            }
        }
    }

    @Test("a picture larger than maxPixels is refused by its header size, one pixel under is decoded")
    func maxPixels() throws {
        let url = Fixtures.url("still.jpg")  // 120 × 80 = 9600 pixels
        #expect(try ImageFile.decode(url, maxPixels: 9600).width == 120)
        #expect {
            _ = try ImageFile.decode(url, maxPixels: 9599)
        } throws: { error in
            "\(error)".contains("120x80 is more than 9599 pixels")
        }
        let temporary = FileManager.default.temporaryDirectory.path
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: temporary).filter {
            $0.hasPrefix("vlm-image-")
        }
        _ = try? ImageFile.decode(bytes: [UInt8](try Data(contentsOf: url)), name: "a", maxPixels: 10)
        let after = try FileManager.default.contentsOfDirectory(atPath: temporary).filter { $0.hasPrefix("vlm-image-") }
        #expect(after.count <= leftovers.count, "the temporary file is removed after a refusal")
    }

    /// Found by the image-file fuzz target: 224 bytes of WebP declaring 13130 × 10603, a size the container does not
    /// state. Reading the stream's parameters and then decoding allocated that picture (0.6–1.7 s and 450 MB in the
    /// sanitised build) before the size check after decoding refused it; now both decoders refuse it first.
    @Test("a WebP declaring 139 megapixels is refused without decoding it")
    func hugeDeclaredWebP() throws {
        let url = Fixtures.root.appendingPathComponent("Fuzz/corpus/image-file/regression-webp-13130x10603")
        #expect {
            _ = try ImageFile.decode(url, maxPixels: 512 * 512)
        } throws: { error in
            "\(error)".hasSuffix("more than 262144 pixels; send a smaller picture")
        }
    }
}
