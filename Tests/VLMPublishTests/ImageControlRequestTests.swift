import Foundation
import TestSupport
import Testing
import VLMPublish

/// Image queries on `queries/add`: `{"label": ..., "images": [base64 JPEG/PNG]}`, bounded and checked before any
/// picture is decoded.
@Suite struct ImageControlRequestTests {
    static let jpeg = (try? Data(contentsOf: Fixtures.url("still.jpg"))) ?? Data()
    static let png = (try? Data(contentsOf: Fixtures.url("still.png"))) ?? Data()

    static func payload(_ object: [String: Any]) throws -> [UInt8] {
        [UInt8](try JSONSerialization.data(withJSONObject: object))
    }

    @Test func acceptsALabelAndBase64JPEGAndPNGImages() throws {
        try #require(!Self.jpeg.isEmpty && !Self.png.isEmpty)
        let payload = try Self.payload([
            "label": "  our mug ", "images": [Self.jpeg.base64EncodedString(), Self.png.base64EncodedString()],
        ])
        let request = try ControlRequest.parse(payload, action: .add)
        #expect(try JSONSchema.load("control").failures(JSONValue.parse(payload)).isEmpty, "control.json allows it")
        let image = try #require(request.image)
        #expect(image.label == "our mug" && request.queries.isEmpty)
        #expect(image.images == [[UInt8](Self.jpeg), [UInt8](Self.png)])
    }

    @Test(arguments: [
        (#"{"label": "m", "images": ["not base64!"]}"#, "images[0] is not valid base64"),
        (#"{"label": "m", "images": ["aGVsbG8gd29ybGQ="]}"#, "images[0] is not a JPEG or PNG file"),
        (#"{"label": "m", "images": []}"#, "'images' is empty"),
        (#"{"label": "m", "images": "abc"}"#, "'images' must be an array"),
        (#"{"label": "m", "images": [3]}"#, "images[0] is not a string"),
        (#"{"images": ["/9j/"]}"#, "needs 'label'"),
        (#"{"label": 3, "images": ["/9j/"]}"#, "'label' must be a string"),
        (#"{"label": " ", "images": ["/9j/"]}"#, "'label' is empty"),
        (#"{"label": "m", "images": ["/9j/"], "queries": ["x"]}"#, "either 'queries' or 'label'"),
        (#"{"label": "m", "images": ["/9j/"], "colour": 1}"#, "unknown field 'colour'"),
        (#"{"label": "m", "images": ["/9j/", "/9j/", "/9j/", "/9j/", "/9j/"]}"#, "5 images; at most 4"),
    ])
    func refusesMalformedImageQueries(payload: String, expected: String) {
        #expect {
            _ = try ControlRequest.parse(Array(payload.utf8), action: .add)
        } throws: { error in
            "\(error)".contains(expected)
        }
    }

    @Test func imagesOnlyOnAddAndSizeLimitsByKind() throws {
        let small = Array(#"{"label": "m", "images": ["/9j/"]}"#.utf8)
        for action in [ControlRequest.Action.set, .remove] {
            #expect(throws: ControlRequest.Rejection.imagesOnlyOnAdd) {
                try ControlRequest.parse(small, action: action)
            }
        }
        // An image query may be up to 1 MiB; a text query stays under 8192 bytes even on add.
        let big = "{\"label\": \"m\", \"images\": [\"/9j/" + String(repeating: "A", count: 2_000_000) + "\"]}"
        #expect(throws: ControlRequest.Rejection.tooLarge(bytes: big.utf8.count, limit: 1 << 20)) {
            try ControlRequest.parse(Array(big.utf8), action: .add)
        }
        let jpegish = Data(Self.jpegHeader(width: 64, height: 48) + [UInt8](repeating: 0, count: 75_000))
        let request = try ControlRequest.parse(
            Array("{\"label\": \"m\", \"images\": [\"\(jpegish.base64EncodedString())\"]}".utf8), action: .add)
        #expect(request.image?.images.first?.count == 75_011)
        let text = "{\"queries\": [\"" + String(repeating: "a", count: 10_000) + "\"]}"
        #expect(throws: ControlRequest.Rejection.tooLarge(bytes: text.utf8.count, limit: 8192)) {
            try ControlRequest.parse(Array(text.utf8), action: .add)
        }
    }

    /// SOI and a baseline start-of-frame header (`FF C0`, length 17, precision 8, height, width).
    static func jpegHeader(width: Int, height: Int) -> [UInt8] {
        [0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x11, 0x08, UInt8(height >> 8), UInt8(height & 0xFF), UInt8(width >> 8)]
            + [UInt8(width & 0xFF)]
    }

    @Test("the picture's size is read from its PNG or JPEG header before FFmpeg sees it; too large is refused")
    func pictureSizeFromTheHeader() throws {
        #expect(ControlRequest.pictureSize([UInt8](Self.jpeg)).map { [$0.width, $0.height] } == [120, 80])
        #expect(ControlRequest.pictureSize([UInt8](Self.png)).map { [$0.width, $0.height] } == [96, 64])
        // A JPEG whose frame header follows an APP0 segment and fill bytes.
        let app0: [UInt8] = [0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0x4A, 0x46, 0xFF, 0xFF]
        let sof = Array(Self.jpegHeader(width: 300, height: 200).dropFirst(2))
        #expect(ControlRequest.pictureSize(app0 + sof).map { [$0.width, $0.height] } == [300, 200])
        // Scan data before any frame header, a zero segment length, and a cut header: no size.
        #expect(ControlRequest.pictureSize([0xFF, 0xD8, 0xFF, 0xDA, 0, 8, 0, 0, 0, 0, 0, 0]) == nil)
        #expect(ControlRequest.pictureSize([0xFF, 0xD8, 0xFF, 0xE0, 0, 0, 0, 0, 0, 0, 0, 0]) == nil)
        #expect(ControlRequest.pictureSize([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0]) == nil)
        var png = [UInt8](Self.png.prefix(33))
        png.replaceSubrange(16..<24, with: [0, 0, 0x3E, 0x80, 0, 0, 0x3E, 0x80])  // 16000 × 16000
        let huge: [(String, String)] = [
            (Data(png).base64EncodedString(), "images[0] is 16000x16000, more than 16777216 pixels"),
            (Data(Self.jpegHeader(width: 8000, height: 4000)).base64EncodedString(), "is 8000x4000, more than"),
        ]
        for (image, expected) in huge {
            #expect {
                _ = try ControlRequest.parse(Array("{\"label\": \"m\", \"images\": [\"\(image)\"]}".utf8), action: .add)
            } throws: { error in
                "\(error)".contains(expected)
            }
        }
    }
}
