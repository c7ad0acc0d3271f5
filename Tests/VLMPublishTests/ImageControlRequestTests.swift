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
        let jpegish = "/9j/" + String(repeating: "A", count: 100_000)
        let request = try ControlRequest.parse(
            Array("{\"label\": \"m\", \"images\": [\"\(jpegish)\"]}".utf8), action: .add)
        #expect(request.image?.images.first?.count == 75_003)
        let text = "{\"queries\": [\"" + String(repeating: "a", count: 10_000) + "\"]}"
        #expect(throws: ControlRequest.Rejection.tooLarge(bytes: text.utf8.count, limit: 8192)) {
            try ControlRequest.parse(Array(text.utf8), action: .add)
        }
    }
}
